"""Citizens' genomic reports: made when a VCF is ingested with a manifest, served over FHIR,
listed in the patient's summary."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from tests.api.conftest import SMALL_MANIFEST, SMALL_VCF, node_headers, serving
from tests.support.fhir_validation import document_errors, parse_with_fhir_resources

KVNR = "http://fhir.de/sid/gkv/kvid-10"
JOB = VcfIngest(
    SMALL_VCF,
    "cohort",
    manifest=SMALL_MANIFEST,
    policy=PolicyChange(max_granularity=Granularity.RECORD),
)


def patient_record(value: str) -> bytes:
    return json.dumps(
        {
            "resourceType": "Patient",
            "id": "p",
            "meta": {"lastUpdated": "2026-01-15T09:00:00+01:00"},
            "identifier": [{"system": KVNR, "value": value}],
            "name": [{"use": "official", "family": "Testperson", "given": ["Erika"]}],
            "gender": "female",
            "birthDate": "1964-08-12",
        }
    ).encode()


def patient_id(client: TestClient, value: str) -> str:
    response = client.post(
        "/national/records", params={"profile": "de-isik-fhir"}, content=patient_record(value)
    )
    assert response.status_code == 201, response.text
    return str(response.headers["location"].rsplit("/", 1)[1])


def searchset(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == "searchset"
    return body


def expected_alleles(sample: str) -> int:
    """Distinct non-reference alleles of ``sample`` in the small VCF, read from its text."""
    lines = [line for line in SMALL_VCF.read_text().splitlines() if line and line[0] != "#"]
    header = next(line for line in SMALL_VCF.read_text().splitlines() if line.startswith("#CHROM"))
    column = header.split("\t").index(sample)
    total = 0
    for line in lines:
        fields = line.split("\t")
        if fields[6] not in ("PASS", "."):
            continue
        genotype = fields[column].split(":")[0].replace("|", "/")
        total += len({a for a in genotype.split("/") if a not in (".", "0")})
    return total


def test_a_linked_citizens_report_is_served_and_summarised(settings: Settings) -> None:
    with serving(settings, JOB) as client:
        client.headers.update(node_headers(client, settings))
        pid = patient_id(client, "A123456780")  # S1 in the manifest
        subject = f"Patient/{pid}"
        reports = searchset(
            client.get("/fhir/DiagnosticReport", params={"subject": subject, "category": "GE"})
        )
        assert reports["total"] == 1
        report = reports["entry"][0]["resource"]
        assert report["code"]["coding"][0]["code"] == "51969-4"
        assert report["subject"] == {"reference": subject}
        assert parse_with_fhir_resources(report) == []

        wanted = expected_alleles("S1")
        first = searchset(
            client.get(
                "/fhir/Observation", params={"subject": subject, "code": "69548-6", "_count": 2}
            )
        )
        assert first["total"] == wanted
        assert len(first["entry"]) == min(2, wanted)
        assert all(e["resource"]["subject"] == {"reference": subject} for e in first["entry"])
        if wanted > 2:
            following = next(link["url"] for link in first["link"] if link["relation"] == "next")
            second = searchset(client.get(following[following.index("/fhir/") :]))
            assert {e["resource"]["id"] for e in second["entry"]}.isdisjoint(
                {e["resource"]["id"] for e in first["entry"]}
            )

        one = first["entry"][0]["resource"]
        read = client.get(f"/fhir/Observation/{one['id']}")
        assert read.status_code == 200
        assert read.json() == one

        summary = client.get(f"/fhir/Patient/{pid}/$summary").json()
        assert document_errors(summary) == []
        results = next(
            s
            for s in summary["entry"][0]["resource"]["section"]
            if s["code"]["coding"][0]["code"] == "30954-2"
        )
        listed = {e["reference"] for e in results["entry"]}
        in_document = {
            e["fullUrl"]: e["resource"] for e in summary["entry"] if e["fullUrl"] in listed
        }
        assert any(r["resourceType"] == "DiagnosticReport" for r in in_document.values())


def test_no_report_for_an_unlinked_or_unknown_patient(settings: Settings) -> None:
    with serving(settings, JOB) as client:
        client.headers.update(node_headers(client, settings))
        pid = patient_id(client, "M123456785")  # S5 is linked: has a report
        unknown = "Patient/00000000-0000-4000-8000-000000000000"
        empty = searchset(client.get("/fhir/DiagnosticReport", params={"subject": unknown}))
        assert empty["total"] == 0
        other_category = searchset(
            client.get(
                "/fhir/DiagnosticReport", params={"subject": f"Patient/{pid}", "category": "LAB"}
            )
        )
        assert other_category["total"] == 0
        bad = client.get("/fhir/Observation", params={"subject": "Group/1"})
        assert bad.status_code == 400
        assert bad.json()["resourceType"] == "OperationOutcome"
        too_many = client.get(
            "/fhir/Observation", params={"subject": f"Patient/{pid}", "_count": 5000}
        )
        assert too_many.status_code == 400
        missing = client.get("/fhir/Observation/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404


def test_a_replaced_file_leaves_one_report_per_sample(settings: Settings) -> None:
    again = VcfIngest(
        SMALL_VCF,
        "cohort",
        manifest=SMALL_MANIFEST,
        replace=True,
        policy=PolicyChange(max_granularity=Granularity.RECORD),
    )
    with serving(settings, JOB, again) as client:
        client.headers.update(node_headers(client, settings))
        pid = patient_id(client, "A123456780")
        reports = searchset(
            client.get("/fhir/DiagnosticReport", params={"subject": f"Patient/{pid}"})
        )
        assert reports["total"] == 1
        observations = searchset(
            client.get("/fhir/Observation", params={"subject": f"Patient/{pid}", "_count": 0})
        )
        assert observations["total"] == expected_alleles("S1")
        assert observations["entry"] == []
