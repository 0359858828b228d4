"""The Alembic migrations build exactly the schema the tables describe, on both back ends."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from gateway.storage.database import open_database, upgrade
from gateway.storage.tables import metadata


def test_migrations_match_the_tables(database_url: str) -> None:
    def differences(connection: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async def check() -> list[object]:
        database = open_database(database_url)
        try:
            await upgrade(database)
            await upgrade(database)  # a second upgrade is a no-op
            async with database.read() as connection:
                return await connection.run_sync(differences)
        finally:
            await database.dispose()

    assert asyncio.run(check()) == []
