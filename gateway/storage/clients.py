"""OAuth client registrations and the client-assertion ids already used."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.clients import RegisteredClient
from gateway.storage.tables import oauth_assertions, oauth_clients

__all__ = ["ClientRepository"]


class ClientRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def get(self, client_id: str) -> RegisteredClient | None:
        query = select(oauth_clients).where(oauth_clients.c.client_id == client_id)
        row = (await self._db.execute(query)).first()
        return _client(row) if row is not None else None

    async def all(self) -> list[RegisteredClient]:
        query = select(oauth_clients).order_by(oauth_clients.c.client_id)
        return [_client(row) for row in await self._db.execute(query)]

    async def add(self, client: RegisteredClient) -> None:
        await self._db.execute(
            insert(oauth_clients).values(
                client_id=client.client_id,
                jwks=json.dumps(client.jwks, sort_keys=True),
                algorithm=client.algorithm,
                scopes=client.scopes,
                country=client.country,
                purposes=" ".join(client.purposes),
                created=datetime.now(UTC),
            )
        )

    async def remove(self, client_id: str) -> bool:
        result = await self._db.execute(
            delete(oauth_clients).where(oauth_clients.c.client_id == client_id)
        )
        await self._db.execute(
            delete(oauth_assertions).where(oauth_assertions.c.client_id == client_id)
        )
        return bool(result.rowcount)

    async def use_assertion(self, client_id: str, jti: str, expires: datetime) -> None:
        """Record an assertion id as used; a second use violates the key (the caller's
        transaction fails with a conflict). Ids past their expiry are forgotten: an expired
        assertion is refused on its ``exp`` before its id is looked at."""
        await self._db.execute(
            delete(oauth_assertions).where(oauth_assertions.c.expires < datetime.now(UTC))
        )
        await self._db.execute(
            insert(oauth_assertions).values(client_id=client_id, jti=jti, expires=expires)
        )


def _client(row: Any) -> RegisteredClient:
    return RegisteredClient(
        client_id=row.client_id,
        jwks=json.loads(row.jwks),
        algorithm=row.algorithm,
        scopes=row.scopes,
        country=row.country,
        purposes=tuple(row.purposes.split()),
    )
