"""The profile engine on records built in the test: identity rules, identifier checks,
country, ConceptMaps and the warnings for codes that reach no EU system."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest

from gateway.domain.records import (
    ICD10,
    LOINC,
    Allergy,
    Code,
    Concept,
    HumanName,
    Identifier,
    Observation,
    Patient,
    PatientRecord,
    Problem,
)
from gateway.errors import RecordRejected
from gateway.profiles.conceptmaps import ConceptMap, Target
from gateway.profiles.engine import Translation, apply_profile
from gateway.profiles.loader import ProfileSet
from gateway.profiles.model import ConceptMapBinding, Finding, IdentifierRule, Profile

GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
KVNR = "http://fhir.de/sid/gkv/kvid-10"
KVNR_OID = "urn:oid:1.2.276.0.76.4.8"
LOCAL_LAB = "urn:oid:1.2.3.4.5"
GM_MAP = "https://gateway.example.eu/fhir/ConceptMap/test-gm"
LAB_MAP = "https://gateway.example.eu/fhir/ConceptMap/test-lab"
SNOMED_PENICILLIN_ALLERGY = Code("http://snomed.info/sct", "91936005")

GM_TO_WHO = ConceptMap(
    GM_MAP,
    "TestGm",
    MappingProxyType(
        {
            (GM, "E11.9"): (Target(ICD10, "E11.9", "Type 2 diabetes", "equivalent"),),
            (GM, "I10.00"): (Target(ICD10, "I10", None, "wider"),),
        }
    ),
)
LAB_TO_LOINC = ConceptMap(
    LAB_MAP, "TestLab", MappingProxyType({(LOINC, "x"): (), (LOCAL_LAB, "GLU"): ()})
)


def profile(*, on_failure: str = "warn", country: str | None = "DE", **changes: object) -> Profile:
    rule = IdentifierRule(
        KVNR,
        "DE",
        aliases=(KVNR_OID,),
        check="de-kvnr-gkv",
        on_failure=on_failure,  # type: ignore[arg-type]
    )
    base = Profile(
        name="de-test",
        format="fhir",
        country=country,
        description="test",
        identifiers=(rule,),
        concept_maps=(
            ConceptMapBinding("problems.code", GM_MAP),
            ConceptMapBinding("results.code", LAB_MAP),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def record(
    *identifiers: Identifier, birth: str | None = "1964-08-12", **lists: object
) -> PatientRecord:
    patient = Patient(
        identifiers=identifiers or (Identifier(KVNR, "A123456780"),),
        names=(HumanName("Testperson", ("Erika",)),),
        birth_date=birth,
    )
    return PatientRecord(patient=patient, **lists)  # type: ignore[arg-type]


def run(item: PatientRecord, used: Profile | None = None, default: str = "FR") -> Translation:
    chosen = used or profile()
    return apply_profile(
        item, chosen, ProfileSet([chosen], [GM_TO_WHO, LAB_TO_LOINC]), default_country=default
    )


def test_a_record_without_identifier_is_rejected_at_patient_identifier():
    no_ids = replace(record(), patient=replace(record().patient, identifiers=()))
    with pytest.raises(RecordRejected) as caught:
        run(no_ids)
    assert caught.value.location == "patient.identifiers"
    assert caught.value.status == 422


def test_a_record_without_birth_date_is_rejected():
    with pytest.raises(RecordRejected) as caught:
        run(record(birth=None))
    assert caught.value.location == "patient.birth_date"


def test_a_failed_check_warns_without_quoting_the_value():
    result = run(record(Identifier(KVNR, "A123456789")))
    assert result.findings == (
        Finding("patient.identifiers[0]", f"{KVNR}: check digit does not match"),
    )
    assert "A123456789" not in str(result.findings)


def test_a_failed_check_rejects_when_the_profile_says_so():
    with pytest.raises(RecordRejected) as caught:
        run(record(Identifier(KVNR, "A123456789")), profile(on_failure="reject"))
    assert caught.value.location == "patient.identifiers[0]"
    assert "A123456789" not in caught.value.message


def test_an_alias_is_written_with_the_profiles_system_uri():
    result = run(record(Identifier(KVNR_OID, " A123456780 ")))
    assert result.record.patient.identifiers == (Identifier(KVNR, "A123456780"),)
    assert result.findings == ()


def test_an_identifier_outside_the_profile_is_checked_by_the_registry():
    bsn = Identifier("http://fhir.nl/fhir/NamingSystem/bsn", "111222334")
    result = run(record(Identifier(KVNR, "A123456780"), bsn))
    assert [f.location for f in result.findings] == ["patient.identifiers[1]"]


def test_country_comes_from_the_profile_then_the_identifier_then_the_gateway():
    assert run(record()).record.patient.country == "DE"
    generic = profile(country=None, identifiers=())
    assert run(record(), generic).record.patient.country == "DE"  # KVNR is German
    unknown = record(Identifier("urn:oid:1.2.3.999", "x1"))
    assert run(unknown, generic, default="FR").record.patient.country == "FR"


def test_a_mapped_code_puts_the_eu_coding_first_and_keeps_the_national_one():
    national = Code(GM, "E11.9", "Diabetes mellitus, Typ 2")
    result = run(record(problems=(Problem(Concept((national,), "Diabetes")),)))
    codings = result.record.problems[0].code.codings
    assert codings == (Code(ICD10, "E11.9", "Type 2 diabetes"), national)
    assert result.record.problems[0].code.text == "Diabetes"
    assert result.findings == ()


def test_an_unmapped_code_is_kept_and_reported():
    national = Code(GM, "E11.90")
    result = run(record(problems=(Problem(Concept((national,))),)))
    assert result.record.problems[0].code.codings == (national,)
    assert [str(f) for f in result.findings] == [
        f"problems[0].code: {GM}|E11.90 is not in TestGm",
        f"problems[0].code: no EU coding (only {GM}): kept as sent",
    ]


def test_a_text_only_concept_is_reported_but_kept():
    result = run(record(allergies=(Allergy(Concept(text="Hausstaub"), "active"),)))
    assert result.record.allergies[0].code.text == "Hausstaub"
    assert [str(f) for f in result.findings] == [
        "allergies[0].code: no coding, only text: kept as text"
    ]


def test_a_concept_already_in_an_eu_system_passes_quietly():
    result = run(record(allergies=(Allergy(Concept((SNOMED_PENICILLIN_ALLERGY,)), "active"),)))
    assert result.findings == ()


def test_reader_findings_come_first():
    earlier = (Finding("PID-3", "reader says"),)
    chosen = profile()
    result = apply_profile(
        record(Identifier(KVNR, "A123456789")),
        chosen,
        ProfileSet([chosen], [GM_TO_WHO, LAB_TO_LOINC]),
        default_country="DE",
        findings=earlier,
    )
    assert result.findings[0] == earlier[0]
    assert len(result.findings) == 2


def test_codes_in_other_lists_are_not_touched_by_a_binding():
    national = Code(GM, "E11.9")
    observation = Observation(Concept((national,)))
    result = run(record(results=(observation,)))
    assert result.record.results[0].code.codings == (national,)


def test_hl7_international_code_systems_count_as_readable_everywhere():
    flag = Concept.of("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "H")
    observation = Observation(Concept.of(LOINC, "2345-7"), interpretation=flag)
    assert run(record(vital_signs=(observation,))).findings == ()


def test_identifiers_are_stored_in_their_canonical_spelling():
    result = run(record(Identifier(KVNR_OID, " a123 456 780 ")))
    assert result.record.patient.identifiers == (Identifier(KVNR, "A123456780"),)
