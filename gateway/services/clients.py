"""OAuth client registrations (``gateway clients add|list|remove``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gateway.auth.client_assertion import check_jwks
from gateway.auth.client_keys import new_client_key
from gateway.domain.clients import RegisteredClient
from gateway.domain.consent import PURPOSES
from gateway.domain.scopes import parse_scopes
from gateway.errors import BadRequest, Conflict, NotFound
from gateway.storage.clients import ClientRepository
from gateway.storage.database import Database

__all__ = ["add_client", "generate_client_key", "list_clients", "read_jwks", "remove_client"]

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


async def add_client(
    database: Database,
    client_id: str,
    jwks: dict[str, Any],
    *,
    scopes: str,
    algorithm: str = "ES384",
    country: str,
    purposes: tuple[str, ...] = ("TREAT", "ETREAT"),
) -> RegisteredClient:
    """Register a client. :raises BadRequest: a bad id, JWKS, scope or purpose;
    :raises Conflict: the id is taken."""
    client = RegisteredClient(
        client_id=_checked_id(client_id),
        jwks=_checked_jwks(jwks, algorithm),
        algorithm=algorithm,
        scopes=_checked_scopes(scopes),
        country=_checked_country(country),
        purposes=_checked_purposes(purposes),
    )
    async with database.write() as connection:
        repo = ClientRepository(connection)
        if await repo.get(client.client_id) is not None:
            raise Conflict(f"client {client.client_id} is registered already")
        await repo.add(client)
    return client


async def list_clients(database: Database) -> list[RegisteredClient]:
    async with database.read() as connection:
        return await ClientRepository(connection).all()


async def remove_client(database: Database, client_id: str) -> None:
    """:raises NotFound: no such client."""
    async with database.write() as connection:
        if not await ClientRepository(connection).remove(client_id):
            raise NotFound(f"no client {client_id} is registered")


def read_jwks(path: Path) -> dict[str, Any]:
    """A JWKS file (or a single public JWK). :raises BadRequest: unreadable or not JSON."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"{path}: not a readable JWKS ({exc.__class__.__name__})") from None
    if isinstance(found, dict) and "kty" in found:
        found = {"keys": [found]}
    if not isinstance(found, dict):
        raise BadRequest(f"{path}: a JWKS is a JSON object with keys")
    return found


def generate_client_key(folder: Path, client_id: str, algorithm: str) -> dict[str, Any]:
    """A new key pair for a client in ``folder`` (``ID.key``, private, 0600; ``ID.jwks.json``,
    public); the public JWKS is returned for registration."""
    return new_client_key(folder, _checked_id(client_id), algorithm)


def _checked_jwks(jwks: dict[str, Any], algorithm: str) -> dict[str, Any]:
    try:
        return check_jwks(jwks, algorithm)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _checked_id(client_id: str) -> str:
    if not _CLIENT_ID.match(client_id):
        raise BadRequest("a client id is 1-128 letters, digits, '-', '_' or '.'")
    return client_id


def _checked_scopes(scopes: str) -> str:
    parsed = parse_scopes(scopes)
    if not parsed or len(parsed) != len(scopes.split()):
        raise BadRequest("scopes must be SMART v2 scopes such as system/Patient.rs")
    return " ".join(scopes.split())


def _checked_country(country: str) -> str:
    if len(country) != 2 or not country.isalpha() or not country.isupper():
        raise BadRequest("country must be two upper-case letters such as FR")
    return country


def _checked_purposes(purposes: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [p for p in purposes if p not in PURPOSES]
    if not purposes or unknown:
        raise BadRequest(f"purposes must be among {', '.join(sorted(PURPOSES))}")
    return purposes
