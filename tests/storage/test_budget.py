"""Query budgets in the database: one atomic spend per query, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from gateway.storage.budget import BudgetRepository
from gateway.storage.database import Database, open_database, upgrade

WINDOW = datetime(2026, 11, 28, 10, tzinfo=UTC)


async def spend(
    database: Database, caller: str, limit: int, window: datetime = WINDOW
) -> int | None:
    async with database.write() as connection:
        return await BudgetRepository(connection).spend(caller, window, limit)


def test_spending_counts_up_to_the_limit_then_stops(database_url: str) -> None:
    async def run() -> list[int | None]:
        database = open_database(database_url)
        try:
            await upgrade(database)
            used = [await spend(database, "anonymous:192.0.2.1", 3) for _ in range(5)]
            used.append(await spend(database, "anonymous:192.0.2.2", 3))
            used.append(
                await spend(database, "anonymous:192.0.2.1", 3, WINDOW + timedelta(hours=1))
            )
            return used
        finally:
            await database.dispose()

    assert asyncio.run(run()) == [1, 2, 3, None, None, 1, 1]


def test_concurrent_queries_never_overspend(database_url: str) -> None:
    async def run() -> list[int | None]:
        database = open_database(database_url)
        try:
            await upgrade(database)
            return list(await asyncio.gather(*(spend(database, "c", 7) for _ in range(25))))
        finally:
            await database.dispose()

    used = asyncio.run(run())
    assert sorted(u for u in used if u is not None) == [1, 2, 3, 4, 5, 6, 7]
    assert used.count(None) == 18


def test_past_windows_are_forgotten(database_url: str) -> None:
    async def run() -> tuple[int, int | None, int | None]:
        database = open_database(database_url)
        try:
            await upgrade(database)
            await spend(database, "old", 1, WINDOW - timedelta(hours=2))
            await spend(database, "current", 1)
            async with database.write() as connection:
                gone = await BudgetRepository(connection).forget_before(WINDOW)
            return (
                gone,
                await spend(database, "old", 1, WINDOW - timedelta(hours=2)),
                await spend(database, "current", 1),
            )
        finally:
            await database.dispose()

    # The old count is gone (a new one starts at 1); the current window's is kept (used up).
    assert asyncio.run(run()) == (1, 1, None)
