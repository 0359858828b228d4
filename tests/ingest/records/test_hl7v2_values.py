"""The HL7 v2 reader on the values FHIR can now say: SN comparators, OBX-7 reference ranges,
date values (and the pregnancy section they belong to), XPN-7 name uses and PR1-7 procedure
periods.

Crafted messages (the helpers of ``test_hl7v2_input``) read with the shipped profiles; those
that go through the builder must make a valid document.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.records import UCUM, DateValue, Quantity, Value
from gateway.ingest.records.hl7v2 import read_hl7v2
from gateway.profiles.loader import ProfileError, load_profiles
from tests.ingest.records.test_hl7v2_input import (
    PID,
    message,
    profile,
    read,
    results,
    with_mapping,
)
from tests.support.fhir_validation import document_errors
from tests.support.records import PROFILES, translate

DATA = Path(__file__).parent / "data" / "hl7v2"
IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"


def findings(data: bytes, name: str = "fr-hl7v2-pam") -> list[str]:
    return [str(f) for f in read(data, name).findings]


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [e["resource"] for e in bundle["entry"]]
    return [r for r in found if r["resourceType"] == kind]


def only(bundle: dict[str, Any], kind: str) -> dict[str, Any]:
    """The one resource of ``kind`` in the document."""
    (resource,) = resources(bundle, kind)
    return resource


# --- structured numerics (SN) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sn", "value"),
    [
        ("<^5", Quantity(Decimal("5"), "mg/L", UCUM, "mg/L", "<")),
        ("<=^0.5", Quantity(Decimal("0.5"), "mg/L", UCUM, "mg/L", "<=")),
        (">^200", Quantity(Decimal("200"), "mg/L", UCUM, "mg/L", ">")),
        (">=^10", Quantity(Decimal("10"), "mg/L", UCUM, "mg/L", ">=")),
        ("=^5", Quantity(Decimal("5"), "mg/L", UCUM, "mg/L")),
        ("^5", Quantity(Decimal("5"), "mg/L", UCUM, "mg/L")),
        # what a FHIR quantity cannot say stays text, with its unit
        ("<>^5", "<>5 mg/L"),
        ("^10^-^20", "10-20 mg/L"),
        ("^1^:^128", "1:128 mg/L"),
        ("^2^+", "2+ mg/L"),
    ],
)
def test_a_structured_numeric_is_a_quantity_when_fhir_can_say_it(sn: str, value: Value) -> None:
    data = results(f"OBX|1|SN|CRP^CRP^L||{sn}|mg/L^mg/L^UCUM|||||F")
    (observation,) = read(data).record.results
    assert observation.value == value


def test_a_comparator_reaches_the_document() -> None:
    data = results("OBX|1|SN|1988-5^CRP^LN||<^5|mg/L^mg/L^UCUM|<5|N|||F")
    result = translate(data, "fr-hl7v2-pam")
    assert document_errors(result.bundle) == []
    observation = only(result.bundle, "Observation")
    assert observation["valueQuantity"]["comparator"] == "<"
    assert observation["referenceRange"] == [{"text": "<5"}]


# --- reference ranges (OBX-7) -------------------------------------------------------------------


def test_the_reference_range_is_obx7_as_written() -> None:
    data = results(
        "OBX|1|NM|K^Potassium^L||4.2|mmol/L^mmol/L^UCUM|3.5-5.0|N|||F",
        "OBX|2|NM|VS^VS^L||12|mm/h^mm/h^UCUM|<20|N|||F",
        "OBX|3|NM|NA^Sodium^L||140|mmol/L^mmol/L^UCUM||N|||F",
        "OBX|4|ST|COM^Commentaire^L||voir compte rendu||\\T\\ 5 \\S\\ 10|||F",
    )
    ranges = [r.reference_range for r in read(data).record.results]
    assert ranges == ["3.5-5.0", "<20", None, "& 5 ^ 10"]  # escapes resolved


# --- date values (DT, TS, DTM) and the pregnancy section ---------------------------------------


def test_a_date_or_time_value_is_a_date_value() -> None:
    data = results(
        "OBX|1|DT|11778-8^Delivery date Estimated^LN||20241015||||||F",
        "OBX|2|TS|11779-6^Delivery date Estimated from last menstrual period^LN||202410150830"
        "||||||F",
        "OBX|3|DTM|11780-4^Delivery date Estimated from ovulation date^LN||202410||||||F",
        "OBX|4|DT|DDR^Date des dernières règles^L||20240108||||||F",
    )
    record = read(data).record
    assert [r.value for r in record.pregnancy] == [
        DateValue("2024-10-15"),
        DateValue("2024-10-15T08:30:00+02:00"),  # Europe/Paris, summer time
        DateValue("2024-10"),  # precision kept
    ]
    (last_period,) = record.results  # a code the profile does not route stays a result
    assert last_period.value == DateValue("2024-01-08")


def test_an_expected_delivery_date_is_the_ips_edd_observation() -> None:
    data = results(
        "OBX|1|CWE|82810-3^Pregnancy status^LN||LA15173-0^Pregnant^LN||||||F",
        "OBX|2|DT|11778-8^Delivery date Estimated^LN||20241015||||||F",
    )
    result = translate(data, "fr-hl7v2-pam")
    assert document_errors(result.bundle) == []
    record = result.translation.record
    assert (len(record.results), len(record.pregnancy)) == (0, 2)
    edd = next(
        r
        for r in resources(result.bundle, "Observation")
        if r["code"]["coding"][0]["code"] == "11778-8"
    )
    assert edd["meta"]["profile"] == [IPS + "Observation-pregnancy-edd-uv-ips"]
    assert edd["valueDateTime"] == "2024-10-15"
    assert "valueString" not in edd


def test_the_profile_decides_which_codes_go_to_which_list() -> None:
    data = results("OBX|1|DT|11778-8^Delivery date Estimated^LN||20241015||||||F")
    unrouted = with_mapping(profile(), "results.by_code", None)
    record = read_hl7v2(data, unrouted).record
    assert (len(record.results), len(record.pregnancy)) == (1, 0)
    heart_rate = results("OBX|1|NM|8867-4^Heart rate^LN||72|/min^/min^UCUM|||||F")
    vitals = with_mapping(profile(), "results.by_code", {"http://loinc.org|8867-4": "vital_signs"})
    record = read_hl7v2(heart_rate, vitals).record
    assert (len(record.results), len(record.vital_signs)) == (0, 1)


# --- name uses (XPN-7) --------------------------------------------------------------------------


def test_name_uses_come_from_the_profiles_table() -> None:
    pid = PID.replace("DUPONT^Zoé^Zoé^^^^L", "DUPONT^Zoé^Zoé^^^^L~MARTIN^Zoé^^^^^D")
    data = message(pid=pid)
    assert [n.use for n in read(data).record.patient.names] == ["official", "usual"]
    no_table = with_mapping(profile(), "names.uses", None)
    names = read_hl7v2(data, no_table).record.patient.names
    assert [(n.family, n.use) for n in names] == [("DUPONT", None), ("MARTIN", None)]
    as_maiden = with_mapping(profile(), "names.uses", {"L": "maiden", "D": "official"})
    assert [n.use for n in read_hl7v2(data, as_maiden).record.patient.names] == [
        "maiden",
        "official",
    ]


def test_a_name_type_the_table_lacks_keeps_the_name_without_a_use() -> None:
    pid = PID.replace("DUPONT^Zoé^Zoé^^^^L", "DUPONT^Zoé^^^^^B~MARTIN^Zoé^^^^^m~LEROY^Zoé")
    data = message(pid=pid)
    names = read(data, "generic-hl7v2").record.patient.names
    # B (birth name) is unmatched in v2-to-FHIR; codes are read case-blind; no type, no use
    assert [(n.family, n.use) for n in names] == [
        ("DUPONT", None),
        ("MARTIN", "maiden"),
        ("LEROY", None),
    ]
    assert findings(data, "generic-hl7v2") == [
        "PID-5(1): name type B is not in the profile's uses: no use"
    ]


def test_a_name_the_profile_leaves_out_is_not_reported_for_its_use() -> None:
    pid = PID.replace("DUPONT^Zoé^Zoé^^^^L", "DUPONT^Zoé^Zoé^^^^L~ZORRO^Zoé^^^^^S")
    data = message(pid=pid)
    assert [n.family for n in read(data).record.patient.names] == ["DUPONT"]
    assert not any("name type" in finding for finding in findings(data))


def test_the_loader_refuses_a_name_use_fhir_does_not_have(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    (folder / "generic").mkdir(parents=True)
    shutil.copy(PROFILES / "generic" / "hl7v2.yaml", folder / "generic" / "hl7v2.yaml")
    text = (folder / "generic" / "hl7v2.yaml").read_text(encoding="utf-8")
    assert "L: official" in text
    broken = text.replace("L: official", "L: legal", 1)
    (folder / "generic" / "hl7v2.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(ProfileError, match=r"generic/hl7v2.yaml mapping at names/uses/L"):
        load_profiles(folder)


# --- procedure periods (PR1-5 + PR1-7) ----------------------------------------------------------


def procedure(pr1: str) -> tuple[str | None, str | None, list[str]]:
    data = message(pr1)
    reading = read(data)
    (item,) = reading.record.procedures
    # The crafted PID has no PID-32: only the PR1 findings are this test's.
    return item.date, item.end, [str(f) for f in reading.findings if f.location.startswith("PR1")]


@pytest.mark.parametrize(
    ("when", "minutes", "end"),
    [
        ("202403121030", "45", "2024-03-12T11:15:00+01:00"),
        ("202403122330", "90", "2024-03-13T01:00:00+01:00"),  # past midnight
        ("202403121030+0000", "30", "2024-03-12T11:00:00Z"),
        ("202403121030", "0", "2024-03-12T10:30:00+01:00"),
        ("202403121030", "1.5", "2024-03-12T10:31:30+01:00"),
        # the start's offset is kept across the spring change: the same instant
        ("202403310130", "60", "2024-03-31T02:30:00+01:00"),
    ],
)
def test_procedure_minutes_end_the_procedures_period(when: str, minutes: str, end: str) -> None:
    _, ended, found = procedure(f"PR1|1||APP^Appendicectomie^L|Appendicectomie|{when}||{minutes}")
    assert (ended, found) == (end, [])


@pytest.mark.parametrize(
    ("when", "minutes", "says"),
    [
        ("20240312", "45", "procedure minutes need a PR1-5 time with a zone: no end"),
        ("", "45", "procedure minutes need a PR1-5 time with a zone: no end"),
        ("202403121030", "-5", "procedure minutes are not a number: no end"),
        ("202403121030", "environ", "procedure minutes are not a number: no end"),
        ("202403121030", "9" * 30, "procedure minutes end after the calendar does: no end"),
    ],
)
def test_procedure_minutes_that_give_no_end_are_reported(
    when: str, minutes: str, says: str
) -> None:
    _, end, found = procedure(f"PR1|1||APP^Appendicectomie^L|Appendicectomie|{when}||{minutes}")
    assert end is None
    assert found == [f"PR1-7: {says}"]


def test_without_procedure_minutes_the_date_is_when_it_was_done() -> None:
    data = message("PR1|1||APP^Appendicectomie^L|Appendicectomie|20240312")
    result = translate(data, "fr-hl7v2-pam")
    (item,) = result.translation.record.procedures
    assert (item.date, item.end) == ("2024-03-12", None)
    resource = only(result.bundle, "Procedure")
    assert resource["performedDateTime"] == "2024-03-12"
    assert document_errors(result.bundle) == []


def test_a_procedure_period_reaches_the_document() -> None:
    data = message("PR1|1||APP^Appendicectomie^L|Appendicectomie|202403121030||45")
    result = translate(data, "fr-hl7v2-pam")
    assert document_errors(result.bundle) == []
    resource = only(result.bundle, "Procedure")
    assert resource["performedPeriod"] == {
        "start": "2024-03-12T10:30:00+01:00",
        "end": "2024-03-12T11:15:00+01:00",
    }


def test_the_french_sample_keeps_no_comparison_as_text() -> None:
    # The old workaround wrote "<5 mg/L" as a string value: every value is typed now.
    record = read((DATA / "fr-oru-r01.hl7").read_bytes()).record
    assert not any(isinstance(r.value, str) for r in record.results)
