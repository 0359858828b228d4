"""A synthetic German hospital record with 40 clinical entries, for ``bench.summary``.

One ISiK-style FHIR R4 Bundle (profile ``de-isik-fhir``) about one invented patient: active and
past problems, allergies, medication statements, immunizations, procedures, laboratory results
and vital signs, 40 in all, shaped like the ISiK example in ``tests/ingest/records/data/fhir``.
Nothing is random: the same file every time, so document sizes compare across runs.

    python -m bench.summary_record --out FILE
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gateway.profiles.identifiers import kvnr_check_digit

BASE = "https://fhir.krankenhaus.example/fhir"
PATIENT_ID = "bench-patient-1"
KVNR = "B98765432" + kvnr_check_digit("B98765432")
ICD10GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"

# (ICD-10-GM code, display, onset, abatement or None)
PROBLEMS = [
    ("E11.90", "Diabetes mellitus, Typ 2: Ohne Komplikationen", "2015-03", None),
    ("I10.90", "Essentielle Hypertonie, nicht näher bezeichnet", "2012", None),
    ("E78.0", "Reine Hypercholesterinämie", "2014-06", None),
    ("I25.19", "Atherosklerotische Herzkrankheit, nicht näher bezeichnet", "2019-11", None),
    ("N18.3", "Chronische Nierenkrankheit, Stadium 3", "2021-02", None),
    ("M17.1", "Sonstige primäre Gonarthrose", "2020-06", None),
    ("J44.99", "Chronische obstruktive Lungenkrankheit, nicht näher bezeichnet", "2017", None),
    ("K21.9", "Gastroösophageale Refluxkrankheit ohne Ösophagitis", "2022-08", None),
    ("J18.9", "Pneumonie, nicht näher bezeichnet", "2019-02-10", "2019-03-01"),
    ("S82.6", "Fraktur des Außenknöchels", "2016-01-04", "2016-03-20"),
    ("K35.8", "Akute Appendizitis, nicht näher bezeichnet", "2009-07-20", "2009-08-01"),
]
# (SNOMED CT substance, display, text, criticality, reaction)
ALLERGIES = [
    (
        "764146007",
        "Substance with penicillin structure (substance)",
        "Penicillin",
        "high",
        "Urtikaria",
    ),
    ("256349002", "Peanut (substance)", "Erdnuss", "high", "Anaphylaxie"),
    ("111088007", "Latex (substance)", "Latex", "low", "Kontaktekzem"),
]
# (ATC code, display, dose text, start, end or None)
MEDICATIONS = [
    ("A10BA02", "metformin", "1000 mg 1-0-1 zu den Mahlzeiten", "2015-04-01", None),
    ("C09AA05", "ramipril", "5 mg 1-0-0", "2012-09-15", None),
    ("C10AA05", "atorvastatin", "40 mg 0-0-1", "2014-07-01", None),
    ("B01AC06", "acetylsalicylic acid", "100 mg 1-0-0", "2019-11-20", None),
    ("C07AB07", "bisoprolol", "2,5 mg 1-0-0", "2019-11-20", None),
    ("R03BB04", "tiotropium bromide", "18 µg 1 Inhalation morgens", "2017-05-10", None),
    ("A02BC02", "pantoprazole", "40 mg 1-0-0", "2022-08-15", "2023-02-15"),
]
# (ATC code, display, text, date, lot)
IMMUNIZATIONS = [
    (
        "J07BB02",
        "influenza, inactivated, split virus or surface antigen",
        "Influenza-Impfstoff, Saison 2023/24",
        "2023-10-15",
        "X123A",
    ),
    (
        "J07AL02",
        "pneumococcus, purified polysaccharides antigen conjugated",
        "Pneumokokken-Konjugatimpfstoff",
        "2021-03-02",
        "PN4471",
    ),
    (
        "J07BN01",
        "covid-19, RNA-based vaccine",
        "COVID-19-mRNA-Impfstoff, Auffrischung",
        "2023-09-28",
        "CV90210",
    ),
]
# (SNOMED CT procedure, display, text, date)
PROCEDURES = [
    ("80146002", "Appendectomy", "Laparoskopische Appendektomie", "2009-07-21"),
    ("33367005", "Angiography of coronary artery", "Koronarangiographie", "2019-11-18"),
    ("91251008", "Physical therapy procedure", "Krankengymnastik, 12 Sitzungen", "2021-01-11"),
]
# (LOINC code, display, text, value, UCUM unit, reference range text)
RESULTS = [
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "HbA1c", 7.1, "%", "4,0-6,0 %"),
    (
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "Kreatinin",
        1.42,
        "mg/dL",
        "0,5-1,1 mg/dL",
    ),
    (
        "62238-1",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
        "Plasma or Blood by Creatinine-based formula (CKD-EPI)",
        "eGFR (CKD-EPI)",
        48,
        "mL/min/{1.73_m2}",
        "> 90 mL/min/1,73 m²",
    ),
    (
        "13457-7",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
        "LDL",
        96,
        "mg/dL",
        "< 70 mg/dL bei KHK",
    ),
    (
        "2823-3",
        "Potassium [Moles/volume] in Serum or Plasma",
        "Kalium",
        4.6,
        "mmol/L",
        "3,5-5,1 mmol/L",
    ),
    (
        "2951-2",
        "Sodium [Moles/volume] in Serum or Plasma",
        "Natrium",
        139,
        "mmol/L",
        "136-145 mmol/L",
    ),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "Hämoglobin", 12.9, "g/dL", "12-16 g/dL"),
    (
        "1988-5",
        "C reactive protein [Mass/volume] in Serum or Plasma",
        "CRP",
        0.4,
        "mg/dL",
        "< 0,5 mg/dL",
    ),
    (
        "3016-3",
        "Thyrotropin [Units/volume] in Serum or Plasma",
        "TSH",
        1.8,
        "m[IU]/L",
        "0,27-4,2 mIU/L",
    ),
    (
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "GPT (ALT)",
        31,
        "U/L",
        "< 35 U/L",
    ),
]
# (LOINC code, display, value, UCUM unit, date-time)
VITALS = [
    ("29463-7", "Body weight", 84.5, "kg", "2024-04-10T09:58:00+02:00"),
    ("8867-4", "Heart rate", 68, "/min", "2024-04-10T10:00:00+02:00"),
    ("8310-5", "Body temperature", 36.8, "Cel", "2024-04-10T10:02:00+02:00"),
]
CLINICAL_ENTRIES = (
    len(PROBLEMS)
    + len(ALLERGIES)
    + len(MEDICATIONS)
    + len(IMMUNIZATIONS)
    + len(PROCEDURES)
    + len(RESULTS)
    + len(VITALS)
)


def record() -> dict[str, Any]:
    """The whole Bundle (type collection), as a hospital would send it."""
    resources = [
        _patient(),
        *(_condition(i, *row) for i, row in enumerate(PROBLEMS)),
        *(_allergy(i, *row) for i, row in enumerate(ALLERGIES)),
        *(_medication(i, *row) for i, row in enumerate(MEDICATIONS)),
        *(_immunization(i, *row) for i, row in enumerate(IMMUNIZATIONS)),
        *(_procedure(i, *row) for i, row in enumerate(PROCEDURES)),
        *(_result(i, *row) for i, row in enumerate(RESULTS)),
        *(_vital(i, *row) for i, row in enumerate(VITALS)),
    ]
    return {
        "resourceType": "Bundle",
        "id": "bench-isik-bundle",
        "meta": {"lastUpdated": "2024-05-02T11:30:00+02:00"},
        "identifier": {"system": f"{BASE}/sid/bundle", "value": "bench-2024-0001"},
        "type": "collection",
        "timestamp": "2024-05-02T11:30:00+02:00",
        "entry": [
            {"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
        ],
    }


def _subject() -> dict[str, str]:
    return {"reference": f"Patient/{PATIENT_ID}"}


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _category(system: str, code: str) -> list[dict[str, Any]]:
    return [{"coding": [{"system": f"{TERMINOLOGY}/{system}", "code": code}]}]


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": PATIENT_ID,
        "identifier": [
            {
                "type": _coding(
                    "http://fhir.de/CodeSystem/identifier-type-de-basis", "KVZ10", "KVNR"
                ),
                "system": "http://fhir.de/sid/gkv/kvid-10",
                "value": KVNR,
            }
        ],
        "name": [{"use": "official", "family": "Benchmann", "given": ["Berta", "Luise"]}],
        "gender": "female",
        "birthDate": "1958-09-23",
        "address": [
            {
                "type": "both",
                "line": ["Messweg 7"],
                "city": "Leipzig",
                "postalCode": "04109",
                "country": "DE",
            }
        ],
    }


def _condition(
    index: int, code: str, display: str, onset: str, abatement: str | None
) -> dict[str, Any]:
    status = "resolved" if abatement else "active"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"condition-{index}",
        "clinicalStatus": _category("condition-clinical", status)[0],
        "verificationStatus": _category("condition-ver-status", "confirmed")[0],
        "category": _category("condition-category", "problem-list-item"),
        "code": {
            "coding": [{"system": ICD10GM, "version": "2024", "code": code, "display": display}],
            "text": display,
        },
        "subject": _subject(),
        "onsetDateTime": onset,
    }
    if abatement:
        resource["abatementDateTime"] = abatement
    return resource


def _allergy(
    index: int, code: str, display: str, text: str, criticality: str, reaction: str
) -> dict[str, Any]:
    return {
        "resourceType": "AllergyIntolerance",
        "id": f"allergy-{index}",
        "clinicalStatus": _category("allergyintolerance-clinical", "active")[0],
        "verificationStatus": _category("allergyintolerance-verification", "confirmed")[0],
        "type": "allergy",
        "criticality": criticality,
        "code": {**_coding(SNOMED, code, display), "text": text},
        "patient": _subject(),
        "reaction": [{"manifestation": [{"text": reaction}]}],
    }


def _medication(
    index: int, code: str, display: str, dose: str, start: str, end: str | None
) -> dict[str, Any]:
    period = {"start": start, **({"end": end} if end else {})}
    return {
        "resourceType": "MedicationStatement",
        "id": f"medication-{index}",
        "status": "completed" if end else "active",
        "medicationCodeableConcept": {**_coding(ATC, code, display), "text": display},
        "subject": _subject(),
        "effectivePeriod": period,
        "dosage": [
            {
                "text": dose,
                "route": _coding("http://standardterms.edqm.eu", "20053000", "Oral use"),
            }
        ],
    }


def _immunization(
    index: int, code: str, display: str, text: str, date: str, lot: str
) -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "id": f"immunization-{index}",
        "status": "completed",
        "vaccineCode": {**_coding(ATC, code, display), "text": text},
        "patient": _subject(),
        "occurrenceDateTime": date,
        "lotNumber": lot,
    }


def _procedure(index: int, code: str, display: str, text: str, date: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": f"procedure-{index}",
        "status": "completed",
        "code": {**_coding(SNOMED, code, display), "text": text},
        "subject": _subject(),
        "performedDateTime": date,
    }


def _result(
    index: int, code: str, display: str, text: str, value: float, unit: str, reference: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"result-{index}",
        "status": "final",
        "category": _category("observation-category", "laboratory"),
        "code": {**_coding(LOINC, code, display), "text": text},
        "subject": _subject(),
        "effectiveDateTime": f"2024-03-{10 + index % 3:02d}T08:20:00+01:00",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
        "referenceRange": [{"text": reference}],
    }


def _vital(
    index: int, code: str, display: str, value: float, unit: str, when: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"vital-{index}",
        "status": "final",
        "category": _category("observation-category", "vital-signs"),
        "code": _coding(LOINC, code, display),
        "subject": _subject(),
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def write(path: Path) -> Path:
    path.write_text(json.dumps(record(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.summary_record", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write(args.out)
    print(f"{args.out}: {CLINICAL_ENTRIES} clinical entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
