"""What every fault test checks afterwards: the audit chain holds, and what the store holds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy import func, select

from gateway.storage.database import open_database
from gateway.storage.tables import patient_records


def run_gateway(database_url: str, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """``gateway ARGS`` as an operator runs it, on ``database_url``."""
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_audit_holds(database_url: str) -> None:
    result = run_gateway(database_url, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "records hold" in result.stdout


def stored_records(database_url: str) -> int:
    """Rows in ``patient_records``: what national record pushes left in the store."""

    async def count() -> int:
        database = open_database(database_url)
        try:
            async with database.read() as connection:
                found = await connection.scalar(select(func.count()).select_from(patient_records))
                return int(found or 0)
        finally:
            await database.dispose()

    return asyncio.run(count())
