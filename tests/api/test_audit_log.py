"""Accesses are logged as AuditEvents in a hash chain that ``gateway audit verify`` checks."""

from __future__ import annotations

import asyncio
import subprocess

from sqlalchemy import text

from gateway.settings import Settings
from gateway.storage.database import open_database
from tests.api.conftest import gateway
from tests.api.test_national_records import RECORD
from tests.cli.test_ingest_command import command, environment
from tests.support.fhir_validation import parse_with_fhir_resources, validate_resource


def audit_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("audit", "verify"),
        env=environment(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def use_the_gateway(settings: Settings) -> str:
    with gateway(settings) as client:
        pushed = client.post(
            "/national/records", params={"profile": "be-cancer-registry-csv"}, content=RECORD
        )
        patient = pushed.headers["location"].rsplit("/", 1)[1]
        assert client.get(f"/fhir/Patient/{patient}/$summary").status_code == 200
        refused = client.post("/consent/events", content=b"{}", headers={"webhook-id": "x"})
        assert refused.status_code == 401
        log = client.get("/fhir/AuditEvent", params={"patient": f"Patient/{patient}"}).json()
    assert log["total"] == 2
    create, read = (e["resource"] for e in log["entry"])
    assert create["action"] == "C"
    assert read["subtype"][0]["code"] == "operation"
    assert read["entity"][0]["what"] == {"reference": f"Patient/{patient}"}
    # The requester is the national node whose token was used, with its purpose of use.
    assert read["agent"][0]["who"] == {"display": "node-de"}
    assert read["agent"][0]["purposeOfUse"][0]["coding"][0]["code"] == "TREAT"
    for event in (create, read):
        assert validate_resource(event) == []
        assert parse_with_fhir_resources(event) == []
    return patient


def test_accesses_are_logged_and_the_chain_holds(settings):
    use_the_gateway(settings)
    result = audit_verify(settings.database_url)
    assert result.returncode == 0, result.stderr
    # The token issued, the record pushed, the summary read, the refused webhook.
    assert result.stdout.strip() == "audit chain: 4 records hold"


FLIP = "update audit_events set content = replace(content, :a, :b) where sequence = 2"


def tamper(database_url: str, *statements: tuple[str, dict[str, str]]) -> None:
    """Edit the log behind the gateway's back, as someone with database access could."""

    async def run() -> None:
        database = open_database(database_url)
        try:
            async with database.write() as connection:
                for sql, parameters in statements:
                    await connection.execute(text(sql), parameters)
        finally:
            await database.dispose()

    asyncio.run(run())


def test_a_changed_or_deleted_record_is_detected(settings):
    use_the_gateway(settings)
    tamper(settings.database_url, (FLIP, {"a": '"C"', "b": '"R"'}))
    changed = audit_verify(settings.database_url)
    assert changed.returncode == 1
    assert "record 2: its content was changed" in changed.stderr
    tamper(
        settings.database_url,
        (FLIP, {"a": '"R"', "b": '"C"'}),
        ("delete from audit_events where sequence = 3", {}),
    )
    deleted = audit_verify(settings.database_url)
    assert deleted.returncode == 1
    assert "record 4: expected record 3 here" in deleted.stderr


def test_reads_and_searches_are_logged_too(settings):
    with gateway(settings) as client:
        pushed = client.post(
            "/national/records", params={"profile": "be-cancer-registry-csv"}, content=RECORD
        )
        patient = pushed.headers["location"].rsplit("/", 1)[1]
        subject = f"Patient/{patient}"
        assert client.get(f"/fhir/Patient/{patient}").status_code == 200
        assert client.get("/fhir/Observation", params={"subject": subject}).status_code == 200
        assert client.get("/fhir/DiagnosticReport", params={"subject": subject}).status_code == 200
        log = client.get("/fhir/AuditEvent", params={"patient": subject}).json()
    kinds = [(e["resource"]["action"], e["resource"]["subtype"][0]["code"]) for e in log["entry"]]
    assert kinds == [("C", "create"), ("R", "read"), ("R", "search-type"), ("R", "search-type")]
