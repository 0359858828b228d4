"""Every file of the readers' bad-input corpora, pushed to ``POST /national/records``: a 4xx
``OperationOutcome`` that says where, no patient data in it, and nothing stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.settings import Settings
from tests.api.conftest import gateway

DATA = Path(__file__).parents[1] / "ingest" / "records" / "data"
PROFILE_FOR = {
    "cda": "generic-ehdsi-cda",
    "fhir": "de-isik-fhir",
    "hl7v2": "fr-hl7v2-pam",
    "registry_csv": "be-cancer-registry-csv",
}
CORPUS = sorted(DATA.glob("*/bad/*"))
# Patient data the corpora are built from: it must never come back in an error.
NEVER_ECHOED = ("Testpatiënt", "Lieve", "Rossi", "Mario", "185077512345608", "68041204878")


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-records") / "gateway.db"


@pytest.fixture(scope="module")
def client(database: Path) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{database}",
        profiles_dir=Path(__file__).parents[2] / "profiles",
        log_level="WARNING",
    )
    with gateway(settings) as test_client:
        yield test_client


def test_the_corpus_covers_every_format() -> None:
    assert {path.parent.parent.name for path in CORPUS} == set(PROFILE_FOR)
    assert len(CORPUS) >= 60


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_bad_record_is_a_located_4xx_outcome_and_nothing_is_stored(
    client: TestClient, database: Path, path: Path
) -> None:
    profile = PROFILE_FOR[path.parent.parent.name]
    response = client.post(
        "/national/records", params={"profile": profile}, content=path.read_bytes()
    )
    assert response.status_code in (400, 413, 422), response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    (issue,) = body["issue"]
    assert issue["severity"] == "error"
    assert issue.get("location"), "the outcome says where"
    assert not any(secret in response.text for secret in NEVER_ECHOED)
    with closing(sqlite3.connect(database)) as connection:
        stored = connection.execute(
            "select (select count(*) from patients) + (select count(*) from patient_records)"
        ).fetchone()
    assert stored == (0,)
