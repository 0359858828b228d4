"""One gateway (DE) and the parties around it, each with its own registered client and token:
the national node that pushes records, care providers' nodes in FR and IT, a research client,
and the citizens' consent portal that sends webhooks and reads the access log."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from tests.support.consent import send, with_webhooks
from tests.support.oauth import ALL_SCOPES, ClientKey, obtain_token, register
from tests.support.stores import load

__all__ = ["READS", "Parties", "parties", "unknown_id"]

READS = (
    "system/Patient.rs system/DiagnosticReport.rs system/Observation.rs system/Consent.rs "
    "system/AuditEvent.rs"
)


def _clients() -> dict[str, ClientKey]:
    return {
        "node-de": ClientKey(client_id="node-de", country="DE", scopes=ALL_SCOPES),
        "node-fr": ClientKey(client_id="node-fr", country="FR", scopes=READS),
        "node-it": ClientKey(client_id="node-it", country="IT", scopes=READS, purposes=("TREAT",)),
        "research": ClientKey(
            client_id="research-de", country="DE", scopes=READS, purposes=("HRESCH",)
        ),
        "portal": ClientKey(
            client_id="consent-portal",
            country="DE",
            scopes="system/AuditEvent.rs system/Consent.rs",
            purposes=("PATRQT",),
        ),
    }


@dataclass
class Parties:
    http: TestClient
    tokens: dict[str, str]

    def get(self, who: str, path: str, **params: Any) -> Any:
        """``who``'s GET (a bearer token of its own); never a 500."""
        response = self.http.get(path, params=params, headers=self._bearer(who))
        assert response.status_code < 500, response.text
        return response

    def push(self, body: bytes, profile: str) -> str:
        """The national node pushes a record; the stored patient's id."""
        response = self.http.post(
            "/national/records",
            params={"profile": profile},
            content=body,
            headers=self._bearer("node-de"),
        )
        assert response.status_code == 201, response.text
        return str(response.headers["location"].rsplit("/", 1)[1])

    def portal_says(self, kind: str, system: str, value: str, **data: Any) -> None:
        send(self.http, kind, system, value, **data)

    def log(self, patient_id: str) -> list[dict[str, Any]]:
        """The patient's access log as the consent portal reads it (EHDS Art. 9)."""
        found = self.get("portal", "/fhir/AuditEvent", patient=f"Patient/{patient_id}", _count=1000)
        assert found.status_code == 200, found.text
        return [entry["resource"] for entry in found.json()["entry"]]

    def _bearer(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@contextmanager
def parties(settings: Settings, *jobs: VcfIngest) -> Iterator[Parties]:
    """The gateway over a store loaded with ``jobs``, with webhooks configured and a token for
    each party."""
    configured = with_webhooks(settings)
    if jobs:
        asyncio.run(load(configured, *jobs))
    clients = _clients()
    register(configured, *clients.values())
    with TestClient(create_app(configured)) as http:
        tokens = {name: obtain_token(http, configured, key) for name, key in clients.items()}
        yield Parties(http, tokens)


def unknown_id() -> str:
    """A patient id of the gateway's form that names no one."""
    return str(uuid.uuid4())
