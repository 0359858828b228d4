"""The consent engine: may this data of this citizen go to this country for this purpose, now?

A pure function of the citizen's recorded directives (from the consent portal's webhooks,
DESIGN.md §2) and their country's defaults (``profiles/<cc>/policy.yaml``). Evaluation follows
FHIR Consent and IHE PCF (``reference/crossborder-security.md`` §5): directives in force at the
time are taken newest first; the first that speaks about the request decides; when none does,
the country's implicit policy applies. Every decision carries its reason, for the audit record;
the reason never leaves the gateway (a refused caller learns only that it was refused).

Categories: ``patient-summary`` (the whole document), ``section:<LOINC>`` (one section of it:
a grant of the summary covers its sections, a restriction of a section removes only that one),
``genomics`` and ``research``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "PURPOSES",
    "AccessRequest",
    "ConsentDefaults",
    "Decision",
    "Directive",
    "DirectiveKind",
    "decide",
    "research_permitted",
    "settled_until",
]

# v3 PurposeOfUse codes the gateway understands (eHDSI TREATMENT/EMERGENCY map to TREAT/ETREAT).
PURPOSES = frozenset({"TREAT", "ETREAT", "HRESCH", "PUBHLTH", "CLINTRCH", "PATRQT", "BTG"})
SUMMARY = "patient-summary"
RESEARCH = "research"
GENOMICS = "genomics"
SECTION_PREFIX = "section:"
ANY_COUNTRY = "*"


class DirectiveKind(StrEnum):
    """The webhook event types (DESIGN.md §2), without their ``consent.``/``research.`` prefix."""

    GRANTED = "consent.granted"
    RESTRICTED = "consent.restricted"
    REVOKED = "consent.revoked"
    RESEARCH_OPTED_OUT = "research.opted_out"
    RESEARCH_OPTED_IN = "research.opted_in"


@dataclass(frozen=True, slots=True)
class Directive:
    """One decision the citizen recorded at the portal, as its webhook said it."""

    kind: DirectiveKind
    recorded: datetime  # the event's timestamp: newer directives win
    purposes: frozenset[str] = frozenset()  # empty: every purpose
    countries: frozenset[str] = frozenset({ANY_COUNTRY})
    categories: frozenset[str] = frozenset()  # empty: every category the kind concerns
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.recorded.tzinfo is None or any(
            moment is not None and moment.tzinfo is None for moment in (self.start, self.end)
        ):
            raise ValueError("consent times need a time zone")
        if self.start and self.end and self.end < self.start:
            raise ValueError("a consent period cannot end before it starts")
        unknown = self.purposes - PURPOSES
        if unknown:
            raise ValueError(f"unknown purposes of use: {', '.join(sorted(unknown))}")

    def in_force(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True)
class ConsentDefaults:
    """The citizen's country's implicit policy (``profiles/<cc>/policy.yaml``)."""

    summary_purposes: frozenset[str]
    summary_countries: frozenset[str]
    research: bool


@dataclass(frozen=True, slots=True)
class AccessRequest:
    country: str  # the requesting member state
    purpose: str  # v3 PurposeOfUse
    category: str  # patient-summary, section:<LOINC>, genomics, research
    at: datetime


@dataclass(frozen=True, slots=True)
class Decision:
    permit: bool
    reason: str  # for the audit record only


def decide(
    directives: Sequence[Directive], defaults: ConsentDefaults, request: AccessRequest
) -> Decision:
    """Permit or deny ``request``, and why."""
    if request.purpose not in PURPOSES:
        return Decision(False, f"purpose {request.purpose} is not one the gateway honours")
    in_force = sorted(
        (d for d in directives if d.in_force(request.at)),
        key=lambda d: d.recorded,
        reverse=True,
    )
    for directive in in_force:
        verdict = _speaks(directive, request)
        if verdict is not None:
            return Decision(
                verdict, f"{directive.kind.value} recorded {directive.recorded:%Y-%m-%d}"
            )
    return _by_default(defaults, request)


def settled_until(directives: Iterable[Directive], at: datetime) -> datetime | None:
    """Until when decisions made ``at`` hold by the clock alone: the next start or end of a
    directive's period (None: no period starts or ends later)."""
    moments = (m for d in directives for m in (d.start, d.end) if m is not None and m > at)
    return min(moments, default=None)


def _speaks(directive: Directive, request: AccessRequest) -> bool | None:
    """True/False when the directive decides the request, None when it says nothing of it."""
    research = request.category == RESEARCH
    if directive.kind in (DirectiveKind.RESEARCH_OPTED_IN, DirectiveKind.RESEARCH_OPTED_OUT):
        return directive.kind is DirectiveKind.RESEARCH_OPTED_IN if research else None
    if research:
        return None  # care consents do not decide secondary use
    if directive.purposes and request.purpose not in directive.purposes:
        return None
    if ANY_COUNTRY not in directive.countries and request.country not in directive.countries:
        return None
    if not _covers(directive.categories, request.category):
        return None
    return directive.kind is DirectiveKind.GRANTED


def _covers(categories: frozenset[str], category: str) -> bool:
    if not categories:
        return True
    if category in categories:
        return True
    # A grant or restriction of the whole summary speaks for each of its sections.
    return category.startswith(SECTION_PREFIX) and SUMMARY in categories


def _by_default(defaults: ConsentDefaults, request: AccessRequest) -> Decision:
    if request.category == RESEARCH:
        return Decision(defaults.research, "country default for research use")
    country_ok = (
        ANY_COUNTRY in defaults.summary_countries or request.country in defaults.summary_countries
    )
    permit = country_ok and request.purpose in defaults.summary_purposes
    return Decision(permit, "country default for sharing with care providers abroad")


def research_permitted(directives: Sequence[Directive], by_default: bool, at: datetime) -> bool:
    """Whether a citizen counts in research discovery now: their own newest research choice in
    force, else their country's default (``by_default``)."""
    defaults = ConsentDefaults(frozenset(), frozenset(), research=by_default)
    return decide(directives, defaults, AccessRequest(ANY_COUNTRY, "HRESCH", RESEARCH, at)).permit
