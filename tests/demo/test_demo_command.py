"""``gateway demo`` as ``make run`` uses it: variants and national records, idempotent, and
what a newcomer tries first answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.demo.records import demo_records
from gateway.settings import Settings
from tests.api.conftest import node_headers
from tests.cli.test_ingest_command import command, environment
from tests.support.fhir_validation import document_errors


def demo(database_url: str, out: Path) -> list[str]:
    result = subprocess.run(
        command("demo", "--out", out),
        env=environment(database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_demo_loads_records_once_and_the_summary_and_beacon_answer(
    settings: Settings, tmp_path: Path
) -> None:
    first = demo(settings.database_url, tmp_path / "demo")
    records = demo_records(tmp_path / "demo" / "demo-manifest.tsv")
    assert f"national records: {len(records)} of {len(records)} stored" in first
    again = demo(settings.database_url, tmp_path / "demo")
    assert f"national records: 0 of {len(records)} stored" in again
    example = next(line for line in first if line.startswith("example citizen: "))
    identifier = example.removeprefix("example citizen: ")

    with TestClient(create_app(settings)) as client:
        node = node_headers(client, settings)  # the Beacon itself is open (no node token there)
        summary = client.get(
            "/fhir/Patient/$summary", params={"identifier": identifier}, headers=node
        )
        assert summary.status_code == 200
        assert document_errors(summary.json()) == []
        asthma = client.get("/beacon/individuals", params={"filters": "ICD10:J45"})
        assert asthma.status_code == 200
        assert asthma.json()["responseSummary"]["exists"] is True
