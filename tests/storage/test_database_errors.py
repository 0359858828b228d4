"""Driver errors reach callers as the gateway's own: a value the database cannot hold is the
caller's 400, never a 503 that says the database is down (``translated_errors``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from gateway.errors import BadRequest
from gateway.storage.database import open_database, upgrade
from gateway.storage.tables import consent_directives, patients


async def _look_up(database_url: str, value: str) -> str | None:
    database = open_database(database_url)
    try:
        await upgrade(database)
        async with database.read() as connection:
            found = await connection.scalar(select(patients.c.id).where(patients.c.id == value))
            return None if found is None else str(found)
    finally:
        await database.dispose()


def test_text_with_a_nul_is_not_found_or_refused_as_bad_input(database_url):
    """SQLite holds a NUL in text; PostgreSQL refuses it (SQLSTATE 22021). Either way the
    caller hears about its input, and the database is not reported unavailable."""
    if database_url.startswith("postgresql"):
        with pytest.raises(BadRequest, match="value refused by the database"):
            asyncio.run(_look_up(database_url, "a\x00b"))
    else:
        assert asyncio.run(_look_up(database_url, "a\x00b")) is None


def test_a_value_too_long_for_its_column_is_stored_or_refused_as_bad_input(database_url):
    """SQLite does not enforce VARCHAR lengths; PostgreSQL refuses (SQLSTATE 22001)."""
    now = datetime.now(UTC)
    row = {
        "webhook_id": "x" * 200,
        "citizen_system": "urn:example",
        "citizen_value": "1",
        "kind": "consent.granted",
        "recorded": now,
        "purposes": "",
        "countries": "*",
        "categories": "",
        "received": now,
    }

    async def insert() -> None:
        database = open_database(database_url)
        try:
            await upgrade(database)
            async with database.write() as connection:
                await connection.execute(consent_directives.insert().values(**row))
        finally:
            await database.dispose()

    if database_url.startswith("postgresql"):
        with pytest.raises(BadRequest, match="value refused by the database"):
            asyncio.run(insert())
    else:
        asyncio.run(insert())
