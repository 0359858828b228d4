"""Observations: results, vital signs, pregnancy and social history.

An entry is an ``observation`` or an ``organizer`` (a battery, a cluster of vital signs) whose
``component`` observations are read one by one, the organizer's time standing in for those that
give none. Observations nested as ``entryRelationship[@typeCode='COMP']`` (a pregnancy's
estimated delivery date) are observations of their own; comment ``act``s (the profile's
``detail_codes.comment``) become the observation's note. The first ``referenceRange`` becomes the
observation's reference range as text: its ``observationRange/text``, else its IVL_PQ value
written out (``3.5-5.1 mmol/L``); further ranges (a critical range beside the normal one) are
reported and not read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from gateway.domain.records import Observation
from gateway.ingest.records.cda_values import (
    concept,
    interval,
    mapped,
    observation_value,
    written_range,
)
from gateway.ingest.records.cda_xml import (
    Context,
    Element,
    child,
    local_name,
    nodes,
    path,
    rejecting,
)

__all__ = ["observations"]

_COMPONENTS = path("h:component/h:observation | h:component/h:organizer")
_PARTS = path("h:entryRelationship[@typeCode='COMP']/h:observation")
_ACTS = path("h:entryRelationship/h:act")
_RANGES = path("h:referenceRange/h:observationRange")
_MAX_DEPTH = 3  # organizers within organizers; deeper nesting is not a summary's


def observations(ctx: Context, statements: Sequence[Element], target: str) -> list[Observation]:
    return [found for s in statements for found in _statement(ctx, s, None, 0)]


def _statement(
    ctx: Context, statement: Element, time: str | None, depth: int
) -> Iterator[Observation]:
    kind = local_name(statement)
    if kind == "organizer" and depth < _MAX_DEPTH:
        start, _ = interval(ctx, child(statement, "effectiveTime"))
        for part in nodes(_COMPONENTS, statement):
            yield from _statement(ctx, part, start or time, depth + 1)
    elif kind == "observation":
        found = _observation(ctx, statement, time)
        if found is not None:
            yield found
        if depth < _MAX_DEPTH:
            for part in nodes(_PARTS, statement):
                yield from _statement(ctx, part, found.effective if found else time, depth + 1)
    else:
        ctx.warn(statement, f"entry <{kind}> is not an observation: not read")


def _observation(ctx: Context, element: Element, time: str | None) -> Observation | None:
    code = concept(ctx, child(element, "code"))
    if code is None:
        ctx.warn(element, "an observation without a coded or described code: not read")
        return None
    value = observation_value(ctx, child(element, "value"))
    start, _ = interval(ctx, child(element, "effectiveTime"))
    statuses = ctx.mapping.statuses.observation
    status = mapped(ctx, child(element, "statusCode"), statuses, "observation status")
    interpretation = concept(ctx, child(element, "interpretationCode"))
    note = "; ".join(_comments(ctx, element)) or None
    reference_range = _reference_range(ctx, element)
    return rejecting(
        element,
        lambda: Observation(
            code,
            value,
            start or time,
            status or "unknown",
            interpretation=interpretation,
            note=note,
            reference_range=reference_range,
        ),
    )


def _reference_range(ctx: Context, element: Element) -> str | None:
    ranges = nodes(_RANGES, element)
    if not ranges:
        return None
    if len(ranges) > 1:
        ctx.warn(ranges[1], "only the first reference range is read")
    text = ctx.referenced_text(child(ranges[0], "text"))
    value = child(ranges[0], "value")
    written = text or (written_range(value) if value is not None else None)
    if written is None:
        ctx.warn(ranges[0], "a reference range without a text or numeric bounds: left out")
    return written


def _comments(ctx: Context, element: Element) -> Iterator[str]:
    for act in nodes(_ACTS, element):
        code = child(act, "code")
        if code is not None and ctx.mapping.details.get(code.get("code", "")) == "comment":
            text = ctx.referenced_text(child(act, "text"))
            if text:
                yield text
