"""Supersession and merging of stored records: pure rules, no database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gateway.domain.records import ICD10, Code, Concept, Identifier, PatientRecord, Problem
from gateway.domain.summary import (
    RecordVersion,
    StoredRecord,
    current_records,
    diagnosis_codes,
    merge_records,
    source_order,
)
from tests.fhir import records

OTHER = Identifier("http://fhir.de/sid/gkv/kvid-10", "M123456785")


def stored(record: PatientRecord, key: str, arrival: int, profile: str = "p") -> StoredRecord:
    return StoredRecord((profile, key), source_order(record.source_date), arrival, record)


def dated(source_date: str | None, **changes: object) -> PatientRecord:
    return replace(records.minimal_record(), source_date=source_date, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("earlier", "later"),
    [
        (None, "1900"),
        ("2023", "2023-01-01T00:00:01Z"),
        ("2023-05-31", "2023-05-31T00:30:00+00:00"),
        ("2023-05-31T10:00:00+02:00", "2023-05-31T09:00:00Z"),  # 08:00 UTC before 09:00 UTC
        ("2023-05-31T23:30:00-02:00", "2023-06-01T02:00:00+00:00"),
    ],
)
def test_source_order_sorts_in_time_across_precisions_and_zones(earlier, later):
    assert source_order(earlier) < source_order(later)


def test_the_newest_source_date_is_current_whatever_the_arrival_order():
    newer, older = dated("2024-02-01"), dated("2023-01-01")
    current = current_records([stored(newer, "k", 1), stored(older, "k", 2)])
    assert [item.record for item in current] == [newer]


def test_arrival_breaks_a_tie():
    first, second = dated("2024-02-01"), dated("2024-02-01", language="de")
    current = current_records([stored(first, "k", 1), stored(second, "k", 2)])
    assert [item.record for item in current] == [second]


def test_each_stream_keeps_its_own_current_record_oldest_first():
    cda, lab = dated("2024-03-01"), dated("2024-01-01", language="fr")
    current = current_records([stored(cda, "doc", 1), stored(lab, "oru:1", 2)])
    assert [item.record for item in current] == [lab, cda]


def test_the_same_key_under_two_profiles_is_two_streams():
    one, two = dated("2024-03-01"), dated("2024-01-01")
    assert len(current_records([stored(one, "k", 1, "a"), stored(two, "k", 2, "b")])) == 2


def test_versions_without_content_pick_the_same_current_records():
    stored_records = [
        stored(dated("2024-02-01"), "k", 1),
        stored(dated("2023-01-01"), "k", 2),
        stored(dated("2024-01-01"), "other", 3),
    ]
    versions = [RecordVersion(s.stream, s.order, s.arrival) for s in stored_records]
    assert [v.arrival for v in current_records(versions)] == [3, 1]
    assert [s.arrival for s in current_records(stored_records)] == [3, 1]


def test_merge_takes_the_patient_from_the_newest_and_joins_the_lists():
    diabetes = Problem(Concept.of(ICD10, "E11.9"))
    asthma = Problem(Concept.of(ICD10, "J45"))
    older = dated("2023-01-01", problems=(diabetes, asthma))
    patient = replace(older.patient, identifiers=(OTHER,), birth_date="1970-01-01")
    newer = dated("2024-01-01", patient=patient, problems=(diabetes,))
    merged = merge_records([older, newer])
    assert merged.patient.birth_date == "1970-01-01"
    assert merged.patient.identifiers == (OTHER, *older.patient.identifiers)
    assert merged.problems == (diabetes, asthma)  # newest first, each once
    assert merged.source_date == "2024-01-01"


def test_merge_of_nothing_is_an_error():
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_records([])


def test_diagnosis_codes_are_icd10_without_dots_from_current_and_past_problems():
    item = dated(
        None,
        problems=(Problem(Concept((Code(ICD10, "e11.9"), Code("urn:oid:1.2", "X1")))),),
        past_problems=(Problem(Concept.of(ICD10, "C50.9"), "resolved", abatement="2020"),),
    )
    assert diagnosis_codes(item) == ["C509", "E119"]


def test_patient_details_come_from_the_newest_record_that_gives_them():
    admission = dated("2024-01-01", patient=records.full_record().patient)
    sparse = replace(admission.patient, addresses=(), telecoms=(), gender=None)
    lab = dated("2024-02-01", patient=sparse)
    merged = merge_records([admission, lab])
    assert merged.patient.addresses == admission.patient.addresses
    assert merged.patient.gender == admission.patient.gender
    assert merged.source_date == "2024-02-01"
