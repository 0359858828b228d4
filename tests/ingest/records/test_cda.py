"""The eHDSI CDA reader on real and synthetic patient summaries, through reader, profile engine
and IPS builder (``tests/support/records.py``).

Shared samples (read in place): the eHDSI Wave-6 critical test data (13 sections, the
unmappable-code pattern) and the epSOS Italian summary (codice fiscale, ``epsos:`` medication
namespace). Own samples (``data/cda``): an Italian summary with ICD-9-CM diagnoses, a name use,
a procedure period and reference ranges, and a generic one whose sections state that there is
nothing to report (and a result below its detection limit).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from gateway.domain.records import (
    ABSENT_UNKNOWN,
    ATC,
    ICD10,
    LOINC,
    SNOMED,
    UCUM,
    Code,
    Concept,
    DateValue,
    Identifier,
    Quantity,
    Section,
    Sex,
)
from gateway.fhir import canonical
from gateway.profiles.codesystems import EDQM, ICD9CM
from tests.support.fhir_validation import document_errors
from tests.support.records import Translated, translate

DATA = Path(__file__).parent / "data" / "cda"
SAMPLES = Path("conformance") / "national-samples"
W6 = "ehdsi-ps-pivot-L3-W6.xml"
PAOLO = "epsos-ps-pivot-it-paolo.xml"
CODICE_FISCALE = "http://hl7.it/sid/codiceFiscale"
ICD10_EHDSI_OID = "1.3.6.1.4.1.12559.11.10.1.3.1.44.2"


def _shared(shared: Path, name: str, profile: str) -> Translated:
    return translate((shared / SAMPLES / name).read_bytes(), profile)


def _own(name: str, profile: str) -> Translated:
    return translate((DATA / name).read_bytes(), profile)


def _findings(result: Translated) -> list[str]:
    return [str(f) for f in result.translation.findings]


@pytest.fixture(scope="module")
def w6(shared: Path) -> Translated:
    return _shared(shared, W6, "generic-ehdsi-cda")


@pytest.fixture(scope="module")
def paolo(shared: Path) -> Translated:
    return _shared(shared, PAOLO, "it-ehdsi-cda")


@pytest.fixture(scope="module")
def italian() -> Translated:
    return _own("it-ps-icd9cm.xml", "it-ehdsi-cda")


@pytest.fixture(scope="module")
def absent() -> Translated:
    return _own("generic-fr-absent.xml", "generic-ehdsi-cda")


# --- every document is valid ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "profile"),
    [
        (W6, "generic-ehdsi-cda"),
        (W6, "it-ehdsi-cda"),
        (PAOLO, "generic-ehdsi-cda"),
        (PAOLO, "it-ehdsi-cda"),
    ],
)
def test_shared_samples_make_valid_documents(shared: Path, sample: str, profile: str) -> None:
    assert document_errors(_shared(shared, sample, profile).bundle) == []


@pytest.mark.parametrize(
    ("sample", "profile"),
    [
        ("it-ps-icd9cm.xml", "it-ehdsi-cda"),
        ("it-ps-icd9cm.xml", "generic-ehdsi-cda"),
        ("generic-fr-absent.xml", "generic-ehdsi-cda"),
    ],
)
def test_own_samples_make_valid_documents(sample: str, profile: str) -> None:
    assert document_errors(_own(sample, profile).bundle) == []


# --- Wave-6 critical test data ----------------------------------------------------------------


def test_w6_header(w6: Translated) -> None:
    record = w6.translation.record
    assert w6.reading.key == "2.999^111"  # the setId, stable across versions
    assert record.source_date == "2022-06-08T10:49:00+02:00"
    assert record.language == "en-GB"
    patient = record.patient
    # An OID no profile knows is kept as urn:oid:, and the gateway's country applies.
    assert patient.identifiers == (
        Identifier("urn:oid:2.16.17.710.850.1000.990.1.1000", "2-1234-W6"),
    )
    assert patient.country == "DE"
    assert (patient.names[0].family, patient.names[0].given) == ("Ferreira", ("Diana",))
    assert patient.names[0].use is None  # the name has no @use
    assert patient.birth_date == "1982-05-08"
    assert patient.gender is Sex.FEMALE
    assert patient.addresses[0].city == "Lisbon"
    assert patient.addresses[0].country == "PT"
    assert [(t.system, t.value) for t in patient.telecoms] == [
        ("phone", "351211234567"),
        ("email", "paciente@gmail.com"),
    ]
    assert record.author is not None
    assert record.author.name == "Centro Hospitalar de Lisboa Central"
    assert record.author.identifiers == (Identifier("urn:oid:2.999", "12345678"),)
    assert record.custodian == record.author


def test_w6_fills_every_section(w6: Translated) -> None:
    record = w6.translation.record
    counts = {
        "problems": 6,
        "allergies": 4,
        "medications": 5,
        "procedures": 3,
        "devices": 2,
        "past_problems": 2,
        "immunizations": 4,
        "pregnancy": 6,
        "social_history": 2,
        "vital_signs": 2,
        "results": 2,
        "functional_status": 2,
    }
    assert {name: len(getattr(record, name)) for name in counts} == counts
    assert record.notes_for(Section.ADVANCE_DIRECTIVES) == (
        "Narrative text for Advance directive section",
    )
    composition = w6.bundle["entry"][0]["resource"]
    assert {s["code"]["coding"][0]["code"] for s in composition["section"]} == set(Section)


def test_w6_problems_keep_codes_and_narrative(w6: Translated) -> None:
    asthma, *_, nephritis = w6.translation.record.problems
    assert asthma.code == Concept((Code(ICD10, "J45"),), "Predominantly allergic asthma")
    assert asthma.clinical_status == "active"  # problem status observation 55561003
    assert asthma.onset == "1994-10-03"
    assert nephritis.severity == Concept(
        (Code(SNOMED, "371924009", "Moderate to severe"),), "Moderate to severe"
    )


def test_w6_unmappable_code_pattern_is_kept_as_sent_and_reported(w6: Translated) -> None:
    # value nullFlavor="OTH" + a dangling originalText reference + an ICD-9-CM translation.
    problem = w6.translation.record.problems[3]
    assert problem.code == Concept((Code(ICD9CM, "054.3", "Meningoencefalitis herpetica"),))
    found = _findings(w6)
    assert (
        "/ClinicalDocument/component/structuredBody/component[4]/section/entry[4]/act/"
        "entryRelationship/observation/value/originalText: originalText reference #ref1 is not "
        "in the narrative"
    ) in found
    assert f"problems[3].code: no EU coding (only {ICD9CM}): kept as sent" in found
    condition = next(e["resource"] for e in w6.bundle["entry"] if _has_code(e, "054.3"))
    assert condition["code"]["coding"] == [
        {"system": ICD9CM, "code": "054.3", "display": "Meningoencefalitis herpetica"}
    ]


def test_w6_icd9cm_translation_gains_icd10_through_the_italian_map(shared: Path) -> None:
    result = _shared(shared, W6, "it-ehdsi-cda")
    assert result.translation.record.problems[3].code.codings == (
        Code(ICD10, "B00.4", "Herpesviral encephalitis"),
        Code(ICD9CM, "054.3", "Meningoencefalitis herpetica"),
    )
    assert not any(f.startswith("problems[3]") for f in _findings(result))


def test_w6_past_problems_end_with_their_status(w6: Translated) -> None:
    carcinoma, diabetes = w6.translation.record.past_problems
    assert carcinoma.clinical_status == "inactive"  # problem status observation 73425007
    assert (carcinoma.onset, carcinoma.abatement) == ("1997-10-01", "1997-10-06")
    assert diabetes.clinical_status == "resolved"  # the concern is completed
    assert diabetes.code.text == "Diabetes mellitus arising in pregnancy"


def test_w6_allergies(w6: Translated) -> None:
    kiwi, lactose, aspirin, latex = w6.translation.record.allergies
    assert kiwi.code == Concept((Code(SNOMED, "260176001"),), "Kiwi fruit")
    assert (kiwi.clinical_status, kiwi.verification, kiwi.criticality) == (
        "active",
        "confirmed",
        "low",
    )
    assert kiwi.onset == "1990-01-10"
    assert kiwi.reactions == (Concept((Code(SNOMED, "43116000"),), "Eczema"),)
    assert lactose.criticality == "high"
    assert aspirin.code.codings == (Code(ATC, "N02BA01"),)
    assert aspirin.onset == "1994"  # year precision kept
    assert aspirin.clinical_status == "resolved"
    assert latex.clinical_status == "inactive"
    # 420134006 "propensity to adverse reactions" says neither type nor category.
    assert kiwi.type is None
    assert kiwi.category is None


def test_w6_medications(w6: Translated) -> None:
    eutirox, triapin, tresiba, augmentin, combivent = w6.translation.record.medications
    # A single-ingredient product: the ingredient's ATC names the medicine; the brand is the text.
    assert eutirox.medication == Concept((Code(ATC, "H03AA01"),), "Eutirox")
    assert eutirox.route == Concept((Code(EDQM, "20053000"),), "Oral use")
    assert eutirox.dosage is not None
    assert eutirox.dosage.startswith("Eutirox : levothyroxine")
    # Combinations: the ATC class of pharm:asSpecializedKind.
    assert triapin.medication.codings == (Code(ATC, "C09BB05"),)
    assert combivent.medication.codings == (Code(ATC, "R03AL02"),)
    assert tresiba.route is not None
    assert tresiba.route.coding(EDQM) == Code(EDQM, "20066000")
    assert (augmentin.start, augmentin.end) == ("2017-05-07", "2017-05-21")
    assert {m.status for m in w6.translation.record.medications} == {"active"}


def test_w6_immunizations(w6: Translated) -> None:
    hepatitis, _, _, papilloma = w6.translation.record.immunizations
    assert hepatitis.vaccine == Concept((Code(SNOMED, "34689006"),), "Hepatitis B virus vaccine")
    assert (hepatitis.date, hepatitis.status, hepatitis.lot_number) == (
        "1983-01-02",
        "completed",
        "1",
    )
    # statusCode cancelled, effectiveTime nullFlavor NA: not done, no date.
    assert (papilloma.status, papilloma.date) == ("not-done", None)


def test_w6_procedures_and_devices(w6: Translated) -> None:
    heart, section, _ = w6.translation.record.procedures
    assert heart.code == Concept((Code(SNOMED, "64253000"),), "Implantation of heart assist system")
    assert heart.body_site == Concept((Code(SNOMED, "76552005", "skin structure of shoulder"),))
    assert (section.date, section.end, section.status) == ("2012-04-14", None, "completed")
    defibrillator, screw = w6.translation.record.devices
    assert (defibrillator.status, defibrillator.start, defibrillator.end) == (
        "active",
        "2014-10-20",
        None,
    )
    assert (screw.status, screw.end) == ("completed", "2022-06-08")
    assert screw.device == Concept((Code(SNOMED, "68183006"),))  # its reference dangles


def test_w6_observations(w6: Translated) -> None:
    record = w6.translation.record
    status, due, live, _, delivery, _ = record.pregnancy
    assert status.value == Concept((Code(SNOMED, "77386006", "Pregnant"),))
    # A TS value is a date, no longer a string.
    assert (due.code.codings[0].code, due.value) == ("11778-8", DateValue("2023-02-14"))
    assert (live.code.codings[0].code, live.value) == ("281050002", 2)  # an INT value
    assert delivery.effective == "2022-06-16"
    diastolic, systolic = record.vital_signs
    assert diastolic.value == Quantity(Decimal("110"), "mm[Hg]", UCUM, "mm[Hg]")
    assert (systolic.code.codings, systolic.effective) == ((Code(LOINC, "8480-6"),), "2017-05-06")
    tobacco, _ = record.social_history
    assert tobacco.value == Quantity(Decimal("0.5"), "{pack}/d", UCUM, "{pack}/d")
    assert tobacco.effective == "2017-04-15"
    blood_group, imaging = record.results
    assert blood_group.value == Concept(
        (Code(SNOMED, "278147001", "Blood group O Rh(D) positive"),)
    )
    assert imaging.note == "Comment line"
    assert imaging.status == "unknown"  # <statusCode/> without a code
    mobility, _ = record.functional_status
    assert mobility.code.codings == (
        Code("urn:oid:1.2.3", "b710.1", "MILD impairment for mobility of joint"),
    )
    assert mobility.onset == "2022-06-13"  # the organizer's time


def test_w6_expected_delivery_date_is_a_date_time_claiming_the_ips_edd_profile(
    w6: Translated,
) -> None:
    resource = next(e["resource"] for e in w6.bundle["entry"] if _has_code(e, "11778-8"))
    assert resource["valueDateTime"] == "2023-02-14"
    assert "valueString" not in resource
    assert resource["meta"]["profile"] == [canonical.PREGNANCY_EDD]


# --- the epSOS Italian sample -----------------------------------------------------------------


def test_paolo_header(paolo: Translated) -> None:
    record = paolo.translation.record
    assert paolo.reading.key == "2.16.840.1.113883.19.5.99999.1^TB1"  # no setId: the id
    assert record.source_date == "2014-05-01"
    assert record.patient.identifiers == (Identifier(CODICE_FISCALE, "CRRPLA47H13A794V"),)
    assert record.patient.country == "IT"
    assert record.patient.gender is Sex.MALE
    assert record.patient.birth_date == "1947-06-13"
    assert record.patient.telecoms == ()  # telecom nullFlavor="NI"
    assert record.author is not None
    assert record.author.country == "IT"


def test_paolo_entries(paolo: Translated) -> None:
    record = paolo.translation.record
    (hypertension,) = record.problems
    assert hypertension.code == Concept(
        (Code(ICD10, "I10", "Essential (primary) hypertension"),), "Hypertension"
    )
    assert hypertension.onset == "2008-01"  # month precision kept
    (allergy,) = record.allergies
    assert (allergy.type, allergy.category) == ("allergy", "medication")  # 416098002
    assert allergy.code == Concept((Code(ATC, "D10AF02", "erythromycin"),), "Erythromycon")
    # The epSOS medication namespace; the narrative cell that repeats the code is no text.
    (metoprolol,) = record.medications
    assert metoprolol.medication == Concept((Code(ATC, "C07AB02", "metoprolol"),))
    # supply nullFlavor="NA", code nullFlavor="NA": the patient uses no device.
    (device,) = record.devices
    assert device.device == Concept(
        (Code(ABSENT_UNKNOWN, "no-known-devices", "No known devices in use"),), "No Devices Used"
    )
    fracture = record.past_problems[1]
    assert (fracture.onset, fracture.abatement) == ("2007-12-12", None)  # high nullFlavor UNK


# --- the synthetic Italian sample -------------------------------------------------------------


def test_italian_header_uses_the_profile_timezone(italian: Translated) -> None:
    record = italian.translation.record
    assert italian.reading.key == "2.16.840.1.113883.19.5.99^PSS-TEST-0001"
    assert record.source_date == "2024-03-15T10:30:00+01:00"  # written without zone: Rome
    assert record.results[0].effective == "2024-03-01T08:15:00+01:00"
    assert record.language == "it-IT"
    assert record.patient.identifiers == (Identifier(CODICE_FISCALE, "RSSMRA80A01H501U"),)
    # name use="L" (legal) is the usual name, as HL7 C-CDA on FHIR maps it.
    assert record.patient.names[0].use == "usual"
    patient = next(e["resource"] for e in italian.bundle["entry"] if _is(e, "Patient"))
    assert patient["name"][0]["use"] == "usual"
    assert record.custodian is not None
    assert record.custodian.identifiers == (
        Identifier("urn:ietf:rfc:3986", "urn:oid:2.16.840.1.113883.19.5.4"),
    )


def test_italian_icd9cm_diagnoses_gain_icd10(italian: Translated) -> None:
    hypertension, diabetes, arthrosis = italian.translation.record.problems
    # OTH + originalText + translation: the ICD-10 coding goes first, the national one stays.
    assert hypertension.code == Concept(
        (
            Code(ICD10, "I10", "Essential (primary) hypertension"),
            Code(ICD9CM, "401.9", "Ipertensione essenziale non specificata"),
        ),
        "Ipertensione essenziale",
    )
    assert (hypertension.clinical_status, hypertension.verification) == ("active", "confirmed")
    assert diabetes.code.codings[0] == Code(
        ICD10, "E11.9", "Type 2 diabetes mellitus without complications"
    )
    assert diabetes.onset == "2018-03"
    assert arthrosis.code == Concept((Code(ICD9CM, "715.96"),), "Artrosi del ginocchio")
    found = _findings(italian)
    assert f"problems[2].code: {ICD9CM}|715.96 is not in ItIcd9cmToIcd10" in found
    assert f"problems[2].code: no EU coding (only {ICD9CM}): kept as sent" in found
    asthma, _hypothyroidism = italian.translation.record.past_problems
    assert asthma.code.codings[0] == Code(ICD10, "J45.9", "Asthma, unspecified")
    assert (asthma.clinical_status, asthma.abatement) == ("resolved", "2005")


def test_an_end_date_makes_an_active_problem_inactive(italian: Translated) -> None:
    hypothyroidism = italian.translation.record.past_problems[1]
    assert (hypothyroidism.clinical_status, hypothyroidism.abatement) == ("inactive", "2012")
    assert (
        "/ClinicalDocument/component/structuredBody/component[2]/section/entry[2]/act/"
        "entryRelationship/observation: a problem with an end date but no inactive status: "
        "taken as inactive"
    ) in _findings(italian)


def test_italian_entries(italian: Translated) -> None:
    record = italian.translation.record
    (allergy,) = record.allergies
    assert allergy.code == Concept((Code(ATC, "J01CA04", "amoxicillin"),), "Amoxicillina")
    assert (allergy.criticality, allergy.verification, allergy.onset) == (
        "high",
        "confirmed",
        "2001",
    )
    assert allergy.reactions == (Concept(text="Orticaria"),)  # nullFlavor OTH with a text
    metformin, amoxicillin = record.medications
    assert metformin.medication == Concept(
        (Code(ATC, "A10BA02", "metformin"),), "Metformina Test 500 mg"
    )
    assert metformin.dosage == "1 every 24 h"  # no narrative: the structured dose, written out
    assert metformin.route == Concept((Code(EDQM, "20053000", "Oral use"),), "Uso orale")
    assert amoxicillin.medication == Concept((Code(ATC, "J01CA04"),), "amoxicillina")
    assert (amoxicillin.status, amoxicillin.end) == ("completed", "2023-01-20")
    (vaccine,) = record.immunizations
    assert (vaccine.date, vaccine.lot_number) == ("2023-10-20", "TEST-LOT-1")
    weight, height = record.vital_signs
    assert weight.effective == "2024-03-01"  # from the organizer
    assert height.value == Quantity(Decimal("178"), "cm", UCUM, "cm")
    hba1c, _creatinine = record.results
    assert hba1c.interpretation is not None
    assert hba1c.interpretation.codings[0].code == "H"
    assert hba1c.note == "Valore sopra l'obiettivo terapeutico"
    assert record.notes_for(Section.ADVANCE_DIRECTIVES) == (
        "Nessuna disposizione anticipata di trattamento depositata.",
    )
    assert (
        "/ClinicalDocument/component/structuredBody/component[11]/section: section 18776-5 is "
        "not in the profile: not read"
    ) in _findings(italian)


def test_italian_reference_ranges_as_bounds_and_as_narrative(italian: Translated) -> None:
    hba1c, creatinine = italian.translation.record.results
    assert hba1c.reference_range == "4.0-6.0 %"  # IVL_PQ bounds, written out
    assert creatinine.reference_range == "0,7 - 1,2 mg/dL"  # the narrative text wins
    assert creatinine.value == Quantity(Decimal("0.9"), "mg/dL", UCUM, "mg/dL")
    resource = next(e["resource"] for e in italian.bundle["entry"] if _has_code(e, "4548-4"))
    assert resource["referenceRange"] == [{"text": "4.0-6.0 %"}]


def test_a_course_of_procedures_keeps_its_period(italian: Translated) -> None:
    appendectomy, physiotherapy = italian.translation.record.procedures
    assert (appendectomy.date, appendectomy.end) == ("1998", None)
    assert physiotherapy.code == Concept(
        (Code(SNOMED, "91251008", "Physical therapy procedure"),),
        "Ciclo di fisioterapia per gonartrosi",
    )
    assert (physiotherapy.date, physiotherapy.end) == ("2024-01-08", "2024-02-16")
    resource = next(e["resource"] for e in italian.bundle["entry"] if _has_code(e, "91251008"))
    assert resource["performedPeriod"] == {"start": "2024-01-08", "end": "2024-02-16"}
    assert "performedDateTime" not in resource
    single = next(e["resource"] for e in italian.bundle["entry"] if _has_code(e, "80146002"))
    assert single["performedDateTime"] == "1998"


def test_explicit_absent_unknown_codes_are_read_as_codes(italian: Translated) -> None:
    (device,) = italian.translation.record.devices
    assert device.device.codings == (
        Code(ABSENT_UNKNOWN, "no-device-info", "No information about devices"),
    )


# --- absent data, the generic profile ---------------------------------------------------------


def test_generic_profile_takes_the_country_from_the_identifier(absent: Translated) -> None:
    patient = absent.translation.record.patient
    assert patient.identifiers == (Identifier("urn:oid:1.2.250.1.213.1.4.10", "185077512345608"),)
    assert patient.country == "FR"
    assert patient.names[0].given == ("Jean", "Paul")
    assert absent.reading.key == "2.16.840.1.113883.19.5.10^PS-FR-TEST-1"
    assert absent.translation.record.author is None  # an authoring device, no organisation
    assert (
        "/ClinicalDocument/recordTarget/patientRole/id[2]: a patient id needs a root and an "
        "extension: left out"
    ) in _findings(absent)


@pytest.mark.parametrize(
    ("attribute", "field", "code", "text"),
    [
        ("problems", "code", "no-problem-info", "Pas d'information sur les problèmes de santé"),
        ("allergies", "code", "no-known-allergies", "Aucune allergie connue"),
        ("procedures", "code", "no-procedure-info", "Actes antérieurs inconnus"),
        ("devices", "device", "no-known-devices", "Aucun dispositif médical"),
        ("medications", "medication", "no-known-medications", None),
    ],
)
def test_absent_entries_state_the_ips_absent_unknown_code(
    absent: Translated, attribute: str, field: str, code: str, text: str | None
) -> None:
    (item,) = getattr(absent.translation.record, attribute)
    concept = getattr(item, field)
    assert [(c.system, c.code) for c in concept.codings] == [(ABSENT_UNKNOWN, code)]
    assert concept.text == text


def test_absent_sample_findings_and_values(absent: Translated) -> None:
    record = absent.translation.record
    assert record.immunizations == ()
    found = _findings(absent)
    assert (
        "/ClinicalDocument/component/structuredBody/component[4]/section: section for "
        "immunizations has narrative text only: not read"
    ) in found
    report, glucose, _crp = record.results
    assert report.value == "Résultats dans les normes"  # an ST value
    # A range has no single value: FHIR's Range is not in the record model.
    assert (glucose.value, glucose.status) == (None, "preliminary")
    assert (
        "/ClinicalDocument/component/structuredBody/component[7]/section/entry[2]/observation/"
        "value: an observation value that is a range (IVL_PQ with two bounds): not read"
    ) in found
    (smoking,) = record.social_history
    assert smoking.effective == "2024-01-01"  # a time without zone, and no profile timezone
    assert record.medications[0].dosage == "Aucun traitement en cours"


def test_a_result_below_its_detection_limit_has_a_comparator(absent: Translated) -> None:
    # IVL_PQ with only <high value="5" inclusive="false"/>: "below 5", no longer "not read".
    crp = absent.translation.record.results[2]
    assert crp.value == Quantity(Decimal("5"), "mg/L", UCUM, "mg/L", "<")
    assert crp.reference_range == "<=5 mg/L"  # an inclusive bound, low NINF
    assert not any("entry[3]" in f for f in _findings(absent))
    resource = next(e["resource"] for e in absent.bundle["entry"] if _has_code(e, "1988-5"))
    assert resource["valueQuantity"] == {
        "comparator": "<",
        "value": 5,
        "unit": "mg/L",
        "system": UCUM,
        "code": "mg/L",
    }
    assert resource["referenceRange"] == [{"text": "<=5 mg/L"}]


def _is(entry: dict[str, object], resource_type: str) -> bool:
    resource = entry["resource"]
    assert isinstance(resource, dict)
    return resource.get("resourceType") == resource_type


def _has_code(entry: dict[str, object], code: str) -> bool:
    resource = entry["resource"]
    assert isinstance(resource, dict)
    codings = resource.get("code", {}).get("coding", [])
    return any(c.get("code") == code for c in codings)
