"""Which stored records make a patient's summary, and how they combine into one.

A national system sends records over time and from several sources (a hospital's CDA, the lab's
HL7 v2 results, a registry submission). Each source record has a *stream* (the profile and the
source's own key: a CDA ``setId``, an order number) and a source date. Within a stream the
record with the newest source date is current; the arrival order breaks ties only, so a late
retransmission of an old version never hides the newer one. The summary merges the current
record of every stream: the patient and document facts from the newest, the clinical lists
from all of them, each statement once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from gateway.domain.records import CLINICAL_LISTS, ICD10, PatientRecord

__all__ = [
    "RecordVersion",
    "StoredRecord",
    "current_records",
    "diagnosis_codes",
    "merge_records",
    "source_order",
]

_LISTS = (*CLINICAL_LISTS, "notes")


_PATIENT_DETAILS = ("names", "birth_date", "gender", "addresses", "telecoms", "country")


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record as the store keeps it: its stream, its order and arrival, and its content."""

    stream: tuple[str, str]  # (profile, source key)
    order: str  # source_order(record.source_date)
    arrival: int
    record: PatientRecord

    @property
    def rank(self) -> tuple[str, int]:
        return self.order, self.arrival


@dataclass(frozen=True, slots=True)
class RecordVersion:
    """A stored record without its content: enough to tell which records are current."""

    stream: tuple[str, str]  # (profile, source key)
    order: str
    arrival: int

    @property
    def rank(self) -> tuple[str, int]:
        return self.order, self.arrival


_Stored = TypeVar("_Stored", StoredRecord, RecordVersion)


def source_order(source_date: str | None) -> str:
    """A string that sorts source dates in time: UTC to the microsecond; a partial date sorts
    at its start (``2023-05`` as 1 May 2023, 00:00 UTC); no date sorts before any date."""
    if source_date is None:
        return ""
    if len(source_date) <= 10:
        year, month, day = [*source_date.split("-"), "01", "01"][:3]
        moment = datetime(int(year), int(month), int(day), tzinfo=UTC)
    else:
        moment = datetime.fromisoformat(source_date.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")


def current_records(stored: Iterable[_Stored]) -> list[_Stored]:
    """The current record of each stream, oldest first (newest last)."""
    newest: dict[tuple[str, str], _Stored] = {}
    for item in stored:
        held = newest.get(item.stream)
        if held is None or item.rank > held.rank:
            newest[item.stream] = item
    return sorted(newest.values(), key=lambda item: item.rank)


def merge_records(records: Sequence[PatientRecord]) -> PatientRecord:
    """One record from several, oldest first: each patient detail (name, birth date, sex,
    addresses, telecoms, country) from the newest record that gives it, with every identifier
    any of them has; the author, custodian, language and source date from the newest; the
    clinical lists joined, newest first, each equal statement once. A lab message's sparse PID
    so never hides the address the admission message gave.

    :raises ValueError: for an empty sequence.
    """
    if not records:
        raise ValueError("nothing to merge")
    newest = records[-1]
    if len(records) == 1:
        return newest
    ordered = list(reversed(records))
    identifiers = tuple(dict.fromkeys(i for r in ordered for i in r.patient.identifiers))
    lists: dict[str, Any] = {name: _joined(getattr(r, name) for r in ordered) for name in _LISTS}
    details: dict[str, Any] = {
        name: next(
            (v for r in ordered if (v := getattr(r.patient, name))), getattr(newest.patient, name)
        )
        for name in _PATIENT_DETAILS
    }
    patient = replace(newest.patient, identifiers=identifiers, **details)
    return replace(newest, patient=patient, **lists)


def _joined(parts: Iterable[tuple[object, ...]]) -> tuple[object, ...]:
    return tuple(dict.fromkeys(item for part in parts for item in part))


def diagnosis_codes(record: PatientRecord) -> list[str]:
    """The record's ICD-10 WHO diagnoses (current and past problems), upper case without the
    dot (``E11.9`` -> ``E119``): what Beacon ``ICD10:`` filters match against."""
    codes = (
        coding.code.replace(".", "").upper()
        for problem in (*record.problems, *record.past_problems)
        for coding in problem.code.codings
        if coding.system == ICD10
    )
    return sorted(set(codes))
