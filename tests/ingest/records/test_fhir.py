"""The national FHIR reader with the shipped profiles: the shared ISiK and nl-core patients, the
German ISiK Bundles (a hospital stay; a pregnancy) and the Dutch nl-core Bundle (XML and its JSON
twin) of ``tests/ingest/records/data/fhir/``, through reader, engine and IPS builder.

Every document passes the independent checks of ``tests/support/fhir_validation.py``; the
assertions say what each source element became in the record and in the document.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.records import (
    ATC,
    ICD10,
    LOINC,
    SNOMED,
    UCUM,
    Code,
    DateValue,
    Identifier,
    Quantity,
    Sex,
)
from gateway.errors import RecordRejected
from gateway.profiles.engine import apply_profile
from tests.support.fhir_validation import document_errors
from tests.support.records import Translated, shipped_profiles, translate

DATA = Path(__file__).parent / "data" / "fhir"
KVNR = "http://fhir.de/sid/gkv/kvid-10"
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"
ICD10_GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
PZN = "http://fhir.de/CodeSystem/ifa/pzn"
EDQM = "http://standardterms.edqm.eu"
GPK = "urn:oid:2.16.840.1.113883.2.4.4.1"
IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"

Resource = dict[str, Any]


def resources(bundle: Resource, kind: str) -> list[Resource]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def section(bundle: Resource, loinc: str) -> Resource:
    composition = bundle["entry"][0]["resource"]
    return next(s for s in composition["section"] if s["code"]["coding"][0]["code"] == loinc)


def messages(translated: Translated) -> list[str]:
    return [str(f) for f in translated.translation.findings]


# --- the shared samples ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def isik_patient(shared: Path) -> Translated:
    sample = shared / "conformance" / "national-samples" / "isik-Patient-PatientinMusterfrau.json"
    return translate(sample.read_bytes(), "de-isik-fhir")


@pytest.fixture(scope="module")
def nl_core_patient(shared: Path) -> Translated:
    sample = shared / "conformance" / "national-samples" / "nictiz-nl-core-Patient-01.xml"
    return translate(sample.read_bytes(), "nl-zib-fhir")


def test_isik_patient_makes_a_valid_document(isik_patient: Translated) -> None:
    assert document_errors(isik_patient.bundle) == []


def test_isik_patient_keeps_only_the_national_identifier(isik_patient: Translated) -> None:
    patient = isik_patient.translation.record.patient
    assert patient.identifiers == (Identifier(KVNR, "A123456789"),)
    assert patient.country == "DE"
    assert isik_patient.reading.key == "Patient/PatientinMusterfrau"
    assert isik_patient.reading.record.source_date is None  # the sample has no meta.lastUpdated
    found = messages(isik_patient)
    assert (
        "Patient.identifier[0]: https://fhir.krankenhaus.example/sid/PID is not a national "
        "system: not sent" in found
    )
    assert "Patient.identifier[2]: an identifier without a system is not read" in found


def test_isik_patient_wrong_kvnr_check_digit_is_a_warning(isik_patient: Translated) -> None:
    # The shipped profile warns (profiles/de/de-isik-fhir.yaml says why).
    found = isik_patient.translation.findings
    wrong_digit = f"{KVNR}: check digit does not match"
    assert any(f.location == "patient.identifiers[0]" and f.message == wrong_digit for f in found)
    document_patient = resources(isik_patient.bundle, "Patient")[0]
    assert document_patient["identifier"] == [{"system": KVNR, "value": "A123456789"}]


def test_isik_patient_wrong_kvnr_is_refused_by_a_rejecting_profile(shared: Path) -> None:
    profiles = shipped_profiles()
    shipped = profiles.get("de-isik-fhir")
    assert shipped is not None
    strict = dataclasses.replace(
        shipped,
        identifiers=tuple(dataclasses.replace(r, on_failure="reject") for r in shipped.identifiers),
    )
    sample = shared / "conformance" / "national-samples" / "isik-Patient-PatientinMusterfrau.json"
    reading = translate(sample.read_bytes(), "de-isik-fhir").reading
    with pytest.raises(RecordRejected) as refused:
        apply_profile(reading.record, strict, profiles, default_country="DE")
    assert refused.value.status == 422
    assert refused.value.location == "patient.identifiers[0]"
    assert "A123456789" not in str(refused.value)


def test_isik_patient_name_demographics_and_addresses(isik_patient: Translated) -> None:
    patient = isik_patient.translation.record.patient
    # The Geburtsname travels as the birth name it is, after the official name.
    assert [(n.family, n.given, n.use) for n in patient.names] == [
        ("Fürstin von Musterfrau", ("Erika",), "official"),
        ("Gabler", (), "maiden"),
    ]
    (document_patient,) = resources(isik_patient.bundle, "Patient")
    assert [(n["use"], n["family"]) for n in document_patient["name"]] == [
        ("official", "Fürstin von Musterfrau"),
        ("maiden", "Gabler"),
    ]
    assert patient.birth_date == "1964-08-12"
    assert patient.gender is Sex.FEMALE
    assert [(a.lines, a.city, a.postal_code, a.country) for a in patient.addresses] == [
        (("Musterweg 2", "3. Etage"), "Musterhausen", "98764", "DE"),
        (("Postfach 8 15",), "Musterhausen", "98764", "DE"),
    ]


def test_nl_core_patient_makes_a_valid_document(nl_core_patient: Translated) -> None:
    assert document_errors(nl_core_patient.bundle) == []
    assert nl_core_patient.translation.findings == ()


def test_nl_core_patient_demographics(nl_core_patient: Translated) -> None:
    patient = nl_core_patient.translation.record.patient
    assert patient.identifiers == (Identifier(BSN, "111222333"),)
    assert nl_core_patient.reading.key == "Patient/nl-core-Patient-01"
    official, usual = patient.names
    assert official.family == "van Putten-van der Giessen"
    assert official.given == ("Johanna", "Petronella", "Maria")
    assert official.text == "Johanna Petronella Maria van Putten-van der Giessen"
    assert (usual.family, usual.given) == (None, ("Jo",))
    assert (official.use, usual.use) == ("official", "usual")  # the zib call name is usual
    assert patient.birth_date == "1934-04-28"
    assert patient.gender is Sex.FEMALE
    # "Nederland" is a name; its ISO 3166 code comes from the nl-core extension.
    assert [(a.lines, a.city, a.postal_code, a.country) for a in patient.addresses] == [
        (("1e Jacob van Campenstr 15",), "Hoogmade", "1012 NX", "NL")
    ]
    assert [(t.system, t.value) for t in patient.telecoms] == [
        ("phone", "+31611234567"),
        ("email", "giesput@myweb.nl"),
    ]


# --- the German ISiK Bundle -----------------------------------------------------------------


@pytest.fixture(scope="module")
def german() -> Translated:
    return translate((DATA / "de-isik-bundle.json").read_bytes(), "de-isik-fhir")


def test_german_bundle_makes_a_valid_document(german: Translated) -> None:
    assert document_errors(german.bundle) == []


def test_german_bundle_key_date_custodian_and_patient(german: Translated) -> None:
    record = german.translation.record
    assert german.reading.key == "Bundle/https://fhir.krankenhaus.example/sid/bundle|b-2024-0001"
    assert record.source_date == "2024-05-02T11:30:00+02:00"  # Bundle.meta.lastUpdated
    assert record.custodian is not None
    assert record.custodian.name == "Testkrankenhaus Berlin-Mitte"
    patient = record.patient
    assert patient.identifiers == (Identifier(KVNR, "M123456785"),)
    assert [(n.family, n.given, n.use) for n in patient.names] == [
        ("Testfrau", ("Anna", "Maria"), "official"),
        ("Probe", (), "maiden"),
    ]
    assert (patient.birth_date, patient.gender) == ("1971-03-14", Sex.FEMALE)
    assert [a.city for a in patient.addresses] == ["Berlin"]  # the `old` address is history
    assert [(t.system, t.value) for t in patient.telecoms] == [
        ("phone", "+49 30 5550100"),
        ("email", "anna.testfrau@example.org"),
    ]
    assert not any("kvid-10" in m for m in messages(german))  # a valid KVNR passes


def test_german_problems_carry_the_who_code_before_the_national_one(german: Translated) -> None:
    problems = german.translation.record.problems
    diabetes, hypertension, gonarthrosis = problems
    assert diabetes.code.codings == (
        Code(ICD10, "E11.9", "Type 2 diabetes mellitus without complications"),
        Code(
            ICD10_GM,
            "E11.90",
            "Diabetes mellitus, Typ 2: Ohne Komplikationen: Nicht als entgleist bezeichnet",
        ),
    )
    assert diabetes.code.text == "Diabetes mellitus Typ 2"
    assert (diabetes.clinical_status, diabetes.verification, diabetes.onset) == (
        "active",
        "confirmed",
        "2015-03",
    )
    assert [c.code for c in gonarthrosis.code.codings] == ["M17.1", "M17.1"]
    assert gonarthrosis.onset == "2020-06"  # from onsetPeriod.start
    # I10.90: WHO has neither its fourth nor its fifth character; sent as it came.
    assert [(c.system, c.code) for c in hypertension.code.codings] == [(ICD10_GM, "I10.90")]
    assert hypertension.onset == "2018"
    found = messages(german)
    assert f"problems[1].code: {ICD10_GM}|I10.90 is not in DeIcd10GmToIcd10" in found
    assert f"problems[1].code: no EU coding (only {ICD10_GM}): kept as sent" in found


def test_german_resolved_condition_is_a_past_problem(german: Translated) -> None:
    (pneumonia,) = german.translation.record.past_problems
    assert (pneumonia.clinical_status, pneumonia.onset, pneumonia.abatement) == (
        "resolved",
        "2019-02-10",
        "2019-03-01",
    )
    # Written with the pre-2020 DIMDI URI; the profile's code_systems make it the BfArM one.
    assert pneumonia.code.codings[1] == Code(ICD10_GM, "J18.9", "Pneumonie, nicht näher bezeichnet")
    assert pneumonia.code.codings[0] == Code(ICD10, "J18.9", "Pneumonia, unspecified")
    past = section(german.bundle, "11348-0")
    assert len(past["entry"]) == 1


def test_german_medications_resolve_the_medication_and_map_pzn_to_atc(german: Translated) -> None:
    pantoprazole, sumatriptan = german.translation.record.medications
    assert pantoprazole.medication.codings == (
        Code(ATC, "A02BC02", "pantoprazole"),
        Code(PZN, "07265233", "Pantozol® 40 mg 98 St."),
    )
    assert (pantoprazole.status, pantoprazole.start, pantoprazole.end) == (
        "active",
        "2023-01-15",
        None,
    )
    assert pantoprazole.dosage == "1-0-0"
    assert pantoprazole.route is not None
    assert pantoprazole.route.codings == (Code(EDQM, "20053000", "Oral use"),)
    assert sumatriptan.medication.codings == (
        Code(ATC, "N02CC01", "sumatriptan"),
        Code(PZN, "06313728"),
    )
    assert sumatriptan.medication.text == "Sumatriptan-1a Pharma 100 mg Tabletten"
    assert (sumatriptan.status, sumatriptan.start, sumatriptan.end) == (
        "completed",
        "2022-05-01",
        "2022-06-30",
    )
    statements = resources(german.bundle, "MedicationStatement")
    assert [s["medicationCodeableConcept"]["coding"][0]["code"] for s in statements] == [
        "A02BC02",
        "N02CC01",
    ]


def test_german_allergy(german: Translated) -> None:
    (allergy,) = german.translation.record.allergies
    assert allergy.code.codings == (
        Code(SNOMED, "764146007", "Substance with penicillin structure (substance)"),
    )
    assert allergy.code.text == "Penicillin"
    assert (allergy.clinical_status, allergy.verification, allergy.type) == (
        "active",
        "confirmed",
        "allergy",
    )
    assert (allergy.category, allergy.criticality, allergy.onset) == ("medication", "high", "2010")
    assert [r.text for r in allergy.reactions] == ["Urtikaria"]


def test_german_lab_result_keeps_decimal_precision_and_time_zone(german: Translated) -> None:
    hba1c, _ = german.translation.record.results
    assert hba1c.code.codings[0] == Code(
        LOINC, "17856-6", "Hemoglobin A1c/Hemoglobin.total in Blood by HPLC"
    )
    assert hba1c.value == Quantity(Decimal("7.10"), "%", UCUM, "%")
    assert isinstance(hba1c.value, Quantity)
    assert str(hba1c.value.value) == "7.10"
    assert hba1c.effective == "2024-03-10T08:20:00+01:00"
    assert hba1c.interpretation is not None
    assert hba1c.interpretation.codings[0].code == "H"
    assert hba1c.note == "Zielwert unter 7,0 %"
    assert hba1c.reference_range == "4,0-6,0 %"  # referenceRange.text, as the lab wrote it
    observation = resources(german.bundle, "Observation")[0]
    assert observation["category"][0]["coding"][0]["code"] == "laboratory"
    assert observation["valueQuantity"] == {
        "value": 7.1,
        "unit": "%",
        "system": UCUM,
        "code": "%",
    }
    assert observation["referenceRange"] == [{"text": "4,0-6,0 %"}]


def test_german_result_below_the_detection_limit_keeps_its_comparator(german: Translated) -> None:
    _, crp = german.translation.record.results
    assert crp.value == Quantity(Decimal("0.5"), "mg/dL", UCUM, "mg/dL", comparator="<")
    assert crp.reference_range == "<=0.5 mg/dL"  # from referenceRange.high: bounds are inclusive
    observation = resources(german.bundle, "Observation")[1]
    assert observation["valueQuantity"] == {
        "value": 0.5,
        "comparator": "<",
        "unit": "mg/dL",
        "system": UCUM,
        "code": "mg/dL",
    }
    assert observation["referenceRange"] == [{"text": "<=0.5 mg/dL"}]
    assert not any("comparator" in m for m in messages(german))  # no longer a finding


def test_german_vital_signs(german: Translated) -> None:
    weight, pressure = german.translation.record.vital_signs
    assert weight.value == Quantity(Decimal("72.5"), "kg", UCUM, "kg")
    assert weight.effective == "2024-04-10T09:58:00+02:00"
    assert pressure.value is None
    assert [(c.code.codings[0].code, c.value) for c in pressure.components] == [
        ("8480-6", Quantity(Decimal("132"), "mmHg", UCUM, "mm[Hg]")),
        ("8462-4", Quantity(Decimal("84"), "mmHg", UCUM, "mm[Hg]")),
    ]
    assert len(section(german.bundle, "8716-3")["entry"]) == 2


def test_german_immunization_and_procedure(german: Translated) -> None:
    (vaccination,) = german.translation.record.immunizations
    assert vaccination.vaccine.codings[0].code == "J07BB02"
    assert (vaccination.date, vaccination.status, vaccination.lot_number) == (
        "2023-10-15",
        "completed",
        "X123A",
    )
    appendectomy, physiotherapy = german.translation.record.procedures
    assert appendectomy.code.codings == (Code(SNOMED, "80146002", "Appendectomy"),)
    assert appendectomy.code.text == "Laparoskopische Appendektomie"
    assert (appendectomy.date, appendectomy.end, appendectomy.status) == (
        "2009-07-21",
        None,
        "completed",
    )
    # A course over a period keeps its end, which used to be dropped.
    assert (physiotherapy.date, physiotherapy.end) == ("2021-01-11", "2021-03-05")
    done_once, course = resources(german.bundle, "Procedure")
    assert done_once["performedDateTime"] == "2009-07-21"
    assert course["performedPeriod"] == {"start": "2021-01-11", "end": "2021-03-05"}
    assert "performedDateTime" not in course


def test_german_observation_no_rule_reads_is_reported(german: Translated) -> None:
    category = "http://terminology.hl7.org/CodeSystem/observation-category|survey"
    assert german.reading.findings[-1].location == "Bundle.entry[14].resource"
    assert german.reading.findings[-1].message == (
        f"Observation of category {category}: no rule of the profile reads it"
    )
    assert german.translation.record.social_history == ()


# --- the Dutch nl-core Bundle ---------------------------------------------------------------


@pytest.fixture(scope="module")
def dutch() -> Translated:
    return translate((DATA / "nl-zib-bundle.xml").read_bytes(), "nl-zib-fhir")


def test_dutch_bundle_makes_a_valid_document(dutch: Translated) -> None:
    assert document_errors(dutch.bundle) == []
    assert dutch.translation.findings == ()


def test_dutch_xml_and_json_read_the_same(dutch: Translated) -> None:
    # The JSON twin was written from the XML by fhir.resources, a converter of its own.
    twin = translate((DATA / "nl-zib-bundle.json").read_bytes(), "nl-zib-fhir")
    assert twin.reading == dutch.reading
    assert twin.bundle == dutch.bundle


def test_dutch_patient_name_is_composed_from_its_parts(dutch: Translated) -> None:
    # The XML sends the family name only as nl-core parts, with assembly order NL4.
    patient = dutch.translation.record.patient
    assert patient.identifiers == (Identifier(BSN, "999999011"),)
    assert [(n.family, n.given) for n in patient.names] == [
        ("de Boer-van Dalen", ("Anna", "Maria")),
        (None, ("Anneke",)),
    ]
    assert patient.addresses[0].country == "NL"
    assert (patient.birth_date, patient.gender, patient.country) == ("1956-11-02", Sex.FEMALE, "NL")
    assert dutch.reading.key == "Bundle/https://zorg.example.nl/fhir/sid/bundle|nl-2024-0001"
    # The Bundle states no lastUpdated: its timestamp is the source's date.
    assert dutch.reading.record.source_date == "2024-06-01T14:00:00+02:00"


def test_dutch_problems_by_zib_problem_type(dutch: Translated) -> None:
    record = dutch.translation.record
    assert [p.code.codings[0].code for p in record.problems] == ["59621000"]
    assert record.problems[0].code.text == "Essentiële hypertensie"
    (gout,) = record.past_problems
    assert (gout.clinical_status, gout.abatement) == ("inactive", "2019-02-01")
    (mobility,) = record.functional_status
    assert mobility.code.codings == (Code(SNOMED, "82971005", "Impaired mobility"),)
    assert len(section(dutch.bundle, "47420-5")["entry"]) == 1


def test_dutch_medication_atc_oid_becomes_the_atc_uri(dutch: Translated) -> None:
    (anastrozole,) = dutch.translation.record.medications
    assert anastrozole.medication.codings == (
        Code(GPK, "99872", "ANASTROZOL 1MG TABLET"),
        Code(ATC, "L02BG03", "anastrozole"),
    )
    assert (anastrozole.status, anastrozole.start, anastrozole.dosage) == (
        "active",
        "2021-09-01",
        "1 maal daags 1 tablet",
    )


def test_dutch_results_immunization_procedure_and_device(dutch: Translated) -> None:
    record = dutch.translation.record
    (sodium,) = record.results
    assert sodium.value == Quantity(Decimal("138"), "mmol/l", UCUM, "mmol/L")
    # zib ReferenceRangeLowerLimit / UpperLimit, sent as bounds, become the range's text.
    assert sodium.reference_range == "135-145 mmol/l"
    assert resources(dutch.bundle, "Observation")[0]["referenceRange"] == [
        {"text": "135-145 mmol/l"}
    ]
    (height,) = record.vital_signs
    assert (height.value, height.effective) == (
        Quantity(Decimal("168.5"), "cm", UCUM, "cm"),
        "2024-05-20",
    )
    (vaccination,) = record.immunizations
    assert [c.system for c in vaccination.vaccine.codings] == [SNOMED, ATC]
    assert vaccination.lot_number == "AB1234"
    (hip,) = record.procedures
    assert hip.code.codings[0].code == "52734007"
    (device,) = record.devices
    assert device.device.codings == (
        Code(SNOMED, "67270000", "Hip prosthesis, device (physical object)"),
    )
    assert (device.status, device.start) == ("active", "2018-04-28")
    assert resources(dutch.bundle, "Device")[0]["type"]["coding"][0]["code"] == "67270000"
    (allergy,) = record.allergies
    assert (allergy.category, allergy.criticality) == ("medication", "high")


def test_german_document_sections_list_what_the_record_holds(german: Translated) -> None:
    composition = german.bundle["entry"][0]["resource"]
    entries = {
        s["code"]["coding"][0]["code"]: len(s.get("entry", ())) for s in composition["section"]
    }
    assert entries == {
        "11450-4": 3,  # problems
        "48765-2": 1,  # allergies
        "10160-0": 2,  # medications
        "30954-2": 2,  # results
        "11369-6": 1,  # immunizations
        "47519-4": 2,  # procedures
        "46264-8": 0,  # devices: required by the EU PS, empty with a reason
        "8716-3": 2,  # vital signs
        "11348-0": 1,  # past problems
    }
    devices = section(german.bundle, "46264-8")
    assert "emptyReason" in devices


# --- the German pregnancy Bundle ------------------------------------------------------------


@pytest.fixture(scope="module")
def pregnancy() -> Translated:
    return translate((DATA / "de-isik-pregnancy.json").read_bytes(), "de-isik-fhir")


def test_pregnancy_bundle_makes_a_valid_document(pregnancy: Translated) -> None:
    assert document_errors(pregnancy.bundle) == []
    assert pregnancy.translation.findings == ()


def test_pregnancy_observations_are_picked_by_their_loinc_codes(pregnancy: Translated) -> None:
    # The status carries the social-history category and the expected delivery date none:
    # the profile's code rule, tried first, sends both to the pregnancy history.
    record = pregnancy.translation.record
    status, delivery = record.pregnancy
    assert record.social_history == ()
    assert status.code.codings == (Code(LOINC, "82810-3", "Pregnancy status"),)
    assert status.value is not None
    assert delivery.value == DateValue("2024-09-02")
    assert delivery.effective == "2024-02-20"
    observations = {r["id"]: r for r in resources(pregnancy.bundle, "Observation")}
    claimed = {r["code"]["coding"][0]["code"]: r["meta"]["profile"] for r in observations.values()}
    assert claimed["82810-3"] == [IPS + "Observation-pregnancy-status-uv-ips"]
    assert claimed["11779-6"] == [IPS + "Observation-pregnancy-edd-uv-ips"]
    (edd,) = (r for r in observations.values() if r["code"]["coding"][0]["code"] == "11779-6")
    assert edd["valueDateTime"] == "2024-09-02"
    assert len(section(pregnancy.bundle, "10162-6")["entry"]) == 2


def test_pregnancy_patient_names_keep_their_uses(pregnancy: Translated) -> None:
    # The source lists the birth name first; the profile's order puts the official name first.
    names = pregnancy.translation.record.patient.names
    assert [(n.use, n.family) for n in names] == [("official", "Probefrau"), ("maiden", "Beispiel")]


def test_several_reference_ranges_say_what_each_is_for(pregnancy: Translated) -> None:
    (haemoglobin,) = pregnancy.translation.record.results
    assert haemoglobin.reference_range == "Female: 12.0-16.0 g/dL; Pregnant: >=11.0 g/dL"
