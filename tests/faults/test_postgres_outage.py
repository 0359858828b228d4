"""PostgreSQL stops while the gateway serves, then starts again. A private cluster (its own
``initdb`` folder and port) so the shared server keeps serving the rest of the suite.

While the database is down, ``/ready`` says so and data routes answer 503 in their own error
format, never 500; once it is back, the same process answers again: the pool drops its dead
connections instead of handing them out for ever."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import SMALL_VCF
from tests.faults.support import assert_audit_holds, run_gateway
from tests.support.server import free_port, gateway_process

REPO = Path(__file__).resolve().parents[2]
BIN = Path("/usr/lib/postgresql/15/bin")
RECOVERY_SECONDS = 20
VARIANT = {"referenceName": "1", "start": "1999", "alternateBases": "T"}


def as_postgres(*command: str | Path) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *map(str, command)],
        check=True,
        capture_output=True,
        timeout=60,
    )


class Cluster:
    """A throwaway PostgreSQL 15 cluster owned by the ``postgres`` user."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        as_postgres(BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.folder / "server.log"
        as_postgres(BIN / "pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        as_postgres(BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")


def private_cluster_possible() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if not (BIN / "initdb").exists():
        return f"no {BIN / 'initdb'}"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "initdb must run as the postgres user: needs root and runuser"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user"
    return None


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    reason = private_cluster_possible()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a private PostgreSQL cluster: {reason}")
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
    shutil.chown(folder, "postgres", "postgres")
    found = Cluster(folder)
    found.init()
    found.start()
    try:
        yield found
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(BIN / "pg_ctl"),
                "-D",
                str(found.data),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def data_routes(client: httpx.Client) -> list[httpx.Response]:
    """One read of each kind an outage must not turn into a 500."""
    return [
        client.get("/beacon/g_variants", params=VARIANT),
        client.get("/beacon/individuals"),
        client.get("/beacon/datasets"),
        client.post("/oauth/token", data={"grant_type": "client_credentials"}),
    ]


def answers_while_down(client: httpx.Client) -> None:
    assert client.get("/health").status_code == 200  # the process itself is alive
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "unavailable"}
    beacon, individuals, datasets, oauth = data_routes(client)
    for answer in (beacon, individuals, datasets):
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"]["errorCode"] == 503  # the Beacon error format
        assert "Traceback" not in answer.text
    assert oauth.status_code in (400, 401, 503), oauth.text  # refused before or at the store


def wait_until_ready(client: httpx.Client) -> float:
    started = time.monotonic()
    while time.monotonic() - started < RECOVERY_SECONDS:
        if client.get("/ready").status_code == 200:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"/ready still failing {RECOVERY_SECONDS} s after PostgreSQL came back")


@contextmanager
def traffic(base: str) -> Iterator[Counter[int]]:
    """Beacon queries sent one after another from another thread until the block ends; the
    statuses seen are counted (a connection error counts as 0)."""
    seen: Counter[int] = Counter()
    stop = threading.Event()

    def flow() -> None:
        with httpx.Client(base_url=base, timeout=15) as client:
            while not stop.is_set():
                try:
                    seen[client.get("/beacon/g_variants", params=VARIANT).status_code] += 1
                except httpx.TransportError:
                    seen[0] += 1

    thread = threading.Thread(target=flow)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=30)


def test_an_outage_answers_503_and_the_same_process_recovers(cluster: Cluster) -> None:
    loaded = run_gateway(cluster.url, "ingest", "vcf", str(SMALL_VCF), "--dataset", "reference")
    assert loaded.returncode == 0, loaded.stderr
    environment = {
        "GATEWAY_DATABASE_URL": cluster.url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with (
        gateway_process(environment) as base,
        httpx.Client(base_url=base, timeout=15) as client,
        traffic(base) as seen,
    ):
        before = [answer.json() for answer in data_routes(client)[:3]]
        for _ in range(5):  # several pooled connections, all of which the outage will kill
            assert [answer.status_code for answer in data_routes(client)[:3]] == [200] * 3
        assert client.get("/ready").status_code == 200

        cluster.stop()
        time.sleep(1)  # the other thread's queries meet the outage too
        for _ in range(3):  # every dead pooled connection is met, then fresh connects fail
            answers_while_down(client)

        cluster.start()
        wait_until_ready(client)
        for _ in range(5):
            after = data_routes(client)[:3]
            assert [answer.status_code for answer in after] == [200] * 3, after[0].text
        assert [answer.json()["responseSummary"] for answer in after] == [
            body["responseSummary"] for body in before
        ]
    assert set(seen) == {200, 503}, seen  # answers all along: served or refused, never a 500
    assert_audit_holds(cluster.url)
