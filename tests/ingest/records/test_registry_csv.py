"""The registry CSV reader with the shipped Belgian cancer-registry profile.

The samples under ``data/registry_csv/`` are synthetic submissions (invented names, INSZ/NISS
numbers with valid check digits computed for the purpose or taken from the note's examples):
``breast-cancer.csv`` (CRLF, a UTF-8 BOM, every row repeating the submission and the patient,
a radiotherapy course with its end date) and ``hodgkin-lymphoma.csv`` (LF, no BOM, partial
dates, a result under the detection limit). Each is read, run through the
profile engine and built into an IPS document that must pass the independent checks. The
``bad/`` corpus and the edits below must each end in a RecordError or RecordRejected with the
right location and a message that quotes no patient data.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.domain.records import ATC, ICD10, LOINC, SNOMED, UCUM, Code, Concept, Quantity, Sex
from gateway.errors import RecordError, RecordRejected
from gateway.fhir.ips import build_document
from gateway.ingest.records.registry_csv import read_registry_csv
from gateway.profiles.codesystems import ICD_O_3
from gateway.profiles.loader import ProfileError, load_profiles
from gateway.profiles.model import Profile
from tests.support.fhir_validation import document_errors
from tests.support.records import (
    DOCUMENT_ID,
    PROFILES,
    TIMESTAMP,
    Translated,
    shipped_profiles,
    translate,
)

DATA = Path(__file__).parent / "data" / "registry_csv"
PROFILE = "be-cancer-registry-csv"
SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"
BCR_TREATMENT = "https://registry.example.be/fhir/CodeSystem/treatment"
BCR_LAB = "https://registry.example.be/fhir/CodeSystem/lab"
BCR_REGIMEN = "https://registry.example.be/fhir/CodeSystem/regimen"
SAMPLES = ("breast-cancer.csv", "hodgkin-lymphoma.csv")

# The export's header, as the shipped profile describes it (the samples' first line).
HEADER = (DATA / "hodgkin-lymphoma.csv").read_text(encoding="utf-8").splitlines()[0].split(";")
# The small submission the edits below start from; these values must never reach a message.
PATIENT = {
    "submission_id": "BCR-2024-000500",
    "submission_date": "02/04/2024",
    "record_type": "patient",
    "patient_ssin": "68041204878",
    "family_name": "Testpatiënt",
    "given_names": "Lieve",
    "birth_date": "12/04/1968",
    "sex": "2",
}
DIAGNOSIS = {
    "submission_id": "BCR-2024-000500",
    "record_type": "diagnosis",
    "event_date": "14/03/2023",
    "icd10_code": "C50.4",
    "morphology_code": "8500/3",
    "basis_of_diagnosis": "7",
    "diagnosis_text": "Invasief ductaal carcinoom linkerborst",
}
TREATMENT = {
    "submission_id": "BCR-2024-000500",
    "record_type": "treatment",
    "event_date": "02/05/2023",
    "end_date": "18/07/2023",
    "treatment_kind": "CT",
    "treatment_code": "L01CD01",
    "treatment_system": "ATC",
}
LAB = {
    "submission_id": "BCR-2024-000500",
    "record_type": "lab",
    "event_date": "14/03/2023",
    "lab_code": "CEA",
    "lab_system": "BCR-LAB",
    "value_number": "2,1",
    "value_unit": "ug/L",
}
PATIENT_DATA = (
    "Testpati",
    "Lieve",
    "68041204878",
    "85073003328",
    "79080412345",
    "12/04/1968",
    "1968-04-12",
    "Invasief",
    "Essai",
)

Row = dict[str, str]


def submission(*rows: Row, header: list[str] = HEADER, delimiter: str = ";") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([row.get(name, "") for name in header] for row in rows)
    return out.getvalue().encode("utf-8")


def minimal(**changes: Row) -> bytes:
    """The small submission, with rows replaced by kind (``lab={...}``)."""
    rows = {"patient": PATIENT, "diagnosis": DIAGNOSIS, "treatment": TREATMENT, "lab": LAB}
    return submission(*({**row, **changes.get(kind, {})} for kind, row in rows.items()))


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def refused(data: bytes) -> RecordError:
    with pytest.raises(RecordError) as caught:
        translate(data, PROFILE)
    error = caught.value
    for value in PATIENT_DATA:
        assert value not in str(error), f"the message quotes patient data: {error}"
    return error


def entries(translated: Translated, resource_type: str) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in translated.bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


@pytest.fixture(scope="module")
def breast() -> Translated:
    return translate(sample("breast-cancer.csv"), PROFILE)


@pytest.fixture(scope="module")
def hodgkin() -> Translated:
    return translate(sample("hodgkin-lymphoma.csv"), PROFILE)


# --- whole documents --------------------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
def test_samples_make_valid_ips_documents(name):
    assert document_errors(translate(sample(name), PROFILE).bundle) == []


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param(lambda d: d.removeprefix(b"\xef\xbb\xbf"), id="no-bom"),
        pytest.param(lambda d: d.replace(b"\r\n", b"\n"), id="lf"),
        pytest.param(lambda d: d.replace(b"\r\n", b"\r"), id="cr"),
        pytest.param(lambda d: d + b"\r\n\r\n", id="trailing-blank-lines"),
        pytest.param(
            lambda d: d.replace(b"\r\n", b"\r\n;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;;\r\n", 1),
            id="empty-row",
        ),
    ],
)
def test_line_ends_bom_and_blank_rows_change_nothing(breast, variant):
    again = translate(variant(sample("breast-cancer.csv")), PROFILE)
    assert again.translation.record == breast.translation.record
    assert again.reading.key == breast.reading.key


def test_a_fact_row_that_leaves_out_the_patient_columns_is_fine(hodgkin):
    # The hodgkin sample fills patient_ssin on the patient row only; the breast sample on all.
    assert hodgkin.translation.record.patient.identifiers[0].value == "85073003328"
    assert len(hodgkin.translation.record.results) == 4


# --- patient, key, submission -----------------------------------------------------------------


def test_patient_row_fills_the_patient(breast):
    patient = breast.translation.record.patient
    assert [(i.system, i.value) for i in patient.identifiers] == [(SSIN, "68041204878")]
    assert patient.names[0].family == "Testpatiënt"
    assert patient.names[0].given == ("Lieve", "Marie")  # the profile splits on blanks
    assert patient.names[0].use == "official"  # the profile's name_use
    assert patient.birth_date == "1968-04-12"
    assert patient.gender is Sex.FEMALE
    assert (patient.addresses[0].postal_code, patient.addresses[0].city) == ("9000", "Gent")
    assert patient.country == "BE"
    fhir_patient = entries(breast, "Patient")[0]
    assert fhir_patient["identifier"][0] == {"system": SSIN, "value": "68041204878"}
    assert fhir_patient["name"][0]["use"] == "official"
    assert fhir_patient["birthDate"] == "1968-04-12"
    assert fhir_patient["gender"] == "female"


def test_key_source_date_and_author_come_from_the_submission(breast, hodgkin):
    assert breast.reading.key == "registry:BCR-2024-000173"
    assert hodgkin.reading.key == "registry:BCR-2024-000981"
    # Brussels summer time; hh:mm only gives seconds of 00.
    assert breast.translation.record.source_date == "2024-05-28T14:32:10+02:00"
    assert hodgkin.translation.record.source_date == "2024-06-03T09:15:00+02:00"
    assert breast.translation.record.author is not None
    assert breast.translation.record.author.name == "AZ Voorbeeld Oncologisch Centrum"


def test_winter_times_are_placed_in_brussels_winter_time():
    data = minimal(patient={"submission_date": "15/01/2024 08:05"})
    assert translate(data, PROFILE).translation.record.source_date == "2024-01-15T08:05:00+01:00"


def test_day_and_month_without_leading_zero_are_read():
    data = minimal(diagnosis={"event_date": "5/3/2023"}, treatment={"event_date": "2/5/2023 9:05"})
    record = translate(data, PROFILE).translation.record
    assert record.problems[0].onset == "2023-03-05"
    assert record.medications[0].start == "2023-05-02T09:05:00+02:00"


def test_a_quoted_cell_may_span_lines_and_later_lines_still_count():
    label = {"treatment_label": "paclitaxel\nwekelijks,\r\n12 cycli"}
    data = minimal(treatment=label, lab={"value_number": "x"})
    error = refused(data)
    assert error.location == "line 7, column value_number"  # the label took lines 4 to 6
    record = translate(minimal(treatment=label), PROFILE).translation.record
    assert (
        record.medications[0].medication.codings[0].display == "paclitaxel\nwekelijks,\r\n12 cycli"
    )


# --- diagnoses --------------------------------------------------------------------------------


def test_diagnosis_carries_icd10_and_icd_o_3_with_the_original_text(breast):
    tumour = breast.translation.record.problems[0]
    assert tumour.code.codings == (
        Code(ICD10, "C50.4", "Malignant neoplasm: Upper-outer quadrant of breast"),
        Code(ICD_O_3, "8500/3", "Infiltrating duct carcinoma, NOS"),
    )
    assert tumour.code.text == "Invasief ductaal carcinoom linkerborst, bovenste buitenkwadrant"
    assert tumour.onset == "2023-03-14"
    assert tumour.clinical_status == "remission"  # NED
    assert tumour.verification == "confirmed"  # basis of diagnosis 7: histology
    condition = entries(breast, "Condition")[0]
    assert [c["system"] for c in condition["code"]["coding"]] == [ICD10, ICD_O_3]
    assert condition["onsetDateTime"] == "2023-03-14"


def test_partial_dates_keep_their_precision(breast, hodgkin):
    skin = breast.translation.record.problems[1]
    assert (skin.onset, skin.abatement, skin.clinical_status) == ("2019", "2019-11", "resolved")
    assert hodgkin.translation.record.problems[0].onset == "2024-02"
    assert entries(breast, "Condition")[1]["abatementDateTime"] == "2019-11"


# --- treatments -------------------------------------------------------------------------------


def test_treatment_kind_sends_surgery_and_radiotherapy_to_procedures(breast):
    procedures = breast.translation.record.procedures
    assert [p.code.codings[-1].code for p in procedures] == ["QUAD", "SLNB", "RT-EXT"]
    quadrantectomy = procedures[0]
    # The ConceptMap puts SNOMED first and keeps the registry's own code.
    assert quadrantectomy.code.codings == (
        Code(SNOMED, "172049005", "Quadrantectomy of breast"),
        Code(BCR_TREATMENT, "QUAD", "Quadrantectomie links"),
    )
    assert (quadrantectomy.date, quadrantectomy.end) == ("2023-04-04", None)
    assert quadrantectomy.status == "completed"
    assert quadrantectomy.body_site == Concept.of(ICD_O_3, "C50.4")
    # A quoted label holding the delimiter stays one cell.
    assert (
        procedures[2].code.codings[-1].display == "Radiotherapie borst links; 50 Gy in 25 fracties"
    )
    assert entries(breast, "Procedure")[0]["performedDateTime"] == "2023-04-04"


def test_a_radiotherapy_course_keeps_its_end_date(breast):
    radiotherapy = breast.translation.record.procedures[2]
    assert (radiotherapy.date, radiotherapy.end) == ("2023-08-14", "2023-09-15")
    resource = entries(breast, "Procedure")[2]
    assert resource["performedPeriod"] == {"start": "2023-08-14", "end": "2023-09-15"}
    assert "performedDateTime" not in resource


def test_treatment_kind_sends_systemic_therapy_to_medications(breast):
    paclitaxel, tamoxifen = breast.translation.record.medications
    assert paclitaxel.medication.codings == (Code(ATC, "L01CD01", "paclitaxel"),)
    assert (paclitaxel.start, paclitaxel.end, paclitaxel.status) == (
        "2023-05-02",
        "2023-07-18",
        "completed",
    )
    assert (tamoxifen.start, tamoxifen.end, tamoxifen.status) == ("2023-09-01", None, "active")
    statement = entries(breast, "MedicationStatement")[0]
    assert statement["effectivePeriod"] == {"start": "2023-05-02", "end": "2023-07-18"}


def test_a_treatment_sent_in_snomed_needs_no_map():
    surgery = {
        "treatment_kind": "SURG",
        "treatment_code": "172043006",
        "treatment_system": "SNOMED",
        "end_date": "",
    }
    translated = translate(minimal(treatment=surgery), PROFILE)
    (mastectomy,) = translated.translation.record.procedures
    assert mastectomy.code == Concept.of(SNOMED, "172043006")
    assert (mastectomy.date, mastectomy.end) == ("2023-05-02", None)
    assert translated.translation.record.medications == ()
    assert translated.translation.findings == ()


def test_planned_treatment_and_local_regimen(hodgkin):
    (radiotherapy,) = hodgkin.translation.record.procedures
    assert (radiotherapy.date, radiotherapy.status) == ("2024-07", "preparation")
    assert radiotherapy.code.codings[0] == Code(
        SNOMED, "108290001", "Radiation oncology AND/OR radiotherapy"
    )
    (regimen,) = hodgkin.translation.record.medications
    assert regimen.medication.codings[0].system == BCR_REGIMEN
    assert regimen.status == "active"


# --- results ----------------------------------------------------------------------------------


def test_lab_values_numbers_codes_and_texts(breast):
    results = {r.code.codings[-1].code: r for r in breast.translation.record.results}
    er = results["ER"]
    assert er.code.codings[0] == Code(
        LOINC, "16112-5", "Estrogen receptor [Interpretation] in Tissue"
    )
    assert er.value == Concept.of(SNOMED, "10828004", "Positive")
    assert results["CEA"].value == Quantity(Decimal("2.1"), "ug/L", UCUM, "ug/L")  # 2,1
    assert results["KI67"].value == Quantity(Decimal("15"), "%", UCUM, "%")
    assert results["HER2"].value == "score 1+ (negatief)"
    haemoglobin = results["718-7"]  # sent as LOINC already: no map needed
    assert haemoglobin.code.codings == (Code(LOINC, "718-7", "Hemoglobin [Mass/volume] in Blood"),)
    assert haemoglobin.effective == "2024-05-10T08:40:00+02:00"
    assert results["CEA"].effective == "2024-05-10"


def test_a_result_under_the_detection_limit_keeps_its_comparator(hodgkin):
    crp = hodgkin.translation.record.results[3]
    assert crp.code.codings[0].code == "1988-5"
    assert crp.value == Quantity(Decimal("0.5"), "mg/dL", UCUM, "mg/dL", comparator="<")
    observation = entries(hodgkin, "Observation")[3]
    assert observation["valueQuantity"] == {
        "value": 0.5,
        "comparator": "<",
        "unit": "mg/dL",
        "system": UCUM,
        "code": "mg/dL",
    }


@pytest.mark.parametrize(
    ("cell", "comparator", "number"),
    [
        ("<0,5", "<", "0.5"),
        ("< 0,5", "<", "0.5"),
        ("<=0,5", "<=", "0.5"),
        ("≤0,5", "<=", "0.5"),
        (">1000", ">", "1000"),
        (">= 12,5", ">=", "12.5"),
        ("≥-3", ">=", "-3"),
        ("2,1", None, "2.1"),
    ],
)
def test_the_profile_s_comparators_are_read_before_the_number(cell, comparator, number):
    record = translate(minimal(lab={"value_number": cell}), PROFILE).translation.record
    assert record.results[0].value == Quantity(
        Decimal(number), "ug/L", UCUM, "ug/L", comparator=comparator
    )


def test_results_in_the_document(breast):
    observations = {o["code"]["coding"][-1]["code"]: o for o in entries(breast, "Observation")}
    assert observations["CEA"]["valueQuantity"] == {
        "value": 2.1,
        "unit": "ug/L",
        "system": UCUM,
        "code": "ug/L",
    }
    assert observations["ER"]["valueCodeableConcept"]["coding"][0]["code"] == "10828004"
    assert observations["HER2"]["valueString"] == "score 1+ (negatief)"


# --- findings ---------------------------------------------------------------------------------


def test_unmapped_local_codes_are_kept_and_reported(breast, hodgkin):
    assert {str(f) for f in breast.translation.findings} == {
        f"procedures[1].code: {BCR_TREATMENT}|SLNB is not in BeBcrTreatmentToSnomed",
        f"procedures[1].code: no EU coding (only {BCR_TREATMENT}): kept as sent",
        f"results[2].code: {BCR_LAB}|KI67 is not in BeBcrLabToLoinc",
        f"results[2].code: no EU coding (only {BCR_LAB}): kept as sent",
        f"results[3].code: {BCR_LAB}|HER2 is not in BeBcrLabToLoinc",
        f"results[3].code: no EU coding (only {BCR_LAB}): kept as sent",
    }
    assert [str(f) for f in hodgkin.translation.findings] == [
        f"medications[0].medication: no EU coding (only {BCR_REGIMEN}): kept as sent"
    ]
    assert breast.reading.findings == ()  # the reader itself had nothing to report


def test_an_unknown_code_system_keeps_the_code_as_text_with_a_finding():
    data = minimal(lab={"lab_system": "LABO-X", "lab_label": "CEA serum"})
    translated = translate(data, PROFILE)
    assert translated.translation.record.results[0].code == Concept(text="CEA serum")
    assert [str(f) for f in translated.reading.findings] == [
        "line 5, column lab_code: code system not known to the profile: code kept as text"
    ]
    assert document_errors(translated.bundle) == []


@pytest.mark.parametrize(
    ("row", "change", "field"),
    [
        ("patient", {"sex": "X"}, "line 2, column sex"),
        ("diagnosis", {"disease_status": "??"}, "line 3, column disease_status"),
        ("diagnosis", {"basis_of_diagnosis": "3"}, "line 3, column basis_of_diagnosis"),
        ("treatment", {"treatment_status": "MAYBE"}, "line 4, column treatment_status"),
    ],
)
def test_a_value_outside_a_code_table_is_left_out_with_a_finding(row, change, field):
    translated = translate(minimal(**{row: change}), PROFILE)
    (finding,) = translated.reading.findings
    assert finding.location == field
    assert "not in the profile's" in finding.message


def test_a_code_meaning_nothing_is_left_out_silently():
    data = minimal(patient={"sex": "9"}, diagnosis={"basis_of_diagnosis": "9"})
    translated = translate(data, PROFILE)
    assert translated.translation.record.patient.gender is None
    assert translated.translation.record.problems[0].verification is None
    assert translated.reading.findings == ()


# --- refused input ----------------------------------------------------------------------------

BAD = {
    "empty.csv": (RecordError, "line 1", "empty"),
    "missing-column.csv": (RecordError, "line 1", "morphology_code"),
    "unknown-type.csv": (RecordError, "line 4", "not a row type"),
    "two-patient-rows.csv": (RecordRejected, "line 4", "second patient row"),
    "no-patient-row.csv": (RecordRejected, "column record_type", "no patient row"),
    "impossible-date.csv": (RecordRejected, "line 3, column event_date", "does not exist"),
    "non-numeric-lab-value.csv": (
        RecordRejected,
        "line 4, column value_number",
        "not a number (digits with a decimal comma, optionally after <=, >=, <, ≤, >, ≥)",
    ),
    "wrong-delimiter.csv": (RecordError, "line 1", "delimited by ','"),
    "invalid-utf8.csv": (RecordError, "encoding", "byte 498"),
    "ragged-rows.csv": (RecordError, "line 3", "20 cells"),
    "nul-byte.csv": (RecordError, "line 2, column family_name", "NUL"),
}


def test_the_bad_corpus_is_the_one_tested():
    assert sorted(p.name for p in (DATA / "bad").iterdir()) == sorted(BAD)


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_are_refused_where_they_break(name):
    kind, location, fragment = BAD[name]
    error = refused((DATA / "bad" / name).read_bytes())
    assert type(error) is kind
    assert error.location == location
    assert fragment in error.detail


def test_a_cell_over_the_csv_field_limit_is_refused():
    data = ";".join(HEADER).encode() + b"\r\n" + b"A" * 10_000_000 + b"\r\n"
    error = refused(data)
    assert type(error) is RecordError
    assert error.location == "line 2"
    assert "field limit" in error.detail


EDITS = {
    "unknown-treatment-kind": (
        minimal(treatment={"treatment_kind": "GENE"}),
        RecordError,
        "line 4, column treatment_kind",
    ),
    "empty-type": (minimal(lab={"record_type": ""}), RecordError, "line 5"),
    "another-patient": (
        minimal(lab={"patient_ssin": "85073003328"}),
        RecordRejected,
        "line 5, column patient_ssin",
    ),
    "another-submission": (
        minimal(diagnosis={"submission_id": "BCR-2024-000501"}),
        RecordRejected,
        "line 3, column submission_id",
    ),
    "no-submission-id": (
        minimal(patient={"submission_id": ""}),
        RecordRejected,
        "line 2, column submission_id",
    ),
    "no-name": (
        minimal(patient={"family_name": "", "given_names": ""}),
        RecordRejected,
        "line 2",
    ),
    "birth-date-with-time": (
        minimal(patient={"birth_date": "12/04/1968 10:00"}),
        RecordRejected,
        "line 2, column birth_date",
    ),
    "not-a-date": (
        minimal(diagnosis={"event_date": "2023-03-14"}),
        RecordRejected,
        "line 3, column event_date",
    ),
    "impossible-time": (
        minimal(patient={"submission_date": "02/04/2024 25:10"}),
        RecordRejected,
        "line 2, column submission_date",
    ),
    "comparator-without-number": (
        minimal(lab={"value_number": "<"}),
        RecordRejected,
        "line 5, column value_number",
    ),
    "two-comparators": (
        minimal(lab={"value_number": "<<0,5"}),
        RecordRejected,
        "line 5, column value_number",
    ),
    "decimal-point-where-comma": (
        minimal(lab={"value_number": "2.1"}),
        RecordRejected,
        "line 5, column value_number",
    ),
    "two-values": (
        minimal(lab={"value_text": "verhoogd"}),
        RecordRejected,
        "line 5",
    ),
    "no-code-nor-text": (
        minimal(diagnosis={"icd10_code": "", "morphology_code": "", "diagnosis_text": ""}),
        RecordRejected,
        "line 3",
    ),
    "ends-before-it-starts": (
        minimal(treatment={"end_date": "01/01/2023"}),
        RecordRejected,
        "line 4",
    ),
    "procedure-ends-before-it-starts": (
        minimal(treatment={"treatment_kind": "RT", "end_date": "01/01/2023"}),
        RecordRejected,
        "line 4",
    ),
    "abated-but-active": (
        minimal(diagnosis={"end_date": "2024", "disease_status": "AWD"}),
        RecordRejected,
        "line 3",
    ),
    "blank-inside-a-code": (
        minimal(diagnosis={"icd10_code": "C50  4"}),
        RecordRejected,
        "line 3, column icd10_code",
    ),
    "header-only": (submission(), RecordRejected, "column record_type"),
    "bad-quoting": (
        minimal().replace(b"Testpati", b'"Test"pati', 1),
        RecordError,
        "line 2",
    ),
    "duplicate-header": (
        submission(PATIENT, header=[*HEADER, "sex"]),
        RecordError,
        "line 1",
    ),
    "ssin-check-digit": (
        minimal(patient={"patient_ssin": "79080412345"}),
        RecordRejected,
        "patient.identifiers[0]",  # the profile rejects a failed check
    ),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_broken_submissions_are_refused_where_they_break(case):
    data, kind, location = EDITS[case]
    error = refused(data)
    assert type(error) is kind
    assert error.location == location


def test_the_small_submission_the_edits_start_from_is_valid():
    translated = translate(minimal(), PROFILE)
    assert document_errors(translated.bundle) == []
    record = translated.translation.record
    assert (len(record.problems), len(record.medications), len(record.results)) == (1, 1, 1)


# --- the profile drives the reader ------------------------------------------------------------


def other_registry(base: Profile) -> Profile:
    """Another registry's export: other column names, comma-separated, ISO dates, a point."""
    mapping = {
        "csv": {"delimiter": ",", "encoding": "cp1252"},
        "dates": ["YYYY-MM-DD", "YYYY-MM", "YYYY"],
        "type_column": "kind",
        "submission": {"id": "batch"},
        "rows": {
            "PAT": {
                "record": "patient",
                "patient": {
                    "identifiers": [{"column": "nn", "system": SSIN}],
                    "family": "surname",
                    "birth_date": "dob",
                    "gender": {"column": "gender", "codes": {"M": "male", "F": "female"}},
                },
            },
            "TUM": {
                "record": "past_problems",
                "past_problems": {
                    "code": {"codings": [{"code": "icd", "system": ICD10}]},
                    "onset": "date",
                },
            },
            "BIO": {
                "record": "results",
                "results": {
                    "code": {"codings": [{"code": "test", "system": LOINC}]},
                    "value": {"number": "result"},
                    "effective": "date",
                    "reference_range": "range",
                },
            },
            "NOTE": {"record": "ignore"},
        },
    }
    return replace(base, mapping=mapping)


def test_another_registry_layout_is_a_profile_not_code():
    profile = shipped_profiles().get(PROFILE)
    assert profile is not None
    data = (
        "batch,kind,nn,surname,dob,gender,icd,date,test,result,range\n"
        "B-7,PAT,85073003328,Essai-Dubois,1985-07-30,M,,,,,\n"
        "B-7,TUM,,,,,C18.7,2021-06,,,\n"
        "B-7,BIO,,,,,,2024-01-09,2039-6,3.5,< 5.0\n"
        "B-7,NOTE,,,,,,,,,\n"
    ).encode("cp1252")
    reading = read_registry_csv(data, other_registry(profile))
    assert reading.key == "registry:B-7"
    record = reading.record
    assert record.patient.names[0].family == "Essai-Dubois"
    assert record.patient.gender is Sex.MALE
    assert record.patient.names[0].use is None  # no name_use: the name's use is not said
    assert record.problems == ()
    assert record.past_problems[0].code == Concept.of(ICD10, "C18.7")
    assert record.past_problems[0].onset == "2021-06"
    assert record.results[0].value == Quantity(Decimal("3.5"))  # no unit column: no unit
    assert record.results[0].reference_range == "< 5.0"  # as written
    document = build_document(record, document_id=DOCUMENT_ID, timestamp=TIMESTAMP, country="BE")
    assert document_errors(document) == []
    (observation,) = [
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Observation"
    ]
    assert observation["referenceRange"] == [{"text": "< 5.0"}]


def test_a_profile_without_comparators_refuses_a_compared_number():
    profile = shipped_profiles().get(PROFILE)
    assert profile is not None
    data = (
        "batch,kind,nn,surname,dob,gender,icd,date,test,result,range\n"
        "B-7,PAT,85073003328,Essai-Dubois,1985-07-30,M,,,,,\n"
        "B-7,BIO,,,,,,2024-01-09,2039-6,<0.5,\n"
    ).encode("cp1252")
    with pytest.raises(RecordRejected) as caught:
        read_registry_csv(data, other_registry(profile))
    assert caught.value.location == "line 3, column result"
    assert caught.value.detail == "not a number (digits with a decimal point)"


def test_the_profile_names_the_encoding():
    profile = shipped_profiles().get(PROFILE)
    assert profile is not None
    latin = other_registry(profile)
    data = "batch,kind,nn,surname,dob,gender,icd,date,test,result,range\nB,PAT,1,Pété,1985,F,,,,,\n"
    reading = read_registry_csv(data.encode("cp1252"), latin)
    assert reading.record.patient.names[0].family == "Pété"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["rows", "patient", "patient", "gender", "codes", "1"], "man"),
        (["rows", "treatment", "record", "codes", "SURG"], "patient"),
        (["csv", "delimiter"], ";;"),
        (["rows", "lab", "results", "code", "codings", 0, "system"], "LOINC"),
        (["rows", "diagnosis", "problems", "onset"], None),
        (["rows", "lab", "results", "colour"], "red"),
        (["rows", "lab", "record"], "vital_signs"),  # gives only results fields
        (["rows", "patient", "patient", "name_use"], "legal"),
        (["rows", "lab", "results", "value", "comparators", "<"], "lt"),
        (["rows", "lab", "results", "value", "comparators", "<1"], "<"),  # a digit in a prefix
    ],
)
def test_the_loader_refuses_a_broken_mapping(tmp_path, path, value):
    shutil.copytree(PROFILES / "conceptmaps", tmp_path / "conceptmaps")
    (tmp_path / "be").mkdir()
    text = (PROFILES / "be" / f"{PROFILE}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    node = data["mapping"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (tmp_path / "be" / f"{PROFILE}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ProfileError, match="mapping"):
        load_profiles(tmp_path)


def test_a_mapping_the_reader_cannot_follow_is_a_profile_error():
    profile = shipped_profiles().get(PROFILE)
    assert profile is not None
    broken = dict(profile.mapping, dates=["DD/YYYY"])  # a day without its month
    with pytest.raises(RecordError) as caught:
        read_registry_csv(minimal(), replace(profile, mapping=broken))
    assert caught.value.location == "profile"
