"""Consent portal webhooks as the portal sends them: Standard Webhooks signatures over the raw
body, with the gateway configured to accept them (DESIGN.md §2 "Consent webhooks")."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from standardwebhooks import Webhook

from gateway.settings import Settings

__all__ = ["SECRET", "event", "send", "signed", "with_webhooks"]

SECRET = "whsec_" + base64.b64encode(os.urandom(24)).decode()


def with_webhooks(settings: Settings, *secrets: str) -> Settings:
    """``settings`` with the portal's secret(s) configured."""
    value = " ".join(secrets or (SECRET,))
    return settings.model_copy(update={"webhook_secrets": SecretStr(value)})


def event(kind: str, system: str, value: str, *, at: datetime | None = None, **data: Any) -> bytes:
    """A consent event body about the citizen ``system|value`` (``data``: purposes,
    recipientCountries, categories, period)."""
    body = {
        "type": kind,
        "timestamp": (at or datetime.now(UTC)).isoformat(),
        "data": {"citizen": {"system": system, "value": value}, **data},
    }
    return json.dumps(body).encode()


def signed(
    body: bytes,
    secret: str = SECRET,
    webhook_id: str | None = None,
    at: datetime | None = None,
) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``."""
    moment = at or datetime.now(UTC)
    webhook_id = webhook_id or f"msg_{os.urandom(8).hex()}"
    signature = Webhook(secret).sign(webhook_id, moment, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def send(client: TestClient, kind: str, system: str, value: str, **data: Any) -> None:
    """Post one signed event and check it was stored."""
    body = event(kind, system, value, **data)
    response = client.post("/consent/events", content=body, headers=signed(body))
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "stored"}
