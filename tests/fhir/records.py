"""Synthetic patient records for the document tests: invented people, valid test identifiers.

Identifiers are the verified examples of ``reference/national-records.md`` §2; codes come
from the official IPS examples (SNOMED kept to the few codes they use) or LOINC, ICD-10, ATC.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.domain.records import (
    ATC,
    ICD10,
    LOINC,
    SNOMED,
    UCUM,
    Address,
    Allergy,
    Code,
    Component,
    Concept,
    DeviceUse,
    HumanName,
    Identifier,
    Immunization,
    MedicationUse,
    Note,
    Observation,
    Organization,
    Patient,
    PatientRecord,
    Problem,
    Procedure,
    Quantity,
    Section,
    Sex,
    Telecom,
)

KVNR = "http://fhir.de/sid/gkv/kvid-10"
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"
CODICE_FISCALE = "http://hl7.it/sid/codiceFiscale"
ICD10_GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
PZN = "http://fhir.de/CodeSystem/ifa/pzn"
EDQM = "http://standardterms.edqm.eu"
TELEMATIK_ID = "https://gematik.de/fhir/sid/telematik-id"  # German organisation ids

# A national code with no EU translation (ICD-10-GM's fifth character), kept as it came.
UNMAPPED = Code(ICD10_GM, "E11.90", "Diabetes mellitus, Typ 2, ohne Komplikationen")
UNMAPPED_TEXT = "Diabetes mellitus Typ 2 (Hausarztdiagnose)"
HOSTILE = '<script>alert("x")</script> & \'quoted\' "text" \x07bell'


def _patient(**changes: object) -> Patient:
    fields: dict[str, object] = {
        "identifiers": (Identifier(KVNR, "A123456780"),),
        "names": (HumanName("Testperson", ("Erika",)),),
        "birth_date": "1964-08-12",
        "gender": Sex.FEMALE,
        "addresses": (Address(("Teststraße 1",), "Berlin", "10115", "DE"),),
        "telecoms": (Telecom("phone", "+49 30 1234567"),),
        "country": "DE",
    }
    return Patient(**{**fields, **changes})  # type: ignore[arg-type]


def minimal_record() -> PatientRecord:
    """Nothing but a patient: every section the document must carry is empty."""
    return PatientRecord(
        patient=Patient(
            identifiers=(Identifier(BSN, "999999011"),),
            names=(HumanName("Testpersoon", ("Jan",)),),
            birth_date="1980-01-01",
            gender=Sex.MALE,
        )
    )


def full_record() -> PatientRecord:
    """Something in every section, national codes beside EU ones."""
    practice = Organization(
        "Hausarztpraxis Testperson", (Identifier(TELEMATIK_ID, "1-TEST"),), "DE"
    )
    return PatientRecord(
        patient=_patient(),
        author=practice,
        custodian=Organization("Testkrankenhaus Berlin", country="DE"),
        source_date="2024-04-30T09:00:00+02:00",
        language="de-DE",
        problems=(
            Problem(
                Concept(
                    (
                        Code(ICD10_GM, "I10.90", "Essentielle Hypertonie, nicht näher bez."),
                        Code(ICD10, "I10", "Essential (primary) hypertension"),
                        Code(SNOMED, "59621000", "Essential hypertension"),
                    ),
                    "Bluthochdruck",
                ),
                clinical_status="active",
                verification="confirmed",
                onset="2016-05",
            ),
        ),
        allergies=(
            Allergy(
                Concept(
                    (Code(SNOMED, "764146007", "Penicillin"), Code(ATC, "J01CA", "Penicillins")),
                ),
                clinical_status="active",
                verification="confirmed",
                type="allergy",
                category="medication",
                criticality="high",
                onset="2010",
                reactions=(Concept(text="Hautausschlag"),),
            ),
        ),
        medications=(
            MedicationUse(
                Concept(
                    (
                        Code(PZN, "06313728"),  # gematik's ePA example: Sumatriptan
                        Code(ATC, "N02CC01", "sumatriptan"),
                    ),
                    "Sumatriptan-1a Pharma 100 mg Tabletten",
                ),
                status="active",
                start="2016-06-01",
                dosage="1-0-0",
                route=Concept.of(EDQM, "20053000", "Oral use"),
            ),
        ),
        results=(
            Observation(
                Concept.of(LOINC, "17856-6", "Hemoglobin A1c/Hemoglobin.total in Blood by HPLC"),
                Quantity(Decimal("7.5"), "%", UCUM, "%"),
                effective="2024-03-10T08:20:00+01:00",
                note="Above stated goal of 7.0 %",
            ),
            Observation(
                Concept.of(LOINC, "882-1", "ABO and Rh group [Type] in Blood"),
                Concept.of(SNOMED, "278149003", "Blood group A Rh(D) positive"),
                effective="2015-10-10",
            ),
        ),
        immunizations=(
            Immunization(
                Concept(
                    (
                        Code(
                            ATC, "J07BB02", "influenza, inactivated, split virus or surface antigen"
                        ),
                    )
                ),
                date="2023-10-15",
                lot_number="H06",
            ),
        ),
        procedures=(
            Procedure(
                Concept.of(SNOMED, "52734007", "Total hip replacement"),
                date="2000-04-28",
            ),
        ),
        devices=(
            DeviceUse(
                Concept.of(SNOMED, "67270000", "Hip prosthesis, device (physical object)"),
                status="active",
                start="2000-04-28",
            ),
        ),
        vital_signs=(
            Observation(
                Concept.of(LOINC, "29463-7", "Body weight"),
                Quantity(Decimal("91.5"), "kg", UCUM, "kg"),
                effective="2024-04-10T09:58:00+02:00",
            ),
            Observation(
                Concept.of(LOINC, "85354-9", "Blood pressure panel"),
                effective="2024-04-10T10:00:00+02:00",
                components=(
                    Component(
                        Concept.of(LOINC, "8480-6", "Systolic blood pressure"),
                        Quantity(Decimal("142"), "mmHg", UCUM, "mm[Hg]"),
                    ),
                    Component(
                        Concept.of(LOINC, "8462-4", "Diastolic blood pressure"),
                        Quantity(Decimal("91"), "mmHg", UCUM, "mm[Hg]"),
                    ),
                ),
            ),
        ),
        past_problems=(
            Problem(
                Concept.of(ICD10, "J18.9", "Pneumonia, unspecified organism"),
                clinical_status="resolved",
                onset="2019-02",
                abatement="2019-03",
            ),
        ),
        pregnancy=(
            Observation(
                Concept.of(LOINC, "82810-3", "Pregnancy status"),
                Concept.of(SNOMED, "60001007", "Not pregnant"),
                effective="2024-04-10",
            ),
            Observation(Concept.of(LOINC, "11636-8", "[#] Births.live"), 2, effective="2024-04-10"),
        ),
        social_history=(
            Observation(
                Concept.of(LOINC, "72166-2", "Tobacco smoking status"),
                Concept.of(LOINC, "LA18978-9", "Never smoker"),
                effective="2022-10-20",
            ),
            Observation(
                Concept.of(LOINC, "74013-4", "Alcoholic drinks per day"),
                Quantity(Decimal("1"), "/d", UCUM, "/d"),
                effective="2022-10-20",
            ),
        ),
        functional_status=(
            Problem(Concept(text="Eingeschränkte Mobilität"), clinical_status="active"),
        ),
        notes=(
            Note(Section.ADVANCE_DIRECTIVES, "Patientenverfügung liegt beim Hausarzt vor."),
            Note(Section.PROBLEMS, "Blutdruck seit 2023 gut eingestellt."),
        ),
    )


def unmapped_record() -> PatientRecord:
    """A problem coded only in a national system the profile could not translate."""
    return PatientRecord(
        patient=_patient(),
        problems=(
            Problem(Concept((UNMAPPED,), UNMAPPED_TEXT), clinical_status="active"),
            Problem(Concept(text="Rückenschmerzen, nicht kodiert"), clinical_status="active"),
        ),
    )


def sparse_record() -> PatientRecord:
    """Entries without the dates their profiles require, and a patient without a birth date."""
    return PatientRecord(
        patient=Patient(
            identifiers=(Identifier(CODICE_FISCALE, "RSSMRA80A01H501U"),),
            names=(HumanName(text="Paziente Test"),),
        ),
        medications=(MedicationUse(Concept(text="Paracetamolo 500 mg")),),
        immunizations=(Immunization(Concept.of(ATC, "J07BC01", "hepatitis B, purified antigen")),),
        procedures=(Procedure(Concept(text="Appendicectomia")),),
        devices=(DeviceUse(Concept(text="Pacemaker"), status="active"),),
        results=(Observation(Concept(text="Emocromo"), status="preliminary"),),
        vital_signs=(
            Observation(
                Concept.of(LOINC, "85354-9", "Blood pressure panel"),
                components=(Component(Concept.of(LOINC, "8480-6", "Systolic blood pressure")),),
            ),
        ),
    )


def hostile_record() -> PatientRecord:
    """Text that must be escaped wherever it lands in a narrative."""
    return PatientRecord(
        patient=_patient(names=(HumanName("Testperson", ("<b>Bold</b>",)),)),
        problems=(Problem(Concept(text=HOSTILE), clinical_status="active"),),
        allergies=(
            Allergy(Concept(text="Nüsse & <Erdnüsse>"), clinical_status="active", category="food"),
        ),
        notes=(Note(Section.MEDICATIONS, HOSTILE),),
    )


RECORDS = {
    "full": full_record,
    "minimal": minimal_record,
    "unmapped": unmapped_record,
    "sparse": sparse_record,
    "hostile": hostile_record,
}
