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

from gateway.domain.records import ICD10, Concept, PatientRecord, Quantity
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.fhir import read_fhir
from gateway.profiles.loader import ProfileError, load_profiles
from gateway.profiles.model import Profile
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


def test_a_resource_about_someone_else_is_not_read() -> None:
    reading = read(bundle(condition(subject={"reference": "Patient/someone-else"})))
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
        ({"valueQuantity": {"value": 5, "comparator": "<", "unit": "mg/L"}}, "<5 mg/L"),
        ({"valueBoolean": True}, None),
    ],
    ids=["string", "integer", "concept", "quantity", "comparator", "boolean"],
)
def test_observation_values(value: Json, expected: object) -> None:
    (result,) = record(bundle(observation(**value))).results
    assert result.value == expected


def test_values_the_record_cannot_hold_are_reported() -> None:
    reading = read(
        bundle(
            observation(valueBoolean=True),
            observation(valueQuantity={"value": 5, "comparator": "<"}),
        )
    )
    assert [str(f) for f in reading.findings] == [
        "Bundle.entry[1].resource.valueBoolean: valueBoolean is not read: the record has no "
        "such value type",
        "Bundle.entry[2].resource.valueQuantity.comparator: a quantity with a comparator is "
        "kept as text",
    ]


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
        {"use": "usual", "given": ["Rufname"]},
        {"use": "official", "family": "Testfrau"},
    ]
    read_names = record(json.dumps(patient(name=names)).encode()).patient.names
    assert [(n.family, n.given) for n in read_names] == [
        ("Testfrau", ()),
        (None, ("Rufname",)),
        (None, ("Ohne",)),
    ]


def test_a_patient_with_no_name_the_profile_reads_is_refused() -> None:
    with pytest.raises(RecordRejected) as refused:
        read(json.dumps(patient(name=[{"use": "maiden", "family": "Probe"}])).encode())
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
