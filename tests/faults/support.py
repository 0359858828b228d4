"""What every fault test checks afterwards: the audit chain holds, and what the store holds."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

from sqlalchemy import func, select

from gateway.cli import main
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
    """``gateway audit verify`` passes: the command itself, run in this process (a process of
    its own would add a second or two of start-up to every check)."""
    said = io.StringIO()
    with patched_environment(GATEWAY_DATABASE_URL=database_url), redirect_stdout(said):
        status = main(["audit", "verify"])
    assert status == 0, said.getvalue()
    assert "records hold" in said.getvalue()


@contextmanager
def patched_environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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


def register_node(environment: dict[str, str], key_folder: Path, scopes: str) -> None:
    """``gateway clients add node`` with a key of its own in ``key_folder``, as an operator
    registers a national node."""
    added = run_gateway(
        environment["GATEWAY_DATABASE_URL"],
        "clients",
        "add",
        "node",
        "--generate-key",
        str(key_folder),
        "--scopes",
        scopes,
        **environment,
    )
    assert added.returncode == 0, added.stderr
