"""Problems (current, past, functional status) and allergies, from eHDSI concern entries.

An entry is a concern ``act`` whose ``entryRelationship`` observations are the problems or
allergies themselves (an ``organizer`` or a bare ``observation`` also occurs). The concern's
``statusCode`` says whether it is still tracked; nested observations, found by the codes the
profile's ``detail_codes`` lists, carry the clinical status, certainty, criticality and
severity. What each status code means is the profile's ``statuses`` table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gateway.domain.records import Allergy, AllergyStatus, AllergyVerification, Concept, Problem
from gateway.ingest.records.cda_mapping import DetailKind
from gateway.ingest.records.cda_values import absent, concept, interval, mapped, null_flavor
from gateway.ingest.records.cda_xml import (
    Context,
    Element,
    child,
    first,
    local_name,
    nodes,
    path,
    rejecting,
    text_of,
)

__all__ = ["allergies", "problems"]

_NESTED = path("h:entryRelationship/h:observation")
_ORGANIZED = path("h:component/h:observation")
_SUBSTANCE = path("h:participant[@typeCode='CSM']/h:participantRole/h:playingEntity")
_REACTIONS = path("h:entryRelationship[@typeCode='MFST']/h:observation/h:value")
_ABATED = ("inactive", "remission", "resolved")
_ALLERGY_VERIFICATION: tuple[AllergyVerification, ...] = ("unconfirmed", "confirmed", "refuted")


class _Statement:
    """One entry's statement: its observations, the concern holding them, and the element
    whose time stands in for observations that give none."""

    def __init__(self, ctx: Context, element: Element, what: str) -> None:
        kind = local_name(element)
        self.concern = element if kind == "act" else None
        self.timed = element if kind in ("act", "organizer") else None
        if kind == "act":
            self.observations: list[Element] = nodes(_NESTED, element)
        elif kind == "organizer":
            self.observations = nodes(_ORGANIZED, element)
        elif kind == "observation":
            self.observations = [element]
        else:
            self.observations = []
            ctx.warn(element, f"entry <{kind}> is not {what}: not read")
            return
        if not self.observations:
            ctx.warn(element, f"an entry without {what} observation: not read")


def problems(ctx: Context, statements: Sequence[Element], target: str) -> list[Problem]:
    found = []
    for element in statements:
        statement = _Statement(ctx, element, "a problem")
        for observation in statement.observations:
            problem = _problem(ctx, observation, statement, target)
            if problem is not None:
                found.append(problem)
    return found


def _problem(
    ctx: Context, observation: Element, statement: _Statement, target: str
) -> Problem | None:
    value = child(observation, "value")
    onset, abatement = interval(ctx, child(observation, "effectiveTime"))
    code = concept(ctx, value)
    if code is None and onset is None and abatement is None:
        code = absent(ctx, target, null_flavor(value, observation), observation)
    if code is None:
        ctx.warn(observation, "a problem without a coded or described value: not read")
        return None
    if onset is None and abatement is None:
        onset, abatement = _concern_times(ctx, statement)
    details = _details(ctx, observation)
    status = mapped(ctx, _value(details, "status"), ctx.mapping.statuses.problem, "problem status")
    if status is None:
        status = _concern_status(ctx, statement)
    if abatement is not None and status not in _ABATED:
        # An end date says the problem is over; FHIR (con-4) wants a status that agrees.
        ctx.warn(
            observation, "a problem with an end date but no inactive status: taken as inactive"
        )
        status = "inactive"
    verification = mapped(
        ctx, _value(details, "certainty"), ctx.mapping.statuses.verification, "certainty"
    )
    severity = concept(ctx, _value(details, "severity"))
    return rejecting(
        observation, lambda: Problem(code, status, verification, onset, abatement, severity)
    )


def allergies(ctx: Context, statements: Sequence[Element], target: str) -> list[Allergy]:
    found = []
    for element in statements:
        statement = _Statement(ctx, element, "an allergy")
        for observation in statement.observations:
            allergy = _allergy(ctx, observation, statement, target)
            if allergy is not None:
                found.append(allergy)
    return found


def _allergy(
    ctx: Context, observation: Element, statement: _Statement, target: str
) -> Allergy | None:
    onset, _ = interval(ctx, child(observation, "effectiveTime"))
    reactions = tuple(filter(None, (concept(ctx, v) for v in nodes(_REACTIONS, observation))))
    code, flavor = _substance(ctx, observation)
    if code is None and onset is None and not reactions:
        code = absent(ctx, target, flavor, observation)
    if code is None:
        ctx.warn(observation, "an allergy without a coded or described substance: not read")
        return None
    onset = onset or _concern_times(ctx, statement)[0]
    details = _details(ctx, observation)
    statuses = ctx.mapping.statuses
    status = mapped(ctx, _value(details, "status"), statuses.allergy, "allergy status")
    verification = mapped(ctx, _value(details, "certainty"), statuses.verification, "certainty")
    if verification is not None and verification not in _ALLERGY_VERIFICATION:
        ctx.warn(observation, f"certainty {verification} does not apply to allergies: left out")
        verification = None
    kind_element = child(observation, "code")
    kind = (
        ctx.mapping.allergy_kinds.get(kind_element.get("code", ""))
        if kind_element is not None
        else None
    )
    return rejecting(
        observation,
        lambda: Allergy(
            code,
            # An allergy the source gives no status for is taken as current (ait-1 needs one).
            status or _concern_status(ctx, statement) or "active",
            verification,
            kind.type if kind else None,
            kind.category if kind else None,
            mapped(ctx, _value(details, "criticality"), statuses.criticality, "criticality"),
            onset,
            reactions,
        ),
    )


def _substance(ctx: Context, observation: Element) -> tuple[Concept | None, str | None]:
    """The allergen (``participant/playingEntity``), else the observation's value (where IPS
    puts "no known allergies"); and the nullFlavor found where they should be."""
    entity = first(_SUBSTANCE, observation)
    coded = child(entity, "code") if entity is not None else None
    found = concept(ctx, coded)
    if found is None and entity is not None:
        name = child(entity, "name")
        text = text_of(name) if name is not None else None
        found = Concept(text=text) if text else None
    value = child(observation, "value")
    found = found or concept(ctx, value)
    return found, null_flavor(coded, value, entity, observation) if found is None else None


# --- shared -----------------------------------------------------------------------------------


def _details(ctx: Context, observation: Element) -> dict[DetailKind, Element]:
    """The nested observations that carry details, by what they say (the first of each)."""
    found: dict[DetailKind, Element] = {}
    for nested in nodes(_NESTED, observation):
        code = child(nested, "code")
        kind = ctx.mapping.details.get(code.get("code", "")) if code is not None else None
        if kind is not None:
            found.setdefault(kind, nested)
    return found


def _value(details: Mapping[DetailKind, Element], kind: DetailKind) -> Element | None:
    nested = details.get(kind)
    return child(nested, "value") if nested is not None else None


def _concern_times(ctx: Context, statement: _Statement) -> tuple[str | None, str | None]:
    """The concern's (or organizer's) time, for observations that give none of their own."""
    if statement.timed is None:
        return None, None
    return interval(ctx, child(statement.timed, "effectiveTime"))


def _concern_status(ctx: Context, statement: _Statement) -> AllergyStatus | None:
    if statement.concern is None:
        return None
    return mapped(
        ctx, child(statement.concern, "statusCode"), ctx.mapping.statuses.concern, "concern status"
    )
