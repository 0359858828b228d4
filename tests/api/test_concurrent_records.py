"""Records for one new patient pushed at the same time to a real server: one patient, no lost
record, whatever the back end (SQLite serialises writers; PostgreSQL takes advisory locks)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.server import gateway_process, node_token

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "ingest" / "records" / "data" / "registry_csv" / "breast-cancer.csv"
SSIN = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"


def versions(count: int) -> list[bytes]:
    """The sample under ``count`` submission ids: ``count`` streams for the same citizen."""
    text = SAMPLE.read_bytes().decode("utf-8-sig")
    return [text.replace("BCR-2024-000173", f"BCR-2024-9{n:05d}").encode() for n in range(count)]


def test_concurrent_pushes_for_one_new_patient_make_one_patient(
    database_url: str, tmp_path: Path
) -> None:
    environment = {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    bodies = versions(6)
    with gateway_process(environment) as base:
        bearer = {"Authorization": f"Bearer {node_token(environment, base, tmp_path)}"}

        def push(body: bytes) -> httpx.Response:
            return httpx.post(
                f"{base}/national/records",
                params={"profile": "be-cancer-registry-csv"},
                content=body,
                headers=bearer,
                timeout=60,
            )

        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            responses = list(pool.map(push, bodies))
        assert [r.status_code for r in responses] == [201] * len(bodies), [
            r.text for r in responses
        ]
        assert len({r.headers["location"] for r in responses}) == 1
        outcomes = [r.json()["issue"][0]["diagnostics"] for r in responses]
        assert sum("a new patient" in text for text in outcomes) == 1

        found = httpx.get(
            f"{base}/fhir/Patient",
            params={"identifier": f"{SSIN}|68041204878"},
            headers=bearer,
            timeout=30,
        ).json()
        assert found["total"] == 1
