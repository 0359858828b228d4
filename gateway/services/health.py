"""Use case: liveness and readiness."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from gateway.errors import Unavailable
from gateway.storage.database import Database


@dataclass(frozen=True, slots=True)
class Readiness:
    database: bool

    @property
    def ready(self) -> bool:
        return self.database


class HealthService:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def readiness(self) -> Readiness:
        try:
            async with self._database.read() as connection:
                await connection.execute(text("SELECT 1"))
        except Unavailable:
            return Readiness(database=False)
        return Readiness(database=True)
