"""The FHIR reader case by case, on small Bundles built here: references, statuses, values,
dates, names, and how the profile's ``mapping`` decides what is read."""

from __future__ import annotations

import copy
import dataclasses
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.domain.records import ICD10, UCUM, Concept, DateValue, PatientRecord, Quantity
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.fhir import read_fhir
from gateway.profiles.loader import ProfileError, load_profiles
from gateway.profiles.model import Profile
from tests.support.fhir_validation import document_errors
from tests.support.records import shipped_profiles, translate

KVNR = "http://fhir.de/sid/gkv/kvid-10"
BASE = "http://example.org/fhir"
ICD10_GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
THO = "http://terminology.hl7.org/CodeSystem/"

Json = dict[str, Any]


def profile(name: str = "de-isik-fhir") -> Profile:
    found = shipped_profiles().get(name)
    assert found is not None
    return found


def with_mapping(base: Profile, **changes: Any) -> Profile:
    mapping = copy.deepcopy(dict(base.mapping))
    mapping.update(changes)
    return dataclasses.replace(base, mapping=mapping)


def patient(**changes: Any) -> Json:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "identifier": [{"system": KVNR, "value": "A123456780"}],
        "name": [{"use": "official", "family": "Testfrau", "given": ["Erika"]}],
        "birthDate": "1980-01-01",
        **changes,
    }


def condition(**changes: Any) -> Json:
    return {
        "resourceType": "Condition",
        "id": "c1",
        "clinicalStatus": {"coding": [{"system": THO + "condition-clinical", "code": "active"}]},
        "category": [
            {"coding": [{"system": THO + "condition-category", "code": "problem-list-item"}]}
        ],
        "code": {"coding": [{"system": ICD10_GM, "code": "E11.90"}]},
        "subject": {"reference": "Patient/p1"},
        **changes,
    }


def observation(category: str = "laboratory", **changes: Any) -> Json:
    return {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "category": [{"coding": [{"system": THO + "observation-category", "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "subject": {"reference": "Patient/p1"},
        **changes,
    }


def bundle(*entries: Json, first: Json | None = None, **fields: Any) -> bytes:
    made = [first or patient(), *entries]
    document = {
        "resourceType": "Bundle",
        "id": "b1",
        "type": "collection",
        **fields,
        "entry": [
            {"fullUrl": f"{BASE}/{r['resourceType']}/{r.get('id', n)}", "resource": r}
            for n, r in enumerate(made)
        ],
    }
    return json.dumps(document).encode()


def read(data: bytes, name: str = "de-isik-fhir") -> Reading:
    return read_fhir(data, profile(name))


def record(data: bytes, name: str = "de-isik-fhir") -> PatientRecord:
    return read(data, name).record


# --- references to the patient and between resources ------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        {"reference": "Patient/p1"},
        {"reference": f"{BASE}/Patient/p1"},
        {"reference": f"{BASE}/Patient/p1/_history/3"},
        {"identifier": {"system": KVNR, "value": "A123456780"}},
    ],
    ids=["relative", "absolute", "versioned", "identifier"],
)
def test_every_way_of_naming_the_patient_is_understood(subject: Json) -> None:
    assert len(record(bundle(condition(subject=subject))).problems) == 1


@pytest.mark.parametrize(
    "reference",
    ["Patient/someone-else", "https://other-hospital.example/fhir/Patient/p1", "urn:uuid:p1"],
    ids=["other-id", "same-id-on-another-host", "another-fullurl"],
)
def test_a_resource_about_someone_else_is_not_read(reference: str) -> None:
    reading = read(bundle(condition(subject={"reference": reference})))
    assert reading.record.problems == ()
    assert [str(f) for f in reading.findings] == [
        "Bundle.entry[1].resource.subject: not the Bundle's Patient: the resource is not read"
    ]


def test_a_resource_naming_no_patient_is_not_read() -> None:
    entry = condition()
    del entry["subject"]
    reading = read(bundle(entry))
    assert reading.record.problems == ()
    assert [str(f) for f in reading.findings] == [
        "Bundle.entry[1].resource: Condition names no patient: not read"
    ]


def test_a_contained_medication_is_resolved() -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms",
        "contained": [
            {
                "resourceType": "Medication",
                "id": "m",
                "code": {
                    "coding": [{"system": "http://fhir.de/CodeSystem/ifa/pzn", "code": "06313728"}]
                },
            }
        ],
        "status": "active",
        "medicationReference": {"reference": "#m"},
        "subject": {"reference": "Patient/p1"},
    }
    (use,) = record(bundle(statement)).medications
    assert [c.code for c in use.medication.codings] == ["06313728"]


def test_a_medication_not_in_the_bundle_is_its_display_or_nothing() -> None:
    named = {
        "resourceType": "MedicationStatement",
        "id": "ms",
        "status": "active",
        "medicationReference": {"reference": "Medication/elsewhere", "display": "Ibuprofen 400"},
        "subject": {"reference": "Patient/p1"},
    }
    (use,) = record(bundle(named)).medications
    assert use.medication == Concept(text="Ibuprofen 400")
    del named["medicationReference"]["display"]  # type: ignore[attr-defined]
    reading = read(bundle(named))
    assert reading.record.medications == ()
    assert reading.findings[0].message == ("MedicationStatement without a medication: not read")


def test_the_same_patient_twice_is_one_patient() -> None:
    assert len(record(bundle(patient(), condition())).problems) == 1


# --- statuses, values, dates --------------------------------------------------------------


def test_entered_in_error_is_not_read() -> None:
    wrong = condition(
        verificationStatus={
            "coding": [{"system": THO + "condition-ver-status", "code": "entered-in-error"}]
        }
    )
    reading = read(bundle(wrong, observation(status="entered-in-error")))
    assert (reading.record.problems, reading.record.results) == ((), ())
    assert [f.message for f in reading.findings] == [
        "Condition entered in error: not read",
        "Observation entered in error: not read",
    ]


def test_a_status_fhir_does_not_have_is_refused_at_the_resource() -> None:
    bogus = condition(
        clinicalStatus={"coding": [{"system": THO + "condition-clinical", "code": "x"}]}
    )
    with pytest.raises(RecordRejected) as refused:
        read(bundle(bogus))
    assert refused.value.location == "Bundle.entry[1].resource"
    assert "problem status" in refused.value.detail


def test_an_abated_condition_without_an_abated_status_is_refused() -> None:
    with pytest.raises(RecordRejected, match="abated problem"):
        read(bundle(condition(abatementDateTime="2020-01-01")))


def test_the_profile_decides_where_abated_conditions_go() -> None:
    resolved = condition(
        clinicalStatus={"coding": [{"system": THO + "condition-clinical", "code": "resolved"}]}
    )
    shipped = profile()
    assert len(read_fhir(bundle(resolved), shipped).record.past_problems) == 1
    rules = [dict(r) for r in shipped.mapping["resources"]]
    del rules[0]["abated"]
    kept = read_fhir(bundle(resolved), with_mapping(shipped, resources=rules)).record
    assert (len(kept.problems), kept.past_problems) == (1, ())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"valueString": "negativ"}, "negativ"),
        ({"valueInteger": 3}, 3),
        ({"valueCodeableConcept": {"text": "positiv"}}, Concept(text="positiv")),
        (
            {
                "valueQuantity": {
                    "value": 0.50,
                    "unit": "mg/dL",
                    "system": "http://unitsofmeasure.org",
                    "code": "mg/dL",
                }
            },
            Quantity(Decimal("0.50"), "mg/dL", "http://unitsofmeasure.org", "mg/dL"),
        ),
        (
            {"valueQuantity": {"value": 5, "comparator": "<", "unit": "mg/L"}},
            Quantity(Decimal(5), "mg/L", comparator="<"),
        ),
        (
            {"valueQuantity": {"value": 90, "comparator": ">=", "unit": "mL/min"}},
            Quantity(Decimal(90), "mL/min", comparator=">="),
        ),
        ({"valueDateTime": "2024-09-02"}, DateValue("2024-09-02")),
        ({"valueDateTime": "2024-03-10T08:20:00"}, DateValue("2024-03-10T08:20:00+01:00")),
        ({"valueBoolean": True}, None),
    ],
    ids=[
        "string",
        "integer",
        "concept",
        "quantity",
        "less-than",
        "at-least",
        "date",
        "local-time",
        "boolean",
    ],
)
def test_observation_values(value: Json, expected: object) -> None:
    (result,) = record(bundle(observation(**value))).results
    assert result.value == expected


def test_values_the_record_cannot_hold_are_reported() -> None:
    reading = read(
        bundle(
            observation(valueBoolean=True),
            observation(valuePeriod={"start": "2024-01-01"}),
            observation(valueQuantity={"value": 5, "comparator": "<"}),
            observation(valueDateTime="2024-09-02"),
        )
    )
    # A comparator and a dateTime are values the record holds now: no finding for them.
    assert [str(f) for f in reading.findings] == [
        "Bundle.entry[1].resource.valueBoolean: valueBoolean is not read: the record has no "
        "such value type",
        "Bundle.entry[2].resource.valuePeriod: valuePeriod is not read: the record has no "
        "such value type",
    ]


def test_a_result_below_the_detection_limit_is_a_quantity_with_its_comparator() -> None:
    less = observation(
        valueQuantity={
            "value": 0.5,
            "comparator": "<",
            "unit": "mg/dL",
            "system": UCUM,
            "code": "mg/dL",
        }
    )
    translated = translate(bundle(less), "de-isik-fhir")
    (result,) = translated.translation.record.results
    assert result.value == Quantity(Decimal("0.5"), "mg/dL", UCUM, "mg/dL", "<")
    assert not isinstance(result.value, str)  # the old workaround kept "<0.5 mg/dL" as text
    document = next(
        e["resource"]
        for e in translated.bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    )
    assert document["valueQuantity"]["comparator"] == "<"
    assert "valueString" not in document
    assert document_errors(translated.bundle) == []


def test_a_comparator_fhir_does_not_have_is_refused_where_it_is() -> None:
    with pytest.raises(RecordRejected) as refused:
        read(bundle(observation(valueQuantity={"value": 5, "comparator": "ad"})))
    assert refused.value.location == "Bundle.entry[1].resource.valueQuantity.comparator"
    assert refused.value.detail == "not a FHIR quantity comparator"


def test_a_component_value_may_be_a_date() -> None:
    component = {
        "code": {"coding": [{"system": "http://loinc.org", "code": "11778-8"}]},
        "valueDateTime": "2025-11-15",
    }
    (result,) = record(bundle(observation(component=[component]))).results
    assert result.components[0].value == DateValue("2025-11-15")


def test_an_impossible_date_value_is_refused_where_it_is() -> None:
    with pytest.raises(RecordRejected) as refused:
        read(bundle(observation(valueDateTime="2024-02-30")))
    assert refused.value.location == "Bundle.entry[1].resource.valueDateTime"
    assert "2024-02-30" not in str(refused.value)


def bounds(value: float | None, unit: str | None = "mmol/L") -> Json | None:
    if value is None:
        return None
    return {"value": value, **({"unit": unit} if unit else {})}


@pytest.mark.parametrize(
    ("ranges", "text"),
    [
        ([{"text": "3,5 - 5,1"}], "3,5 - 5,1"),
        ([{"text": "3,5 - 5,1", "low": bounds(3.5)}], "3,5 - 5,1"),  # the lab's text first
        ([{"low": bounds(3.5), "high": bounds(5.1)}], "3.5-5.1 mmol/L"),
        ([{"low": bounds(60, "mL/min")}], ">=60 mL/min"),
        ([{"high": bounds(200, None)}], "<=200"),
        ([{"low": bounds(-2), "high": bounds(3)}], "-2 to 3 mmol/L"),
        ([{"low": bounds(1, "g/L"), "high": bounds(5, "mg/dL")}], "1 g/L-5 mg/dL"),
        (
            [
                {"low": bounds(4.5), "high": bounds(5.5), "appliesTo": [{"text": "Männer"}]},
                {"low": bounds(4.0), "high": bounds(5.0), "appliesTo": [{"text": "Frauen"}]},
            ],
            "Männer: 4.5-5.5 mmol/L; Frauen: 4.0-5.0 mmol/L",
        ),
        (
            [
                {
                    "type": {"coding": [{"code": "therapeutic", "display": "Therapeutic"}]},
                    "text": "2-3",
                },
                {"age": {"low": {"value": 18}}},
            ],
            "2-3",
        ),
        ([{"age": {"low": {"value": 18}}}], None),
    ],
    ids=[
        "text",
        "text-first",
        "low-high",
        "low",
        "high",
        "negative",
        "two-units",
        "labelled",
        "unusable-second",
        "nothing",
    ],
)
def test_a_reference_range_becomes_one_text(ranges: list[Json], text: str | None) -> None:
    (result,) = record(bundle(observation(referenceRange=ranges))).results
    assert result.reference_range == text


def test_reference_range_bounds_keep_the_digits_written() -> None:
    data = bundle(observation(referenceRange=[{"low": bounds(1), "high": bounds(2)}]))
    written = data.replace(b'"value": 1,', b'"value": 3.50,').replace(
        b'"value": 2,', b'"value": 5.10,'
    )
    (result,) = record(written).results
    assert result.reference_range == "3.50-5.10 mmol/L"


def test_a_reference_range_reaches_the_document_as_text() -> None:
    ranged = observation(
        valueQuantity={"value": 4.2, "unit": "mmol/L", "system": UCUM, "code": "mmol/L"},
        referenceRange=[{"low": bounds(3.5), "high": bounds(5.1)}],
    )
    translated = translate(bundle(ranged), "de-isik-fhir")
    (document,) = (
        e["resource"]
        for e in translated.bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    )
    assert document["referenceRange"] == [{"text": "3.5-5.1 mmol/L"}]
    assert document_errors(translated.bundle) == []


@pytest.mark.parametrize(
    ("written", "read_as"),
    [
        ("2024-03-10T08:20:00", "2024-03-10T08:20:00+01:00"),  # winter time in Berlin
        ("2024-07-10T08:20:00.250", "2024-07-10T08:20:00.250000+02:00"),  # summer time
        ("2024-07-10T08:20:00Z", "2024-07-10T08:20:00Z"),
        ("2024-07", "2024-07"),
    ],
)
def test_a_time_without_a_zone_is_read_in_the_profile_timezone(written: str, read_as: str) -> None:
    (result,) = record(bundle(observation(effectiveDateTime=written))).results
    assert result.effective == read_as


@pytest.mark.parametrize(
    "written", ["2024-13-01", "2023-02-30T10:00:00+01:00", "2024-02-30T10:00:00", "yesterday"]
)
def test_an_impossible_date_is_refused_where_it_is(written: str) -> None:
    with pytest.raises(RecordRejected) as refused:
        read(bundle(observation(effectiveDateTime=written)))
    assert refused.value.location == "Bundle.entry[1].resource.effectiveDateTime"
    assert written not in str(refused.value)


def test_a_coding_without_a_system_becomes_text() -> None:
    entry = condition(code={"coding": [{"code": "E11.90", "display": "Typ-2-Diabetes"}]})
    reading = read(bundle(entry))
    (problem,) = reading.record.problems
    assert problem.code == Concept(text="Typ-2-Diabetes")
    assert [str(f) for f in reading.findings] == [
        "Bundle.entry[1].resource.code.coding[0]: a coding without a code system URI is not "
        "sent as a code"
    ]


def test_a_status_coding_without_its_system_is_still_read() -> None:
    entry = condition(clinicalStatus={"coding": [{"code": "remission"}]})
    (problem,) = record(bundle(entry)).past_problems
    assert problem.clinical_status == "remission"


def test_json_with_a_utf8_bom_is_read() -> None:
    assert record(b"\xef\xbb\xbf" + bundle(condition())).problems


def test_a_code_with_stray_spaces_is_refused_at_the_coding() -> None:
    entry = condition(code={"coding": [{"system": ICD10_GM, "code": "E11.90 "}]})
    with pytest.raises(RecordRejected) as refused:
        read(bundle(entry))
    assert refused.value.location == "Bundle.entry[1].resource.code.coding[0]"


def test_a_resource_without_a_code_is_not_read() -> None:
    entry = condition()
    del entry["code"]
    reading = read(bundle(entry))
    assert reading.record.problems == ()
    assert reading.findings[0].message == "Condition without a code: not read"


# --- key, date, language ----------------------------------------------------------------


def test_key_and_source_date_of_a_bundle_fall_back_in_order() -> None:
    stamped = bundle(
        identifier={"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0f8f"},
        timestamp="2024-01-02T03:04:05+01:00",
        meta={"lastUpdated": "2024-02-02T03:04:05+01:00"},
    )
    reading = read(stamped)
    assert reading.key == "Bundle/urn:ietf:rfc:3986|urn:uuid:0f8f"
    assert reading.record.source_date == "2024-02-02T03:04:05+01:00"
    reading = read(bundle(timestamp="2024-01-02T03:04:05+01:00"))
    assert (reading.key, reading.record.source_date) == ("Bundle/b1", "2024-01-02T03:04:05+01:00")
    anonymous = json.loads(bundle(first=patient(meta={"lastUpdated": "2023-12-01T00:00:00Z"})))
    del anonymous["id"]
    reading = read(json.dumps(anonymous).encode())
    assert (reading.key, reading.record.source_date) == ("Patient/p1", "2023-12-01T00:00:00Z")


def test_a_patient_alone() -> None:
    alone = patient(meta={"lastUpdated": "2024-04-30T09:00:00.123+02:00"}, language="de-DE")
    reading = read(json.dumps(alone).encode())
    assert reading.key == "Patient/p1"
    assert reading.record.source_date == "2024-04-30T09:00:00.123+02:00"
    assert reading.record.language == "de-DE"
    del alone["id"]
    assert read(json.dumps(alone).encode()).key == f"Patient/{KVNR}|A123456780"


def test_a_patient_without_a_birth_date_is_refused_by_the_engine() -> None:
    absent = patient(
        _birthDate={
            "extension": [
                {
                    "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                    "valueCode": "unknown",
                }
            ]
        }
    )
    del absent["birthDate"]
    assert record(json.dumps(absent).encode()).patient.birth_date is None
    with pytest.raises(RecordRejected) as refused:
        translate(json.dumps(absent).encode(), "de-isik-fhir")
    assert refused.value.location == "patient.birth_date"


# --- names and identifiers, as the profile says --------------------------------------------


def family_parts(order: str | None, **parts: str) -> Json:
    urls = {
        "own_prefix": "http://hl7.org/fhir/StructureDefinition/humanname-own-prefix",
        "own_name": "http://hl7.org/fhir/StructureDefinition/humanname-own-name",
        "partner_prefix": "http://hl7.org/fhir/StructureDefinition/humanname-partner-prefix",
        "partner_name": "http://hl7.org/fhir/StructureDefinition/humanname-partner-name",
        "namenszusatz": "http://fhir.de/StructureDefinition/humanname-namenszusatz",
    }
    name: Json = {
        "use": "official",
        "_family": {"extension": [{"url": urls[k], "valueString": v} for k, v in parts.items()]},
        "given": ["Anna"],
    }
    if order is not None:
        name["extension"] = [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/humanname-assembly-order",
                "valueCode": order,
            }
        ]
    return name


DUTCH = {
    "own_prefix": "de",
    "own_name": "Boer",
    "partner_prefix": "van",
    "partner_name": "Dalen",
}


@pytest.mark.parametrize(
    ("order", "family"),
    [
        ("NL1", "de Boer"),
        ("NL2", "van Dalen"),
        ("NL3", "van Dalen-de Boer"),
        ("NL4", "de Boer-van Dalen"),
        (None, "de Boer"),  # the zib's default: the own name
        ("UNK", "de Boer"),
    ],
)
def test_dutch_family_name_follows_the_assembly_order(order: str | None, family: str) -> None:
    person = patient(
        identifier=[{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999999011"}],
        name=[family_parts(order, **DUTCH)],
    )
    (name,) = record(json.dumps(person).encode(), "nl-zib-fhir").patient.names
    assert (name.family, name.given) == (family, ("Anna",))


def test_german_family_name_from_namenszusatz_and_vorsatzwort() -> None:
    name = family_parts(None, namenszusatz="Gräfin", own_prefix="von", own_name="Teststein")
    (read_name,) = record(json.dumps(patient(name=[name])).encode()).patient.names
    assert read_name.family == "Gräfin von Teststein"


def test_names_come_in_the_profile_order_and_other_uses_are_skipped() -> None:
    names = [
        {"use": "nickname", "given": ["Eri"]},
        {"given": ["Ohne"]},
        {"use": "maiden", "family": "Probe"},
        {"use": "usual", "given": ["Rufname"]},
        {"use": "official", "family": "Testfrau"},
        {"use": "old", "family": "Früher"},
    ]
    read_names = record(json.dumps(patient(name=names)).encode()).patient.names
    # Each name keeps its use; one without a use stays without.
    assert [(n.family, n.given, n.use) for n in read_names] == [
        ("Testfrau", (), "official"),
        (None, ("Rufname",), "usual"),
        ("Probe", (), "maiden"),
        (None, ("Ohne",), None),
    ]


def test_the_profile_decides_whether_birth_names_are_read() -> None:
    person = patient(
        identifier=[{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": "999999011"}],
        name=[{"use": "maiden", "family": "Probe"}, {"use": "official", "family": "Testfrau"}],
    )
    data = json.dumps(person).encode()
    assert [n.use for n in record(data, "nl-zib-fhir").patient.names] == ["official"]
    assert [n.use for n in record(data, "de-isik-fhir").patient.names] == ["official", "maiden"]


def test_a_patient_with_no_name_the_profile_reads_is_refused() -> None:
    names = [{"use": "nickname", "given": ["Eri"]}, {"use": "old", "family": "Probe"}]
    with pytest.raises(RecordRejected) as refused:
        read(json.dumps(patient(name=names)).encode())
    assert refused.value.location == "Patient.name"


def test_local_identifiers_are_kept_only_when_the_profile_says() -> None:
    ids = [
        {"system": "https://klinik.example/sid/PID", "value": "4711"},
        {"system": KVNR, "value": "A123456780"},
        {"use": "old", "system": KVNR, "value": "E567890127"},
    ]
    data = json.dumps(patient(identifier=ids)).encode()
    assert [i.value for i in record(data).patient.identifiers] == ["A123456780"]
    patient_section = {**profile().mapping["patient"], "local_identifiers": True}
    generous = with_mapping(profile(), patient=patient_section)
    assert [i.value for i in read_fhir(data, generous).record.patient.identifiers] == [
        "4711",
        "A123456780",
    ]


def test_the_rules_decide_which_resources_fill_which_list() -> None:
    data = bundle(condition(), observation("vital-signs"), observation("laboratory", id="o2"))
    rules = [
        {"resource": "Observation", "list": "results"},  # every observation is a result
    ]
    narrow = read_fhir(data, with_mapping(profile(), resources=rules))
    assert (len(narrow.record.results), narrow.record.vital_signs) == (2, ())
    assert narrow.record.problems == ()  # Conditions: no rule, not read, nothing to report
    assert narrow.findings == ()


def test_the_mapped_problem_gets_its_eu_code_through_the_shipped_concept_map() -> None:
    translated = translate(bundle(condition()), "de-isik-fhir")
    (problem,) = translated.translation.record.problems
    assert problem.code.coding(ICD10) is not None


def delivery_date(code: str = "11778-8", system: str = "http://loinc.org", **changes: Any) -> Json:
    entry = observation(
        code={"coding": [{"system": system, "code": code}]},
        valueDateTime="2024-09-02",
        effectiveDateTime="2024-02-20",
        **changes,
    )
    del entry["category"]  # ISiK and the zib give pregnancy observations no category
    return entry


def test_a_pregnancy_observation_is_picked_by_its_code_not_a_category() -> None:
    translated = translate(bundle(delivery_date()), "de-isik-fhir")
    (edd,) = translated.translation.record.pregnancy
    assert edd.value == DateValue("2024-09-02")
    (document,) = (
        e["resource"]
        for e in translated.bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
    )
    assert document["valueDateTime"] == "2024-09-02"
    assert document["meta"]["profile"] == [
        "http://hl7.org/fhir/uv/ips/StructureDefinition/Observation-pregnancy-edd-uv-ips"
    ]
    assert document_errors(translated.bundle) == []


def test_the_code_rule_compares_normalised_systems() -> None:
    # The LOINC OID some systems write is LOINC for the rule too.
    written = delivery_date(system="urn:oid:2.16.840.1.113883.6.1")
    (edd,) = record(bundle(written), "nl-zib-fhir").pregnancy
    assert edd.code.codings[0].system == "http://loinc.org"


def test_an_observation_no_code_rule_names_still_needs_a_category() -> None:
    reading = read(bundle(delivery_date(code="8302-2")))
    assert reading.record.pregnancy == ()
    assert [str(f) for f in reading.findings] == [
        "Bundle.entry[1].resource: Observation of category none: no rule of the profile reads it"
    ]


def test_category_and_code_must_both_match_when_a_rule_names_both() -> None:
    rules = [
        {
            "resource": "Observation",
            "category": [THO + "observation-category|laboratory"],
            "code": ["http://loinc.org|2345-7"],
            "list": "results",
        }
    ]
    narrow = with_mapping(profile(), resources=rules)
    glucose, other = observation(id="o1"), observation(id="o2", code={"text": "x"})
    untagged = observation(id="o3")
    del untagged["category"]
    reading = read_fhir(bundle(glucose, other, untagged), narrow)
    assert len(reading.record.results) == 1
    assert [f.location for f in reading.findings] == [
        "Bundle.entry[2].resource",
        "Bundle.entry[3].resource",
    ]


def procedure(**changes: Any) -> Json:
    return {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91251008"}]},
        "subject": {"reference": "Patient/p1"},
        **changes,
    }


@pytest.mark.parametrize(
    ("performed", "dates", "in_document"),
    [
        ({"performedDateTime": "2021-01-11"}, ("2021-01-11", None), "performedDateTime"),
        (
            {"performedPeriod": {"start": "2021-01-11", "end": "2021-03-05"}},
            ("2021-01-11", "2021-03-05"),
            "performedPeriod",
        ),
        ({"performedPeriod": {"start": "2021-01-11"}}, ("2021-01-11", None), "performedDateTime"),
        ({"performedPeriod": {"end": "2021-03-05"}}, (None, "2021-03-05"), "performedPeriod"),
        (
            {"performedPeriod": {"start": "2021-01-11T09:00:00", "end": "2021-01-11T09:40:00"}},
            ("2021-01-11T09:00:00+01:00", "2021-01-11T09:40:00+01:00"),
            "performedPeriod",
        ),
    ],
    ids=["once", "course", "open", "end-only", "local-times"],
)
def test_a_procedure_period_keeps_its_end(
    performed: Json, dates: tuple[str | None, str | None], in_document: str
) -> None:
    translated = translate(bundle(procedure(**performed)), "de-isik-fhir")
    (done,) = translated.translation.record.procedures
    assert (done.date, done.end) == dates
    (document,) = (
        e["resource"]
        for e in translated.bundle["entry"]
        if e["resource"]["resourceType"] == "Procedure"
    )
    assert in_document in document
    assert document_errors(translated.bundle) == []


def test_a_procedure_that_ends_before_it_starts_is_refused() -> None:
    backwards = procedure(performedPeriod={"start": "2021-03-05", "end": "2021-01-11"})
    with pytest.raises(RecordRejected) as refused:
        read(bundle(backwards))
    assert refused.value.location == "Bundle.entry[1].resource"
    assert refused.value.detail == "procedure ends before it starts"


# --- the mapping schema -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "complaint"),
    [
        ({"resources": [{"resource": "Observation", "list": "problems"}]}, "resources/0/list"),
        (
            {
                "resources": [
                    {"resource": "Procedure", "list": "procedures", "abated": "past_problems"}
                ]
            },
            "resources/0",
        ),
        (
            {"resources": [{"resource": "Condition", "list": "problems", "category": ["x"]}]},
            "category",
        ),
        ({"resources": [{"resource": "Encounter", "list": "problems"}]}, "resources/0/resource"),
        ({"resources": []}, "resources"),
        (
            {
                "patient": {"name_uses": ["formal"]},
                "resources": [{"resource": "Procedure", "list": "procedures"}],
            },
            "name_uses",
        ),
        ({"resources": [{"resource": "Procedure", "list": "procedures"}], "extra": 1}, "(top)"),
        (
            {
                "resources": [
                    {
                        "resource": "Procedure",
                        "list": "procedures",
                        "code": ["http://snomed.info/sct|91251008"],
                    }
                ]
            },
            "resources/0",
        ),
        (
            {"resources": [{"resource": "Observation", "list": "pregnancy", "code": ["11778-8"]}]},
            "code",
        ),
        ({"resources": [{"resource": "Observation", "list": "pregnancy", "code": []}]}, "code"),
    ],
)
def test_the_loader_refuses_a_mapping_the_schema_does_not_allow(
    tmp_path: Path, mapping: Json, complaint: str
) -> None:
    folder = tmp_path / "profiles" / "xx"
    folder.mkdir(parents=True)
    document = {"name": "xx-broken", "format": "fhir", "country": "XX", "description": "x"}
    (folder / "broken.yaml").write_text(yaml.safe_dump({**document, "mapping": mapping}))
    with pytest.raises(ProfileError, match="mapping") as refused:
        load_profiles(tmp_path / "profiles")
    assert complaint in str(refused.value)


def test_a_record_without_any_readable_parts_still_needs_its_patient() -> None:
    with pytest.raises(RecordError):
        read(b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {}}]}')
