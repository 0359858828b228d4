"""The neutral clinical record (pure): invariants every reader can rely on."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

import pytest

from gateway.domain.records import (
    ICD10,
    LOINC,
    UCUM,
    Address,
    Allergy,
    Code,
    Component,
    Concept,
    DeviceUse,
    HumanName,
    Identifier,
    MedicationUse,
    Note,
    Observation,
    Organization,
    Patient,
    PatientRecord,
    Problem,
    Quantity,
    Section,
    Telecom,
    check_date,
    check_datetime,
    check_instant,
)

ICD10_GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
KVNR = "http://fhir.de/sid/gkv/kvid-10"


def patient() -> Patient:
    return Patient((Identifier(KVNR, "A123456780"),), (HumanName("Testperson", ("Erika",)),))


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2015", "2016-10", "2016-10-31", "2000-02-29"])
def test_partial_and_full_dates(value: str) -> None:
    assert check_date(value) == value
    assert check_datetime(value) == value


@pytest.mark.parametrize(
    "value",
    ["2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123+14:00"],
)
def test_datetimes_and_instants_carry_a_zone(value: str) -> None:
    assert check_datetime(value) == value
    assert check_instant(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "20230531",  # HL7 v2/CDA form: readers convert it
        "2023-02-30",  # matches the FHIR pattern, but no such day
        "2023-13",
        "0000",
        "2024-05-01T10:00:00",  # no zone
        "2024-05-01T10:00",
        " 2024",
        "",
    ],
)
def test_malformed_datetimes_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"FHIR|day|month"):
        check_datetime(value)


def test_an_instant_is_a_full_date_and_time() -> None:
    for value in ("2024", "2024-05-01"):
        with pytest.raises(ValueError, match="instant"):
            check_instant(value)
    with pytest.raises(ValueError, match="FHIR date"):
        check_date("2024-05-01T10:00:00Z")


# --- codes and values -------------------------------------------------------------------------


def test_concept_keeps_national_and_eu_codings_side_by_side() -> None:
    national = Code(ICD10_GM, "I10.90", "Essentielle Hypertonie")
    eu = Code(ICD10, "I10")
    concept = Concept((national, eu), "Bluthochdruck")
    assert concept.coding(ICD10) is eu
    assert concept.coding(ICD10_GM) is national
    assert concept.coding(LOINC) is None
    assert concept.label == "Bluthochdruck"
    assert Concept((national,)).label == "Essentielle Hypertonie"
    assert Concept((eu,)).label == "I10"


def test_concept_needs_a_coding_or_a_text() -> None:
    with pytest.raises(ValueError, match="coding or a text"):
        Concept()
    with pytest.raises(ValueError, match="blank"):
        Concept(text="  ")
    assert Concept(text="Rückenschmerzen").codings == ()


@pytest.mark.parametrize(
    ("system", "code"),
    [("", "I10"), ("http://x y", "I10"), (ICD10, ""), (ICD10, " I10"), (ICD10, "I10  x")],
)
def test_code_refuses_what_fhir_cannot_carry(system: str, code: str) -> None:
    with pytest.raises(ValueError, match="code"):
        Code(system, code)


def test_quantity() -> None:
    assert Quantity(Decimal("7.5"), "%", UCUM, "%").value == Decimal("7.5")
    with pytest.raises(ValueError, match="system"):
        Quantity(Decimal(1), "mg", code="mg")  # FHIR qty-3
    with pytest.raises(ValueError, match="finite"):
        Quantity(Decimal("NaN"))


def test_observation_values() -> None:
    code = Concept.of(LOINC, "11636-8", "[#] Births.live")
    assert Observation(code, 2).value == 2
    with pytest.raises(ValueError, match="boolean"):
        Observation(code, True)
    with pytest.raises(ValueError, match="blank"):
        Component(code, "")


# --- people and organisations -----------------------------------------------------------------


def test_patient_needs_a_name_and_a_real_birth_date() -> None:
    with pytest.raises(ValueError, match="name"):
        Patient((Identifier(KVNR, "A123456780"),), ())
    with pytest.raises(ValueError, match="name"):
        HumanName()
    with pytest.raises(ValueError, match="date"):
        dataclasses.replace(patient(), birth_date="1964-08-12T00:00:00Z")
    assert dataclasses.replace(patient(), birth_date="1964").birth_date == "1964"


def test_parts_are_never_blank() -> None:
    with pytest.raises(ValueError, match="address"):
        Address()
    with pytest.raises(ValueError, match="blank"):
        Address(city="")
    with pytest.raises(ValueError, match="blank"):
        Organization(" ")
    with pytest.raises(ValueError, match="telecom"):
        Telecom("pigeon", "x")  # type: ignore[arg-type]


# --- statements -------------------------------------------------------------------------------


def test_statuses_are_checked_at_run_time() -> None:
    code = Concept(text="Asthma")
    with pytest.raises(ValueError, match="problem status"):
        Problem(code, clinical_status="entered-in-error")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="allergy status"):
        Allergy(code, clinical_status="remission")  # type: ignore[arg-type]


def test_an_abated_problem_is_not_active() -> None:
    code = Concept(text="Pneumonie")
    assert Problem(code, clinical_status="resolved", abatement="2019-03").abatement == "2019-03"
    for status in ("active", None):
        with pytest.raises(ValueError, match="abated"):
            Problem(code, clinical_status=status, abatement="2019-03")


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020-05-01", "2019"),  # compared as years
        ("2020-05-01", "2020-04"),
        ("2020-05-01", "2020-04-30"),
        ("2020-05-01T10:00:00+02:00", "2020-05-01T07:59:59Z"),  # 08:00 UTC start
        ("2020-05-02T00:30:00+02:00", "2020-04-30"),
    ],
)
def test_statements_refuse_an_end_before_the_start(start: str, end: str) -> None:
    # FHIR per-1: a period's end is not before its start.
    code = Concept(text="Ramipril")
    with pytest.raises(ValueError, match="medication use ends before it starts"):
        MedicationUse(code, start=start, end=end)
    with pytest.raises(ValueError, match="device use ends before it starts"):
        DeviceUse(code, "completed", start=start, end=end)
    with pytest.raises(ValueError, match="problem ends before it starts"):
        Problem(code, clinical_status="resolved", onset=start, abatement=end)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("2020-05-01", "2020"),  # same year: the shared precision cannot tell
        ("2020-05-01", "2020-05"),
        ("2020-05-01", "2020-05-01"),
        ("2020-05-01", "2021-01-01"),
        ("2020-05-01T10:00:00+02:00", "2020-05-01T08:00:00Z"),  # the same instant
        ("2020-05-02T00:30:00+02:00", "2020-05-01T23:00:00Z"),  # later, on an earlier date
        ("2020-05-01T10:00:00+02:00", "2020-05-01"),
        (None, "2019"),
        ("2020", None),
    ],
)
def test_statements_accept_an_end_not_before_the_start(start: str | None, end: str | None) -> None:
    code = Concept(text="Ramipril")
    assert MedicationUse(code, start=start, end=end).end == end
    assert DeviceUse(code, "completed", start=start, end=end).end == end
    assert Problem(code, clinical_status="resolved", onset=start, abatement=end).onset == start


@pytest.mark.parametrize(
    ("make", "value", "says"),
    [
        (lambda v: dataclasses.replace(patient(), birth_date=v), "12.08.1964", "birth date"),
        (lambda v: dataclasses.replace(patient(), birth_date=v), "1964-02-30", "birth date"),
        (lambda v: MedicationUse(Concept(text="Ramipril"), start=v), "01.06.2016", "start"),
        (lambda v: Problem(Concept(text="Asthma"), onset=v), "2016-13-01", "onset"),
        (lambda v: Code(v, "I10"), "http://x y", "code system"),
        (lambda v: Code(ICD10, v), " I10 secret", "code"),
        (lambda v: Quantity(Decimal(v)), "Infinity", "finite"),
        (lambda v: PatientRecord(patient(), language=v), "Deutsch (Bayern)", "language"),
        (lambda v: Problem(Concept(text="Asthma"), clinical_status=v), "secret", "status"),
    ],
)
def test_errors_do_not_quote_the_value(make, value: str, says: str) -> None:
    # Values may be patient data (a birth date); messages land in logs and responses.
    with pytest.raises(ValueError, match=says) as raised:
        make(value)
    assert value.strip() not in str(raised.value)


def test_birth_date_error_says_what_is_wrong() -> None:
    expected = "birth date is not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)"
    with pytest.raises(ValueError, match=re.escape(expected)) as raised:
        dataclasses.replace(patient(), birth_date="12.08.1964")
    assert str(raised.value) == expected


def test_statement_dates_are_checked() -> None:
    with pytest.raises(ValueError, match="FHIR dateTime"):
        Problem(Concept(text="Asthma"), onset="31.05.2023")


# --- the record -------------------------------------------------------------------------------


def test_record_is_immutable_and_hashable() -> None:
    record = PatientRecord(patient(), problems=(Problem(Concept(text="Asthma")),))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.problems = ()  # type: ignore[misc]
    same = PatientRecord(patient(), problems=(Problem(Concept(text="Asthma")),))
    assert hash(record) == hash(same)
    assert record == same


def test_concepts_lists_every_code_with_its_place() -> None:
    unmapped = Concept((Code(ICD10_GM, "E11.90"),), "Diabetes Typ 2")
    record = PatientRecord(
        patient(),
        problems=(Problem(Concept.of(ICD10, "I10")), Problem(unmapped)),
        allergies=(
            Allergy(Concept(text="Nüsse"), "active", reactions=(Concept(text="Ausschlag"),)),
        ),
        vital_signs=(
            Observation(
                Concept.of(LOINC, "85354-9"),
                components=(Component(Concept.of(LOINC, "8480-6"), Concept(text="hoch")),),
            ),
        ),
    )
    found = dict(record.concepts())
    assert list(found) == [
        "problems[0].code",
        "problems[1].code",
        "allergies[0].code",
        "allergies[0].reactions[0]",
        "vital_signs[0].code",
        "vital_signs[0].components[0].code",
        "vital_signs[0].components[0].value",
    ]
    # What the profile engine does with it: codes with no EU coding become warnings.
    assert [path for path, c in record.concepts() if c.coding(ICD10) is None][:2] == [
        "problems[1].code",
        "allergies[0].code",
    ]


def test_notes_belong_to_sections() -> None:
    record = PatientRecord(
        patient(),
        notes=(
            Note(Section.ADVANCE_DIRECTIVES, "Patientenverfügung beim Hausarzt"),
            Note(Section.PROBLEMS, "gut eingestellt"),
        ),
    )
    assert record.notes_for(Section.PROBLEMS) == ("gut eingestellt",)
    assert record.notes_for(Section.DEVICES) == ()


def test_record_checks_source_date_and_language() -> None:
    assert PatientRecord(patient(), source_date="2024-04-30", language="de-DE").language
    with pytest.raises(ValueError, match="FHIR dateTime"):
        PatientRecord(patient(), source_date="yesterday")
    with pytest.raises(ValueError, match="BCP-47"):
        PatientRecord(patient(), language="de_DE")


def test_sections_are_the_loinc_codes_consent_categories_use() -> None:
    assert Section.PROBLEMS.value == "11450-4"
    assert f"section:{Section.MEDICATIONS}" == "section:10160-0"
    assert len({s.value for s in Section}) == len(Section) == 13
