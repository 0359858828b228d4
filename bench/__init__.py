"""Benchmarks (not tests): the gateway against references measured in the same run.

DESIGN.md §5 lists the references. ``bench.ingest`` divides the gateway's ingest rate by a cyvcf2
decode of the same file; ``bench.query`` divides Beacon query throughput by a bare FastAPI app
under the same uvicorn settings. See ``bench/README.md``. This module holds what both share:
paths, the cache, fresh databases and wall-clock timing of whole commands.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
SOURCE_VCF = ROOT.parent / "shared" / "data" / "vcf" / "test_1000G_hg38.vcf.gz"
PYTHON = sys.executable
# The console script sits beside the interpreter of the virtualenv that runs the bench.
GATEWAY = str(Path(sys.executable).with_name("gateway"))
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
_DATABASE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class BenchError(Exception):
    """A measurement could not be taken; the message says which and why."""


def cache_dir() -> Path:
    """``bench/.cache``, created on first use and ignored by git from inside."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    return CACHE


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path.resolve()}"


def remove_sqlite(path: Path) -> None:
    """Delete a SQLite database with its journal files, so the next run starts empty."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fresh_postgres(database: str) -> str:
    """Drop and re-create ``database`` on the bench PostgreSQL server and return its URL.

    The server comes from ``BENCH_POSTGRES_URL`` (default: the local ``test`` server); only the
    database name changes, so the benches never touch the test suite's database.

    :raises BenchError: psql is missing or the server refused.
    """
    if not _DATABASE_NAME.match(database):
        raise BenchError(f"not a plain database name: {database!r}")
    parts = urlsplit(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    psql = shutil.which("psql")
    if psql is None:
        raise BenchError("psql not found: install postgresql-client to bench PostgreSQL")
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    command = [
        psql,
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-d",
        "postgres",
        "-c",
        f"drop database if exists {database} with (force)",
        "-c",
        f"create database {database}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode:
        raise BenchError(f"PostgreSQL at {parts.hostname}:{parts.port}: {done.stderr.strip()}")
    return urlunsplit(parts._replace(path=f"/{database}"))


def run(command: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 3600) -> str:
    """Run a command to completion and return its stdout.

    :raises BenchError: it failed; the message carries the end of its stderr.
    """
    done = subprocess.run(
        list(command),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        tail = " | ".join(done.stderr.strip().splitlines()[-5:])
        raise BenchError(f"{Path(command[0]).name} exited {done.returncode}: {tail}")
    return done.stdout


def best_of(
    repeat: int,
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    prepare: Callable[[], None] | None = None,
) -> float:
    """The shortest wall-clock time of ``repeat`` runs; ``prepare`` runs untimed before each.

    :raises BenchError: a run failed.
    """
    times = []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        started = time.perf_counter()
        run(command, env=env)
        times.append(time.perf_counter() - started)
    return min(times)


def gateway_env(database_url: str) -> dict[str, str]:
    """The caller's environment with the gateway pointed at ``database_url``."""
    return {**os.environ, "GATEWAY_DATABASE_URL": database_url}


def gateway_missing() -> str | None:
    """Why the ``gateway`` command cannot run here, or None when it answers ``--help``."""
    if not Path(GATEWAY).exists():
        return f"{GATEWAY} not found (install the project into this virtualenv)"
    try:
        run([GATEWAY, "--help"], timeout=60)
    except BenchError as exc:
        return str(exc)
    return None


def goal(value: float, target: float, *, at_most: bool = False) -> str:
    met = value <= target if at_most else value >= target
    return f"{'met' if met else 'MISSED'} ({'≤' if at_most else '≥'} {target:g})"
