"""What the attack tests check of every refusal: the status, the error format its surface
speaks, no 500, and the security alert left in the audit log."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gateway.settings import Settings
from gateway.storage.audit import AuditRepository
from gateway.storage.database import open_database

__all__ = [
    "SECURITY_ALERT",
    "audit_events",
    "oauth_error",
    "outcome",
    "security_alerts",
]

SECURITY_ALERT = "110113"  # DICOM "Security Alert"


def audit_events(settings: Settings) -> list[dict[str, Any]]:
    """Every AuditEvent in the log, oldest first, read through the storage layer (alerts
    have no patient, so the per-patient FHIR search does not show them)."""

    async def read() -> list[dict[str, Any]]:
        database = open_database(settings.database_url)
        try:
            async with database.read() as connection:
                return [
                    json.loads(link.content) async for link in AuditRepository(connection).links()
                ]
        finally:
            await database.dispose()

    return asyncio.run(read())


def security_alerts(settings: Settings) -> list[dict[str, Any]]:
    return [e for e in audit_events(settings) if e["type"]["code"] == SECURITY_ALERT]


def oauth_error(response: Any, status: int, error: str) -> str:
    """An RFC 6749 §5.2 error answer; its description."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    description: str = body["error_description"]
    return description


def outcome(response: Any, status: int) -> dict[str, Any]:
    """A FHIR ``OperationOutcome`` answer with ``status``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return body
