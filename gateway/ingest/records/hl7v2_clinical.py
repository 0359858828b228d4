"""ADT clinical segments: DG1 -> problems, AL1 -> allergies, PR1 -> procedures.

Fields as HL7 v2-to-FHIR maps them: DG1-3 code (DG1-4 its text), DG1-5 onset, DG1-21 ``D``
deletes; AL1-2 allergen type -> category, AL1-3 allergen, AL1-4 severity -> criticality, AL1-5
reactions, AL1-6 onset; PR1-3 code (PR1-4 its text), PR1-5 date, and PR1-7 (procedure
minutes) added to a PR1-5 time gives the end of the procedure's period. Which segment fills
which list, and the allergen type and severity tables, are the profile's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from gateway.domain.records import Allergy, Concept, Problem, Procedure
from gateway.errors import RecordRejected
from gateway.ingest.records.hl7v2_mapping import Hl7v2Mapping
from gateway.ingest.records.hl7v2_message import Segment, V2Message
from gateway.ingest.records.hl7v2_types import concept, fhir_datetime
from gateway.profiles.model import Finding, Profile

__all__ = ["read_clinical"]

_DELETE = "D"  # DG1-21 diagnosis action code: the sender withdraws this diagnosis
_MINUTES = re.compile(r"\d+(\.\d*)?|\.\d+")  # PR1-7 is NM; a duration is not negative

T = TypeVar("T")
Reader = Callable[[Segment, Hl7v2Mapping, Profile, list[Finding]], object | None]


def read_clinical(
    message: V2Message, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> dict[str, tuple[Any, ...]]:
    """Record lists (``problems``, ``allergies``...) filled from the segments the profile names."""
    lists: dict[str, list[object]] = {}
    for name, target in mapping.adt_segments.items():
        read = _READERS[name]
        items = (read(segment, mapping, profile, found) for segment in message.all(name))
        lists.setdefault(target, []).extend(item for item in items if item is not None)
    return {target: tuple(items) for target, items in lists.items()}


def _problem(
    dg1: Segment, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> Problem | None:
    if dg1.value(21).upper() == _DELETE:
        return None
    code = _coded(dg1, 3, 4, profile, found)
    if code is None:
        return None
    onset = fhir_datetime(dg1.value(5), profile, dg1.where(5))
    with _refused_at(dg1):
        return Problem(code, onset=onset)


def _allergy(
    al1: Segment, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> Allergy | None:
    code = _coded(al1, 3, None, profile, found)
    if code is None:
        return None
    category = _looked_up(al1, 2, mapping.allergen_types, "allergen type", found)
    criticality = _looked_up(al1, 4, mapping.allergy_severities, "allergy severity", found)
    reactions = tuple(Concept(text=text) for text in _texts(al1, 5))
    onset = fhir_datetime(al1.value(6), profile, al1.where(6))
    # AL1 says nothing of status: a listed allergy is a current one.
    with _refused_at(al1):
        return Allergy(
            code,
            clinical_status="active",
            category=category,
            criticality=criticality,
            onset=onset,
            reactions=reactions,
        )


def _procedure(
    pr1: Segment, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> Procedure | None:
    code = _coded(pr1, 3, 4, profile, found)
    if code is None:
        return None
    date = fhir_datetime(pr1.value(5), profile, pr1.where(5))
    end = _end(pr1, date, found)
    with _refused_at(pr1):
        return Procedure(code, date=date, end=end)


def _end(pr1: Segment, start: str | None, found: list[Finding]) -> str | None:
    """PR1-5 plus PR1-7 minutes, as HL7 v2-to-FHIR builds performedPeriod.end.

    The end keeps the start's UTC offset: the same instant, even across a daylight saving change.
    """
    minutes = pr1.value(7)
    if not minutes:
        return None
    where = pr1.where(7)
    if not _MINUTES.fullmatch(minutes):
        found.append(Finding(where, "procedure minutes are not a number: no end"))
        return None
    began = _instant(start)
    if began is None:
        found.append(Finding(where, "procedure minutes need a PR1-5 time with a zone: no end"))
        return None
    try:
        ended = began + timedelta(seconds=round(Decimal(minutes) * 60))
    except OverflowError:
        found.append(Finding(where, "procedure minutes end after the calendar does: no end"))
        return None
    return ended.isoformat().replace("+00:00", "Z")


_READERS: dict[str, Reader] = {"DG1": _problem, "AL1": _allergy, "PR1": _procedure}


def _coded(
    segment: Segment, field: int, text_field: int | None, profile: Profile, found: list[Finding]
) -> Concept | None:
    reps = segment.field(field)
    text = segment.value(text_field) if text_field is not None else ""
    where = segment.where(field)
    code = concept(reps[0], profile, where, found, text=text) if reps else None
    if code is None and text:
        code = Concept(text=text)
    if code is None:
        found.append(Finding(where, "no code and no description: segment left out"))
    return code


def _looked_up(
    segment: Segment, field: int, table: Mapping[str, T], what: str, found: list[Finding]
) -> T | None:
    code = segment.value(field).upper()
    if not code:
        return None
    if code not in table:
        found.append(
            Finding(segment.where(field), f"{what} {code} is not in the profile: left out")
        )
    return table.get(code)


def _texts(segment: Segment, field: int) -> Iterable[str]:
    # AL1-5 is ST in v2.5 but CWE later: the text is the display, else the code.
    for rep in segment.field(field):
        text = (rep[1][0] if len(rep) > 1 and rep[1][0] else rep[0][0]) if rep else ""
        if text:
            yield text


def _instant(moment: str | None) -> datetime | None:
    """A FHIR dateTime with a time (and so a zone) as an aware datetime; None for a date."""
    if moment is None or "T" not in moment:
        return None
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


@contextmanager
def _refused_at(segment: Segment) -> Iterator[None]:
    """A record invariant the segment breaks (an onset after its abatement) refuses it."""
    try:
        yield
    except ValueError as exc:
        raise RecordRejected(str(exc), segment.label) from None
