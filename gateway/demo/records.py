"""Synthetic German national records for the demo cohort's linked citizens.

One ISiK-style FHIR Bundle per citizen the demo manifest links to a KVNR: the Patient (the
manifest's sex, an invented name, a birth date), one to three diagnoses in ICD-10-GM and a
HbA1c result for the diabetics. They go through the ``de-isik-fhir`` profile like any pushed
record, so the demo's Beacon answers ``ICD10:`` filters and ``$summary`` has something to show.
Deterministic: the same seed and manifest give the same bytes, so loading twice stores nothing.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DemoRecord", "demo_records"]

_GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
_FAMILY = ("Testperson", "Beispiel", "Musterfrau", "Probandin", "Demo", "Fiktiv")
_GIVEN = {
    "female": ("Erika", "Anna", "Greta", "Mia", "Lea", "Hanna"),
    "male": ("Max", "Paul", "Jonas", "Felix", "Emil", "Noah"),
    "other": ("Kim", "Alex", "Robin"),
    "unknown": ("Kim", "Alex", "Robin"),
}
# ICD-10-GM codes the DE ConceptMap maps to ICD-10 WHO, except I10.90, which it keeps national.
_DIAGNOSES = (
    ("E11.90", "Diabetes mellitus, Typ 2, ohne Komplikationen"),
    ("I10.90", "Essentielle Hypertonie, nicht näher bezeichnet"),
    ("J45.9", "Asthma bronchiale, nicht näher bezeichnet"),
    ("M17.1", "Sonstige primäre Gonarthrose"),
    ("J18.9", "Pneumonie, nicht näher bezeichnet"),
)
_BREAST_CANCER = ("C50.9", "Bösartige Neubildung: Brustdrüse, nicht näher bezeichnet")


@dataclass(frozen=True, slots=True)
class DemoRecord:
    individual_id: str
    identifier: str  # system|value, as in the manifest
    body: bytes  # an ISiK-style FHIR Bundle, JSON


def demo_records(manifest: Path, seed: int = 20261128) -> list[DemoRecord]:
    """A record for each manifest line with an identifier, in manifest order."""
    rng = random.Random(seed)
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle, delimiter="\t") if row["identifier"]]
    return [DemoRecord(row["individual_id"], row["identifier"], _bundle(rng, row)) for row in rows]


def _bundle(rng: random.Random, row: dict[str, str]) -> bytes:
    system, _, value = row["identifier"].partition("|")
    patient_id = row["individual_id"].lower()
    sex = row["sex"]
    diagnoses = rng.sample(_DIAGNOSES, k=rng.randint(1, 3))
    if sex == "female" and rng.random() < 0.25:
        diagnoses.append(_BREAST_CANCER)
    entries = [_patient(rng, patient_id, system, value, sex)]
    entries += [_condition(patient_id, n, code, text) for n, (code, text) in enumerate(diagnoses)]
    if any(code == "E11.90" for code, _ in diagnoses):
        entries.append(_hba1c(rng, patient_id))
    bundle = {
        "resourceType": "Bundle",
        "identifier": {"system": "https://demo.gateway.example.eu/sid/bundle", "value": patient_id},
        "type": "collection",
        "timestamp": "2026-01-15T09:00:00+01:00",
        "entry": [
            {
                "fullUrl": f"https://demo.gateway.example.eu/fhir/{e['resourceType']}/{e['id']}",
                "resource": e,
            }
            for e in entries
        ],
    }
    return json.dumps(bundle, ensure_ascii=False, sort_keys=True).encode()


def _patient(rng: random.Random, patient_id: str, system: str, value: str, sex: str) -> Any:
    birth = f"{rng.randint(1940, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"lastUpdated": "2026-01-15T09:00:00+01:00"},
        "identifier": [{"system": system, "value": value}],
        "name": [
            {"use": "official", "family": rng.choice(_FAMILY), "given": [rng.choice(_GIVEN[sex])]}
        ],
        "gender": sex,
        "birthDate": birth,
    }


def _condition(patient_id: str, index: int, code: str, text: str) -> Any:
    return {
        "resourceType": "Condition",
        "id": f"{patient_id}-dx{index}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": _GM, "version": "2026", "code": code}], "text": text},
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def _hba1c(rng: random.Random, patient_id: str) -> Any:
    return {
        "resourceType": "Observation",
        "id": f"{patient_id}-hba1c",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}], "text": "HbA1c"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2025-11-03",
        "valueQuantity": {
            "value": round(rng.uniform(6.0, 9.5), 1),
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
    }
