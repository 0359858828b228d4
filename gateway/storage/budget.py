"""Beacon query budgets: how many queries each caller used in each window (``beacon_budget``).

Spending is one statement, an upsert that only increments while the count is under the limit,
so concurrent queries of one caller can never overspend, on SQLite or PostgreSQL, and the
count lives in the database: it survives restarts and is shared by every worker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.storage.tables import beacon_budget

__all__ = ["BudgetRepository"]


class BudgetRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def spend(self, caller: str, window: datetime, limit: int) -> int | None:
        """Use one of ``caller``'s ``limit`` queries in the window starting at ``window``:
        how many are used now, or None when none was left (nothing is changed then)."""
        insert = postgresql.insert if self._db.dialect.name == "postgresql" else sqlite.insert
        statement = (
            insert(beacon_budget)
            .values(caller=caller, window_start=window, used=1)
            .on_conflict_do_update(
                index_elements=[beacon_budget.c.caller, beacon_budget.c.window_start],
                set_={"used": beacon_budget.c.used + 1},
                where=beacon_budget.c.used < limit,
            )
            .returning(beacon_budget.c.used)
        )
        used = (await self._db.execute(statement)).scalar()
        return None if used is None else int(used)

    async def forget_before(self, window: datetime) -> int:
        """Drop the counts of windows that started before ``window``; how many rows went."""
        result = await self._db.execute(
            delete(beacon_budget).where(beacon_budget.c.window_start < window)
        )
        return int(result.rowcount or 0)
