"""The SQLite store's disk fills up, then turns read-only, while the gateway serves: writes
answer a clear 503 (never 500), reads keep answering, writes succeed again once space is
back (no restart), and afterwards the file passes ``PRAGMA integrity_check``, the audit chain
holds and the store holds exactly the acknowledged records.

The store lives on a 16 MB tmpfs this test mounts (root only): a real ENOSPC and a real
read-only filesystem (``chmod`` stops nobody who is root)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from tests.api.conftest import SMALL_VCF
from tests.cli.test_ingest_command import one_clear_line
from tests.faults.support import (
    assert_audit_holds,
    register_node,
    run_gateway,
    stored_records,
)
from tests.faults.test_killed_writes import push, submissions, token
from tests.support.server import free_port, gateway_process

REPO = Path(__file__).resolve().parents[2]
VARIANT = {"referenceName": "1", "start": "1999", "alternateBases": "T"}


def mount(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["mount", *options], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture
def small_disk(database_url: str) -> Iterator[Path]:
    """A 16 MB tmpfs, unmounted afterwards."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the SQLite file's disk; PostgreSQL's disk is its server's")
    folder = Path(tempfile.mkdtemp(prefix="gateway-disk-"))
    mounted = mount("-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder))
    if mounted.returncode != 0:
        folder.rmdir()
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a small tmpfs: {mounted.stderr.strip()}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30, check=False)
        folder.rmdir()


def fill(folder: Path) -> Path:
    """Write zeros until the filesystem is full; the filler file is returned."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as out, pytest.raises(OSError, match="No space left"):
        write_for_ever(out)
    return filler


def write_for_ever(out: BinaryIO) -> None:
    while True:
        out.write(b"\0" * 4096)


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "database unavailable" in outcome["issue"][0]["diagnostics"]


def assert_reads_work(client: httpx.Client) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/beacon/g_variants", params=VARIANT).status_code == 200


def test_a_full_then_read_only_disk_refuses_writes_cleanly_and_corrupts_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{small_disk / 'gateway.db'}"
    environment = {
        "GATEWAY_DATABASE_URL": url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_PKI_DIR": str(tmp_path / "certs"),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    assert (
        run_gateway(url, "ingest", "vcf", str(SMALL_VCF), "--dataset", "reference").returncode == 0
    )
    keys = tmp_path / "clients"
    register_node(environment, keys, "system/Bundle.c")
    bodies = iter(submissions(10))
    acknowledged = 0
    with gateway_process(environment) as base, httpx.Client(base_url=base, timeout=30) as client:
        bearer = token(environment, base, keys)
        assert push(base, bearer, next(bodies)).status_code == 201
        acknowledged += 1

        filler = fill(small_disk)
        refused = next(bodies)
        assert_unavailable(push(base, bearer, refused))
        assert_reads_work(client)

        filler.unlink()  # space is back: the same process writes again
        for body in (refused, next(bodies)):
            assert push(base, bearer, body).status_code == 201
            acknowledged += 1

    # Read-only: a filesystem cannot turn read-only under files open for writing, so the
    # gateway meets it when it starts, as after an operator's mistake or a failing disk.
    assert mount("-o", "remount,ro", str(small_disk)).returncode == 0
    try:
        serve = ("serve", "--port", str(free_port()))
        ingest = ("ingest", "vcf", str(SMALL_VCF), "--dataset", "other")
        for command in (serve, ingest):
            line = one_clear_line(run_gateway(url, *command, **environment))
            assert "database unavailable: unable to open database file" in line
    finally:
        assert mount("-o", "remount,rw", str(small_disk)).returncode == 0

    with sqlite3.connect(small_disk / "gateway.db") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert stored_records(url) == acknowledged
    assert_audit_holds(url)
