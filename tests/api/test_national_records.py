"""``POST /national/records`` and the ``/fhir`` patient surface, through the real app.

The record is the Belgian cancer registry sample (``tests/ingest/records/data/registry_csv``);
versions of it are made by changing its submission date, which is the record's source date.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from tests.api.conftest import SMALL_VCF, gateway, node_headers, serving
from tests.support.fhir_validation import document_errors

DATA = Path(__file__).parents[1] / "ingest" / "records" / "data" / "registry_csv"
RECORD = (DATA / "breast-cancer.csv").read_bytes()
PROFILE = "be-cancer-registry-csv"
SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"
CITIZEN = f"{SSIN}|68041204878"
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with gateway(settings) as test_client:
        yield test_client


def push(
    client: TestClient, body: bytes, profile: str = PROFILE, headers: dict[str, str] | None = None
) -> Any:
    return client.post(
        "/national/records", params={"profile": profile}, content=body, headers=headers
    )


def version(submitted: str, extra_rows: str = "") -> bytes:
    """The sample with another submission date (dd/mm/yyyy hh:mm:ss), plus rows."""
    text = RECORD.decode("utf-8-sig").replace("28/05/2024 14:32:10", submitted)
    return (text.rstrip("\r\n") + "\n" + extra_rows).encode()


def diagnosis_row(submitted: str, code: str) -> str:
    cells = ["BCR-2024-000173", submitted, "", "diagnosis", "68041204878"] + [""] * 6
    cells += ["01/01/2024", "", code, "", "", "", "", "", "", "", ""]
    cells += [""] * (34 - len(cells))
    return ";".join(cells) + "\n"


def problem_codes(document: dict[str, Any]) -> list[str]:
    return sorted(
        coding["code"]
        for entry in document["entry"]
        if entry["resource"]["resourceType"] == "Condition"
        for coding in entry["resource"]["code"].get("coding", [])
        if coding["system"] == "http://hl7.org/fhir/sid/icd-10"
    )


def outcome(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_a_pushed_record_is_stored_and_its_patient_located(client):
    response = push(client, RECORD)
    body = outcome(response, 201)
    location = response.headers["location"]
    assert "/fhir/Patient/" in location
    assert body["issue"][0]["severity"] == "information"
    assert "a new patient" in body["issue"][0]["diagnostics"]
    patient = client.get(location[location.index("/fhir/") :])
    assert patient.status_code == 200
    assert patient.headers["content-type"].startswith(FHIR_JSON)
    assert {"system": SSIN, "value": "68041204878"} in patient.json()["identifier"]


def test_warnings_name_codes_that_reach_no_eu_system(client):
    body = outcome(push(client, RECORD), 201)
    warnings = [i for i in body["issue"] if i["severity"] == "warning"]
    assert warnings, "the sample has local codes without an EU coding"
    assert all(i["location"] and "Lieve" not in i["diagnostics"] for i in warnings)


def test_the_summary_is_a_valid_ips_document_for_the_stored_patient(client):
    location = push(client, RECORD).headers["location"]
    patient_id = location.rsplit("/", 1)[1]
    response = client.get(f"/fhir/Patient/{patient_id}/$summary")
    assert response.status_code == 200
    document = response.json()
    assert document_errors(document) == []
    patient = next(e for e in document["entry"] if e["resource"]["resourceType"] == "Patient")
    assert patient["resource"]["id"] == patient_id
    assert problem_codes(document) == ["C44.3", "C50.4"]


def test_the_summary_by_identifier_is_the_same_patients(client):
    patient_id = push(client, RECORD).headers["location"].rsplit("/", 1)[1]
    response = client.get("/fhir/Patient/$summary", params={"identifier": CITIZEN})
    assert response.status_code == 200
    patient = next(
        e for e in response.json()["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert patient["resource"]["id"] == patient_id


def test_search_by_identifier_finds_one_patient_and_unknown_finds_none(client):
    patient_id = push(client, RECORD).headers["location"].rsplit("/", 1)[1]
    found = client.get("/fhir/Patient", params={"identifier": CITIZEN}).json()
    assert found["resourceType"] == "Bundle"
    assert found["type"] == "searchset"
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["id"] == patient_id
    none = client.get("/fhir/Patient", params={"identifier": f"{SSIN}|85073003328"}).json()
    assert none["total"] == 0
    assert none["entry"] == []
    by_id = client.get("/fhir/Patient", params={"_id": patient_id}).json()
    assert by_id["total"] == 1


def test_the_same_record_twice_stores_nothing_new(client):
    first = push(client, RECORD)
    again = push(client, RECORD)
    body = outcome(again, 200)
    assert "nothing changed" in body["issue"][0]["diagnostics"]
    assert again.headers["location"] == first.headers["location"]
    patient_id = first.headers["location"].rsplit("/", 1)[1]
    document = client.get(f"/fhir/Patient/{patient_id}/$summary").json()
    assert problem_codes(document) == ["C44.3", "C50.4"]  # no duplicates


def test_a_newer_version_supersedes_and_an_older_one_does_not(client):
    location = push(client, RECORD).headers["location"]
    patient_id = location.rsplit("/", 1)[1]
    newer = "29/05/2024 09:00:00"
    updated = outcome(push(client, version(newer, diagnosis_row(newer, "C61"))), 201)
    assert "now includes it" in updated["issue"][0]["diagnostics"]
    summary = client.get(f"/fhir/Patient/{patient_id}/$summary").json()
    assert problem_codes(summary) == ["C44.3", "C50.4", "C61"]

    older = "27/05/2024 09:00:00"
    late = outcome(push(client, version(older, diagnosis_row(older, "C34.1"))), 201)
    assert "newer version" in late["issue"][0]["diagnostics"]
    summary = client.get(f"/fhir/Patient/{patient_id}/$summary").json()
    assert problem_codes(summary) == ["C44.3", "C50.4", "C61"]


def test_a_summary_asked_before_a_newer_version_is_not_served_again_after_it(client):
    location = push(client, RECORD).headers["location"]
    summary_path = f"/fhir/Patient/{location.rsplit('/', 1)[1]}/$summary"
    first = client.get(summary_path).json()
    assert client.get(summary_path).json() == first  # the kept signed document
    newer = "29/05/2024 09:00:00"
    outcome(push(client, version(newer, diagnosis_row(newer, "C61"))), 201)
    after = client.get(summary_path).json()
    assert problem_codes(first) == ["C44.3", "C50.4"]
    assert problem_codes(after) == ["C44.3", "C50.4", "C61"]
    assert after["id"] != first["id"]


def test_an_unknown_profile_is_a_400_outcome_naming_the_installed_ones(client):
    body = outcome(push(client, RECORD, profile="xx-nothing"), 400)
    assert "unknown profile 'xx-nothing'" in body["issue"][0]["diagnostics"]
    assert PROFILE in body["issue"][0]["diagnostics"]


def test_an_oversized_record_is_refused_while_it_streams(settings):
    small = settings.model_copy(update={"record_max_bytes": 2048})
    with gateway(small) as client:
        body = outcome(push(client, RECORD), 413)
    assert body["issue"][0]["code"] == "too-costly"


def test_a_bad_record_is_refused_with_where_and_nothing_is_stored(client):
    broken = RECORD.replace(b"12/04/1968", b"31/02/1968")
    body = outcome(push(client, broken), 422)
    issue = body["issue"][0]
    assert issue["severity"] == "error"
    assert issue["location"]
    assert "1968" not in issue["diagnostics"]
    found = client.get("/fhir/Patient", params={"identifier": CITIZEN}).json()
    assert found["total"] == 0


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/fhir/Patient/00000000-0000-4000-8000-000000000000", {}, 404),
        ("/fhir/Patient/00000000-0000-4000-8000-000000000000/$summary", {}, 404),
        ("/fhir/Patient/$summary", {"identifier": f"{SSIN}|85073003328"}, 404),
        ("/fhir/Patient/$summary", {"identifier": "85073003328"}, 400),
        ("/fhir/Patient/$summary", {}, 400),
        ("/fhir/Patient", {}, 400),
    ],
)
def test_fhir_errors_are_operation_outcomes(client, path, params, status):
    body = outcome(client.get(path, params=params), status)
    assert "85073003328" not in body["issue"][0]["diagnostics"]


def test_metadata_is_public_and_says_what_the_server_does(client):
    response = client.get("/fhir/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    (rest,) = statement["rest"]
    assert [r["type"] for r in rest["resource"]] == ["Patient", "DiagnosticReport", "Observation"]
    assert {p["name"] for p in rest["resource"][0]["searchParam"]} == {"identifier", "_id"}
    assert rest["operation"][0]["definition"].endswith("OperationDefinition/summary")


def test_beacon_individuals_take_diagnoses_from_linked_records(settings, tmp_path):
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(
        "sample_id\tindividual_id\tsex\tidentifier\n"
        f"S1\tP1\tmale\t{CITIZEN}\n"
        "S2\tP2\tfemale\thttp://fhir.de/sid/gkv/kvid-10|E567890127\n"
        + "".join(f"S{n}\tP{n}\tunknown\t\n" for n in range(3, 7))
    )
    job = VcfIngest(
        SMALL_VCF,
        "cohort",
        manifest=manifest,
        policy=PolicyChange(max_granularity=Granularity.RECORD),
    )
    with serving(settings, job) as client:

        def individuals(*filters: str) -> list[dict[str, Any]]:
            body = {
                "meta": {"apiVersion": "v2.0"},
                "query": {
                    "filters": [{"id": f} for f in filters],
                    "requestedGranularity": "record",
                },
            }
            response = client.post("/beacon/individuals", json=body)
            assert response.status_code == 200, response.text
            sets = response.json()["response"].get("resultSets", [])
            return [r for s in sets for r in s.get("results", [])]

        assert individuals("ICD10:C50") == []
        assert push(client, RECORD, headers=node_headers(client, settings)).status_code == 201
        (person,) = individuals("ICD10:C50")  # C50.4 is a descendant of C50
        assert person["id"] == "P1"
        assert person["sex"]["id"] == "NCIT:C16576"  # female, from the record, not the manifest
        assert {"ICD10:C44.3", "ICD10:C50.4"} <= {
            d["diseaseCode"]["id"] for d in person["diseases"]
        }
        assert individuals("ICD10:C50.4", "NCIT:C16576")[0]["id"] == "P1"
        assert individuals("ICD10:C61") == []
        bad = client.get("/beacon/individuals", params={"filters": "ICD10:not-a-code"})
        assert bad.status_code == 400


def test_a_citizen_of_an_opt_in_country_does_not_count_for_research(settings, tmp_path):
    # profiles/nl/policy.yaml: research deny (opt-in); profiles/de/policy.yaml: permit.
    manifest = tmp_path / "manifest.tsv"
    manifest.write_text(
        "sample_id\tindividual_id\tsex\tidentifier\n"
        "S1\tP1\tfemale\thttp://fhir.nl/fhir/NamingSystem/bsn|999999011\n"
        "S2\tP2\tfemale\thttp://fhir.de/sid/gkv/kvid-10|E567890127\n"
        + "".join(f"S{n}\tP{n}\tunknown\t\n" for n in range(3, 7))
    )
    job = VcfIngest(
        SMALL_VCF,
        "cohort",
        manifest=manifest,
        policy=PolicyChange(max_granularity=Granularity.RECORD),
    )
    with serving(settings, job) as client:
        body = {"meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "record"}}
        response = client.post("/beacon/individuals", json=body)
        assert response.status_code == 200, response.text
        (result_set,) = response.json()["response"]["resultSets"]
        assert [r["id"] for r in result_set["results"]] == ["P2"]


def isik_patient(patient_id: str, *identifiers: tuple[str, str]) -> bytes:
    resource = {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"lastUpdated": "2026-01-15T09:00:00+01:00"},
        "identifier": [{"system": system, "value": value} for system, value in identifiers],
        "name": [{"use": "official", "family": "Testperson", "given": ["Erika"]}],
        "gender": "female",
        "birthDate": "1964-08-12",
    }
    return json.dumps(resource).encode()


def test_a_record_naming_two_stored_patients_is_a_conflict_and_stores_nothing(client):
    gkv = ("http://fhir.de/sid/gkv/kvid-10", "A123456780")
    pkv = ("http://fhir.de/sid/pkv/kvid-10", "M123456785")
    first = push(client, isik_patient("a", gkv), profile="de-isik-fhir")
    second = push(client, isik_patient("b", pkv), profile="de-isik-fhir")
    assert first.headers["location"] != second.headers["location"]
    body = outcome(push(client, isik_patient("c", gkv, pkv), profile="de-isik-fhir"), 409)
    assert "different stored patients" in body["issue"][0]["diagnostics"]
    assert "A123456780" not in json.dumps(body)
    found = client.get("/fhir/Patient", params={"identifier": "|".join(gkv)}).json()
    assert len(found["entry"][0]["resource"]["identifier"]) == 1
