"""The HL7 v2 reader on real and synthetic messages, through the engine and the IPS builder.

Two shared samples (``../shared/conformance/national-samples/``, Microsoft FHIR-Converter, read
in place) go through the generic profile: a dense US-style ADT^A01 v2.8 with LF separators and
an ORU^R01 v2.5 lab message that starts with a UTF-8 BOM. The French samples under
``data/hl7v2/`` are synthetic IHE PAM France 2.11 messages (invented people, synthetic INS-NIR
numbers with valid mod-97 keys): ``fr-adt-a01.hl7`` (ISO 8859-1, CR), ``fr-adt-a04.hl7`` (UTF-8,
CRLF, INS in the test namespace, identity not yet qualified), ``fr-adt-a08.hl7`` (UTF-8, LF, an
update of the A01 patient), ``fr-oru-r01.hl7`` and ``fr-oru-r01-corrected.hl7`` (UTF-8, CR, local
lab codes translated by ``fr-lab-local-to-loinc``), and ``fr-adt-a01-ins-wrong-key.hl7``.
Every document must pass the independent checks of ``tests/support/fhir_validation.py``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.records import ATC, ICD10, LOINC, SNOMED, UCUM, Code, Concept, Quantity, Sex
from gateway.errors import RecordRejected
from tests.support.fhir_validation import document_errors
from tests.support.records import Translated, translate

DATA = Path(__file__).parent / "data" / "hl7v2"
FRANCE = "fr-hl7v2-pam"
GENERIC = "generic-hl7v2"
INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
INS_NIR_TEST = "urn:oid:1.2.250.1.213.1.4.10"
HOSPITAL = "urn:oid:2.999.250.1"  # the samples' hospital (an OID under the 2.999 example arc)
LOCAL_LAB = "https://gateway.example.eu/fhir/CodeSystem/fr-lab-local"
V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
FRENCH = (
    "fr-adt-a01.hl7",
    "fr-adt-a04.hl7",
    "fr-adt-a08.hl7",
    "fr-oru-r01.hl7",
    "fr-oru-r01-corrected.hl7",
)


def french(name: str, profile: str = FRANCE) -> Translated:
    return translate((DATA / name).read_bytes(), profile)


def findings(result: Translated) -> list[str]:
    return [str(f) for f in result.translation.findings]


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = (entry["resource"] for entry in bundle["entry"])
    return [resource for resource in found if resource["resourceType"] == kind]


@pytest.fixture(scope="module")
def shared_samples(shared: Path) -> Path:
    return shared / "conformance" / "national-samples"


@pytest.fixture(scope="module")
def shared_adt(shared_samples: Path) -> Translated:
    return translate((shared_samples / "hl7v2-adt-a01-v28.hl7").read_bytes(), GENERIC)


@pytest.fixture(scope="module")
def shared_oru(shared_samples: Path) -> Translated:
    return translate((shared_samples / "hl7v2-oru-r01-lab-loinc.hl7").read_bytes(), GENERIC)


# --- every sample: a valid IPS document ---------------------------------------------------------


@pytest.mark.parametrize("name", ["hl7v2-adt-a01-v28.hl7", "hl7v2-oru-r01-lab-loinc.hl7"])
def test_shared_samples_make_valid_documents(shared_samples: Path, name: str) -> None:
    result = translate((shared_samples / name).read_bytes(), GENERIC)
    assert document_errors(result.bundle) == []


@pytest.mark.parametrize("name", FRENCH)
def test_french_samples_make_valid_documents(name: str) -> None:
    result = french(name)
    assert document_errors(result.bundle) == []
    assert result.translation.record.patient.country == "FR"


# --- the shared ADT^A01 (generic profile) -------------------------------------------------------


def test_shared_adt_patient(shared_adt: Translated) -> None:
    record = shared_adt.translation.record
    patient = record.patient
    assert shared_adt.reading.key == "adt"
    assert [(i.system, i.value) for i in patient.identifiers] == [
        # test1&2.16.1&HCD: not an ISO OID, so the namespace names a gateway-local system
        ("https://gateway.example.eu/fhir/sid/hl7v2-authority/test1", "PATID1234"),
        ("http://hl7.org/fhir/sid/us-ssn", "123456789"),  # USSSA, from the profile's table
    ]
    # XPN-7 D (customary) and L (official registry) through the v2-to-FHIR NameUse map
    assert [(n.family, n.given, n.use) for n in patient.names] == [
        ("EVERYMAN", ("ADAM", "A"), "usual"),
        ("Josh", ("stanley",), "official"),
    ]
    assert patient.birth_date == "1988-08-18"  # a birth time, cut to the sender's day
    assert patient.gender is Sex.MALE
    (address,) = patient.addresses
    assert address.lines == ("1000 Hospital Lane", "Ste. 123")
    assert (address.city, address.postal_code, address.country) == ("Ann Arbor", "99999", "US")
    assert ("phone", "12121212") in {(t.system, t.value) for t in patient.telecoms}
    # no country in the profile, none from the identifiers: the gateway's own
    assert patient.country == "DE"
    assert record.source_date == "1989-08-18T11:26:00+02:15"  # MSH-7 keeps its odd offset
    assert record.language == "en-US"
    assert record.author is not None
    assert record.author.name == "GHHSFacility"
    assert [str(i) for i in record.author.identifiers] == [
        "urn:ietf:rfc:3986|urn:oid:2.16.840.1.122848.1.30"
    ]


def test_shared_adt_country_is_the_gateways_own(shared_samples: Path) -> None:
    data = (shared_samples / "hl7v2-adt-a01-v28.hl7").read_bytes()
    assert translate(data, GENERIC, country="FR").translation.record.patient.country == "FR"


def test_shared_adt_clinical_segments(shared_adt: Translated) -> None:
    record = shared_adt.translation.record
    (problem,) = record.problems
    assert problem.code == Concept(
        (Code(SNOMED, "422504002", "Ischemic stroke(disorder)"),), "Stroke"
    )
    assert problem.onset == "2004-01-25T11:40:25+04:20"
    (allergy,) = record.allergies
    # ICDO is not a coding system the profile names: the allergen is kept as text, reported
    assert allergy.code == Concept(text="PENICILLIN")
    assert (allergy.category, allergy.criticality, allergy.onset) == (
        "environment",
        "low",
        "2021-08-24",
    )
    assert allergy.reactions == (Concept(text="CODE16"),)
    (procedure,) = record.procedures
    assert procedure.code.coding(SNOMED) == Code(SNOMED, "76164006", "Biopsy of colon (procedure)")
    assert procedure.code.text == "Biopsy of colon, which was part of colonoscopy"
    # PR1-7: 2 procedure minutes after PR1-5, as v2-to-FHIR builds performedPeriod.end
    assert (procedure.date, procedure.end) == (
        "2005-01-25T11:40:00+01:00",
        "2005-01-25T11:42:00+01:00",
    )
    assert (
        "AL1-3: coding system ICDO is not one the profile or HL7 table 0396 names: kept as text"
        in findings(shared_adt)
    )
    assert "allergies[0].code: no coding, only text: kept as text" in findings(shared_adt)


def test_shared_adt_in_the_document(shared_adt: Translated) -> None:
    (patient,) = resources(shared_adt.bundle, "Patient")
    assert [(n.get("use"), n["family"]) for n in patient["name"]] == [
        ("usual", "EVERYMAN"),
        ("official", "Josh"),
    ]
    (procedure,) = resources(shared_adt.bundle, "Procedure")
    assert procedure["performedPeriod"] == {
        "start": "2005-01-25T11:40:00+01:00",
        "end": "2005-01-25T11:42:00+01:00",
    }
    assert "performedDateTime" not in procedure


# --- the shared ORU^R01 (generic profile) -------------------------------------------------------


def test_shared_oru_results(shared_oru: Translated) -> None:
    record = shared_oru.translation.record
    assert shared_oru.reading.key == "oru:82503246"  # the first OBR's filler order number
    assert record.source_date == "2014-10-06T06:45:00+07:00"
    assert [r.code.codings[0].code for r in record.results] == [
        "11156-7", "11273-0", "20509-6", "20570-8", "11125-2",
        "23761-0", "26450-7", "26478-8", "26485-3", "30180-4",
    ]  # fmt: skip
    assert all(r.code.codings[0].system == LOINC for r in record.results)
    pending, erythrocytes = record.results[0], record.results[1]
    assert (pending.status, pending.value, pending.effective) == ("registered", None, None)
    # tera.l-1 names no unit system: the unit is kept as text, not claimed as UCUM
    assert erythrocytes.value == Quantity(Decimal("4.06"), "tera.l-1")
    assert erythrocytes.status == "preliminary"
    assert erythrocytes.effective == "2014-10-06T06:27:00+07:00"
    assert erythrocytes.interpretation == Concept((Code(V3_INTERPRETATION, "N"),))
    assert {r.reference_range for r in record.results} == {None}  # no OBX-7 in this sample
    assert record.results[4].status == "final"
    assert record.patient.identifiers[0].value == "10006579"
    assert record.patient.birth_date == "1924-10-10"


def test_shared_oru_pending_results_say_their_value_is_absent(shared_oru: Translated) -> None:
    observations = resources(shared_oru.bundle, "Observation")
    pending = next(o for o in observations if o["code"]["coding"][0]["code"] == "11156-7")
    assert pending["status"] == "registered"
    assert "valueQuantity" not in pending
    assert pending["dataAbsentReason"]["coding"][0]["code"] == "unknown"


# --- IHE PAM France (fr-hl7v2-pam) --------------------------------------------------------------


def test_french_admission_reads_the_ins_and_the_identity_traits() -> None:
    result = french("fr-adt-a01.hl7")
    patient = result.translation.record.patient
    assert [(i.system, i.value) for i in patient.identifiers] == [
        (HOSPITAL, "IPP0012345"),
        (INS_NIR, "185077512345608"),
    ]
    # ISO 8859-1 as MSH-18 declares; birth name (L, official) before used name (D, usual);
    # XPN-3 lists every given name, the first one included
    assert [(n.family, n.given, n.use) for n in patient.names] == [
        ("LÉGER", ("Rémi", "Étienne"), "official"),
        ("LÉGER-DUVAL", ("Rémi",), "usual"),
    ]
    assert patient.birth_date == "1985-07-14"
    assert patient.gender is Sex.MALE
    # the place of birth (BDL) is not an address
    (address,) = patient.addresses
    assert (address.lines, address.city, address.postal_code, address.country) == (
        ("12 rue des Églantiers",),
        "Lyon",
        "69003",
        "FR",
    )
    assert [(t.system, t.value) for t in patient.telecoms] == [
        ("phone", "0639980101"),
        ("email", "remi.leger@example.org"),
        ("phone", "0465710101"),
    ]
    assert patient.country == "FR"


def test_french_admission_header_and_clinical_segments() -> None:
    result = french("fr-adt-a01.hl7")
    record = result.translation.record
    assert result.reading.key == "adt"
    assert record.source_date == "2024-03-12T10:15:00+01:00"  # Europe/Paris, winter time
    assert record.language == "fr"
    assert record.author is not None
    assert (record.author.name, str(record.author.identifiers[0])) == (
        "CH-EXEMPLE",
        "urn:ietf:rfc:3986|urn:oid:2.999.250.1",
    )
    (problem,) = record.problems
    assert problem.code == Concept(
        (Code(ICD10, "I10", "Hypertension essentielle (primitive)"),), "Hypertension artérielle"
    )
    assert problem.onset == "2019-04-01"
    (allergy,) = record.allergies
    assert allergy.code.codings == (Code(ATC, "J01CA04", "amoxicilline"),)
    assert (allergy.clinical_status, allergy.category, allergy.criticality) == (
        "active",
        "medication",
        "high",
    )
    assert allergy.reactions == (Concept(text="urticaire généralisée"),)
    assert findings(result) == ["allergies[0].reactions[0]: no coding, only text: kept as text"]
    (patient,) = resources(result.bundle, "Patient")
    assert [n["use"] for n in patient["name"]] == ["official", "usual"]
    conditions = resources(result.bundle, "Condition")
    assert conditions[0]["code"]["coding"][0] == {
        "system": ICD10,
        "code": "I10",
        "display": "Hypertension essentielle (primitive)",
    }


def test_french_registration_in_the_ins_test_namespace_and_not_yet_qualified() -> None:
    result = french("fr-adt-a04.hl7")
    record = result.translation.record
    # ASIP-SANTE-INS-NIR names the authority, but its OID is the test namespace's: the OID wins
    assert record.patient.identifiers[1].system == INS_NIR_TEST
    assert record.source_date == "2024-04-02T08:30:00+02:00"  # summer time
    assert [(n.family, n.given, n.use) for n in record.patient.names] == [
        ("BERTRAND", ("Chloé", "Anaïs"), "official"),
        ("MOREAU", ("Chloé",), "usual"),
    ]
    assert record.patient.gender is Sex.FEMALE
    assert record.problems[0].code.codings == (
        Code(ICD10, "E11.9", "Diabète sucré de type 2, sans complication"),
    )
    assert findings(result) == [
        "PID-3(2): identity status PROV (PID-32) does not qualify the INS identifier: "
        "kept, but not qualified"
    ]


def test_french_update_supersedes_the_admission() -> None:
    admission, update = french("fr-adt-a01.hl7"), french("fr-adt-a08.hl7")
    assert update.reading.key == admission.reading.key == "adt"
    before, after = admission.translation.record, update.translation.record
    # the same key, a later MSH-7: the store keeps the update
    assert (before.source_date, after.source_date) == (
        "2024-03-12T10:15:00+01:00",
        "2024-03-20T16:30:00+01:00",
    )
    assert after.patient.identifiers == before.patient.identifiers
    assert after.patient.addresses[0].city == "Villeurbanne"


def test_french_lab_results_get_loinc_beside_the_local_codes() -> None:
    result = french("fr-oru-r01.hl7")
    record = result.translation.record
    assert result.reading.key == "oru:LAB-240313-0042^LABO-CH-EXEMPLE"
    assert record.author is not None
    assert record.author.name == "LABO-CH-EXEMPLE"
    glucose, haemoglobin, creatinine, crp, abo, esr, potassium = record.results
    # the engine puts the EU coding first and keeps the national one
    assert glucose.code.codings == (
        Code(LOINC, "2345-7", "Glucose [Mass/volume] in Serum or Plasma"),
        Code(LOCAL_LAB, "GLY", "Glycémie"),
    )
    assert glucose.value == Quantity(Decimal("0.95"), "g/L", UCUM, "g/L")
    assert glucose.effective == "2024-03-13T07:30:00+01:00"
    assert glucose.note == "Patient à jeun depuis 12 heures"
    assert glucose.reference_range == "0.70-1.10"  # OBX-7, as the laboratory wrote it
    assert haemoglobin.code.codings[0].code == "718-7"
    assert creatinine.value == Quantity(Decimal("78"), "µmol/L", UCUM, "umol/L")
    # SN <^5: below the limit of detection, a quantity with its comparator (no longer text)
    assert crp.value == Quantity(Decimal("5"), "mg/L", UCUM, "mg/L", comparator="<")
    assert crp.reference_range == "<5"
    assert abo.code.codings[0] == Code(LOINC, "883-9", "ABO group [Type] in Blood")
    assert abo.value == Concept((Code(LOCAL_LAB, "A", "Groupe A"),))
    assert abo.effective == "2024-03-13T07:30:00+01:00"  # no OBX-14: OBR-7
    assert esr.code.codings == (Code(LOCAL_LAB, "VS", "Vitesse de sédimentation"),)
    assert (abo.reference_range, esr.reference_range) == (None, "<20")
    assert (potassium.status, potassium.note) == (
        "preliminary",
        "Prélèvement hémolysé : à contrôler",
    )
    assert potassium.interpretation == Concept((Code(V3_INTERPRETATION, "H"),))
    reported = findings(result)
    assert f"results[5].code: {LOCAL_LAB}|VS is not in FrLabLocalToLoinc" in reported
    assert f"results[5].code: no EU coding (only {LOCAL_LAB}): kept as sent" in reported
    assert f"results[4].value: no EU coding (only {LOCAL_LAB}): kept as sent" in reported


def test_french_lab_results_in_the_document() -> None:
    observations = resources(french("fr-oru-r01.hl7").bundle, "Observation")
    by_code = {o["code"]["coding"][-1]["code"]: o for o in observations}
    assert by_code["GLY"]["code"]["coding"][0]["system"] == LOINC
    assert by_code["GLY"]["valueQuantity"] == {
        "value": 0.95,
        "unit": "g/L",
        "system": UCUM,
        "code": "g/L",
    }
    assert by_code["GLY"]["referenceRange"] == [{"text": "0.70-1.10"}]
    assert by_code["CRP"]["valueQuantity"] == {
        "value": 5,
        "comparator": "<",
        "unit": "mg/L",
        "system": UCUM,
        "code": "mg/L",
    }
    assert "valueString" not in by_code["CRP"]
    assert "referenceRange" not in by_code["ABO"]
    assert by_code["K"]["note"] == [{"text": "Prélèvement hémolysé : à contrôler"}]


def test_a_corrected_result_supersedes_the_first() -> None:
    first, corrected = french("fr-oru-r01.hl7"), french("fr-oru-r01-corrected.hl7")
    assert corrected.reading.key == first.reading.key
    record = corrected.translation.record
    assert first.translation.record.source_date == "2024-03-13T09:15:00+01:00"
    assert record.source_date == "2024-03-13T14:30:00+01:00"
    (potassium,) = record.results  # the deleted (D) result is left out
    assert (potassium.status, potassium.value) == (
        "corrected",
        Quantity(Decimal("4.6"), "mmol/L", UCUM, "mmol/L"),
    )
    assert "OBX(2)-11: result status D: left out" in findings(corrected)


def test_a_wrong_ins_nir_key_is_refused_by_the_french_profile() -> None:
    with pytest.raises(RecordRejected) as caught:
        french("fr-adt-a01-ins-wrong-key.hl7")
    assert caught.value.location == "patient.identifiers[1]"
    assert INS_NIR in caught.value.detail
    assert "185077512345609" not in str(caught.value)


def test_a_wrong_ins_nir_key_only_warns_without_the_french_rules() -> None:
    # The generic profile has no INS rule: the engine still checks the INS by its OID, but a
    # failure is a warning there. Rejecting is the French profile's decision.
    result = french("fr-adt-a01-ins-wrong-key.hl7", GENERIC)
    assert result.translation.record.patient.country == "FR"  # from the INS system
    assert any(f.startswith(f"patient.identifiers[1]: {INS_NIR}: ") for f in findings(result))
    assert document_errors(result.bundle) == []
