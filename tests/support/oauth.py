"""Tests get tokens the way a client does: a registered key, a signed assertion, /oauth/token."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from gateway.auth.client_assertion import ASSERTION_TYPE
from gateway.domain.clients import RegisteredClient
from gateway.settings import Settings
from gateway.storage.clients import ClientRepository
from gateway.storage.database import open_database, upgrade

ALL_SCOPES = (
    "system/Patient.rs system/Bundle.c system/Consent.rs system/AuditEvent.rs "
    "system/DiagnosticReport.rs system/Observation.rs"
)


@dataclass
class ClientKey:
    """A client's registration and its private key (made fresh per test)."""

    client_id: str = "node-de"
    scopes: str = ALL_SCOPES
    country: str = "DE"
    purposes: tuple[str, ...] = ("TREAT", "ETREAT")
    algorithm: str = "ES384"
    key: ECKey | RSAKey = field(default_factory=lambda: ECKey.generate_key("P-384"))
    kid: str = "key-1"
    extra_keys: tuple[dict[str, Any], ...] = ()  # more public JWKs in its registration

    @property
    def registration(self) -> RegisteredClient:
        public = {**self.key.as_dict(private=False), "kid": self.kid}
        return RegisteredClient(
            client_id=self.client_id,
            jwks={"keys": [public, *self.extra_keys]},
            algorithm=self.algorithm,
            scopes=self.scopes,
            country=self.country,
            purposes=self.purposes,
        )

    def assertion(self, token_url: str, **claims: Any) -> str:
        """A signed client assertion; ``claims`` override or add (None removes one)."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "exp": now + 240,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        body.update(claims)
        body = {name: value for name, value in body.items() if value is not None}
        header = {"alg": self.algorithm, "typ": "JWT", "kid": self.kid}
        return jwt.encode(header, body, self.key, algorithms=[self.algorithm])


def register(settings: Settings, *clients: ClientKey) -> None:
    async def add() -> None:
        database = open_database(settings.database_url)
        try:
            await upgrade(database)
            async with database.write() as connection:
                for client in clients:
                    await ClientRepository(connection).add(client.registration)
        finally:
            await database.dispose()

    asyncio.run(add())


def token_url(settings: Settings) -> str:
    return f"{settings.public_base_url}/oauth/token"


def token_form(assertion: str, scope: str | None = None) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    if scope is not None:
        form["scope"] = scope
    return form


def obtain_token(
    http: TestClient,
    settings: Settings,
    client: ClientKey,
    scope: str | None = None,
    **claims: Any,
) -> str:
    response = http.post(
        "/oauth/token", data=token_form(client.assertion(token_url(settings), **claims), scope)
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def authorize(
    http: TestClient, settings: Settings, client: ClientKey, scope: str | None = None, **claims: Any
) -> TestClient:
    """``http`` with a fresh bearer token of ``client`` on every later request."""
    token = obtain_token(http, settings, client, scope, **claims)
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def iua(purpose: str, **more: str) -> dict[str, Any]:
    """The ``extensions`` claim asserting a purpose of use (and optional subject claims)."""
    return {"extensions": {"ihe_iua": {"purpose_of_use": purpose, **more}}}
