"""Stored records read back exactly as written, whatever values they hold."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from gateway.domain.records import (
    LOINC,
    UCUM,
    Component,
    Concept,
    DateValue,
    Observation,
    PatientRecord,
    Quantity,
)
from gateway.storage.patients import decode_record, encode_record
from tests.fhir import records

VALUES = [
    Quantity(Decimal("0.50"), "mg/L", UCUM, "mg/L", comparator="<"),
    Concept.of(LOINC, "LA6576-8", "Positive"),
    DateValue("2024-12-01"),
    "12",  # a text that looks like a number stays a text
    "2024-12-01",  # and one that looks like a date too
    3,
]


@pytest.mark.parametrize("name", sorted(records.RECORDS))
def test_every_test_record_round_trips(name: str) -> None:
    record = records.RECORDS[name]()
    assert decode_record(encode_record(record)) == record


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__ + ":" + str(v)[:12])
def test_each_kind_of_value_keeps_its_type(value: object) -> None:
    observation = Observation(
        Concept.of(LOINC, "1988-5"),
        value=value,  # type: ignore[arg-type]
        components=(Component(Concept.of(LOINC, "8480-6"), value),),  # type: ignore[arg-type]
    )
    record: PatientRecord = replace(records.minimal_record(), results=(observation,))
    back = decode_record(encode_record(record))
    assert back == record
    assert type(back.results[0].value) is type(value)
    assert type(back.results[0].components[0].value) is type(value)
