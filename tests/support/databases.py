"""PostgreSQL test databases: one scratch database per session, emptied before each test."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.engine import make_url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _execute(url: str, *statements: str) -> None:
    connection = await asyncpg.connect(_dsn(url))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_postgres(base_url: str) -> Iterator[str]:
    name = f"gateway_test_{os.getpid()}"
    asyncio.run(_execute(base_url, f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        asyncio.run(_execute(base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def empty_postgres(url: str) -> None:
    """Remove all rows (schema kept) so each test starts from an empty store."""

    async def truncate() -> None:
        connection = await asyncpg.connect(_dsn(url))
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
            if tables:
                names = ", ".join(f'"{row["tablename"]}"' for row in tables)
                await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()

    asyncio.run(truncate())
