"""Peers that hang or answer garbage, asked many times through a real gateway process: every
answer comes within the network timeout, as a partial Beacon answer naming the missing peers,
and the gateway's threads and open file descriptors stay flat (no connection is left open
to a peer that never answered)."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.auth.pki import init_pki
from tests.api.conftest import SMALL_VCF
from tests.api.test_beacon_network import trust_list
from tests.api.test_cross_border import Border, border, summary
from tests.faults.support import assert_audit_holds, run_gateway
from tests.support.oauth import obtain_token
from tests.support.server import served_gateway
from tests.support.tls_server import (
    accepting,
    free_port,
    peer_tls_context,
    silent_tls_server,
)

__all__ = ["border"]  # two member states, DE and FR, shared with the cross-border tests

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 1.0  # GATEWAY_BEACON_NETWORK_TIMEOUT of the gateway under test
ROUNDS = 4
CONCURRENT = 8  # requests per round: more than one connection to each peer at once
# What the garbage peers send: noise instead of HTTP, and HTTP around a body that is no JSON.
NOISE = bytes(random.Random(7).randrange(256) for _ in range(512))
NOT_JSON = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{not json"
)


@contextmanager
def garbage_tls_server(port: int, pki: Path, country: str, answer: bytes) -> Iterator[None]:
    """A peer that completes the TLS handshake and answers whatever it reads with ``answer``."""
    context = peer_tls_context(pki, country)

    def reply(connection: socket.socket) -> None:
        try:
            with context.wrap_socket(connection, server_side=True) as wrapped:
                wrapped.settimeout(5)
                # Every request on the connection gets the garbage (the gateway may keep it
                # for its next call), until the gateway closes it.
                while wrapped.recv(65536):
                    wrapped.sendall(answer)
        except OSError:
            pass  # the gateway gave up first: fine

    with accepting(port, reply, threading.Event()):
        yield


def resources(pid: int) -> tuple[int, int]:
    """(threads, open file descriptors) of process ``pid``."""
    return len(os.listdir(f"/proc/{pid}/task")), len(os.listdir(f"/proc/{pid}/fd"))


def ask_network(client: httpx.Client) -> tuple[float, httpx.Response]:
    started = time.monotonic()
    answer = client.get("/beacon-network/individuals")
    return time.monotonic() - started, answer


def one_round(client: httpx.Client) -> None:
    with ThreadPoolExecutor(CONCURRENT) as pool:
        answers = list(pool.map(lambda _: ask_network(client), range(CONCURRENT)))
    for elapsed, answer in answers:
        assert answer.status_code == 200, answer.text
        assert elapsed < TIMEOUT + 2
        body = answer.json()
        members = {m["country"]: m for m in body["info"]["members"]}
        assert members["DE"]["status"] == "answered", members
        assert {members[c]["status"] for c in ("FR", "IT", "NL")} == {"missing"}
        assert "timeout" in members["FR"]["reason"]
        assert body["info"]["partial"] is True


def test_hanging_and_garbage_peers_are_bounded_and_leak_nothing(
    database_url: str, tmp_path: Path
) -> None:
    pki = tmp_path / "pki"
    init_pki(pki, ["DE", "FR", "IT", "NL"])
    ports = {country: free_port() for country in ("FR", "IT", "NL")}
    peers = {country: f"https://127.0.0.1:{port}" for country, port in ports.items()}
    loaded = run_gateway(database_url, "ingest", "vcf", str(SMALL_VCF), "--dataset", "reference")
    assert loaded.returncode == 0, loaded.stderr
    environment = {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_PKI_DIR": str(pki),
        "GATEWAY_COUNTRY": "DE",
        "GATEWAY_TRUST_LIST": str(trust_list(tmp_path / "DE.yaml", pki, peers)),
        "GATEWAY_BEACON_NETWORK_TIMEOUT": str(TIMEOUT),
        "GATEWAY_PEER_TIMEOUT": str(TIMEOUT),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with (
        silent_tls_server(ports["FR"], pki, "FR"),
        garbage_tls_server(ports["IT"], pki, "IT", NOISE),
        garbage_tls_server(ports["NL"], pki, "NL", NOT_JSON),
        served_gateway(environment) as (base, process),
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        assert client.get("/beacon/individuals").status_code == 200  # warm: DE answers in time
        one_round(client)  # pools, caches and worker threads reach their working size
        time.sleep(TIMEOUT)
        threads, files = resources(process.pid)
        for _ in range(ROUNDS):
            one_round(client)
        time.sleep(TIMEOUT)  # connections given up on are closed by now
        after_threads, after_files = resources(process.pid)
        assert after_threads <= threads + 2, (threads, after_threads)
        assert after_files <= files + 2, (files, after_files)
    assert_audit_holds(database_url)


# --- a summary across the border: one peer asked, its failure is the answer ----------------

PEER_TIMEOUT = 1.0


@pytest.fixture
def fr_impatient(border: Border) -> Iterator[TestClient]:
    """FR's gateway giving DE ``PEER_TIMEOUT`` seconds per call."""
    impatient = border.fr.model_copy(update={"peer_timeout": PEER_TIMEOUT})
    with TestClient(create_app(impatient)) as http:
        http.headers["Authorization"] = f"Bearer {obtain_token(http, impatient, border.node_fr)}"
        yield http


@pytest.mark.parametrize(
    ("peer", "statuses", "says"),
    [
        ("hangs", {504}, f"DE: no answer within {PEER_TIMEOUT:g} s"),
        # Noise may hold no line end, so the HTTP parser waits for more until the timeout.
        ("noise", {502, 504}, "DE: "),
        ("not json", {502}, "DE: its token answer is not JSON"),
    ],
)
def test_a_faulty_peer_is_a_bounded_clean_502_or_504(
    border: Border, fr_impatient: TestClient, peer: str, statuses: set[int], says: str
) -> None:
    port = int(border.de.public_base_url.rsplit(":", 1)[1])
    faulty = {
        "hangs": silent_tls_server(port, border.pki, "DE"),
        "noise": garbage_tls_server(port, border.pki, "DE", NOISE),
        "not json": garbage_tls_server(port, border.pki, "DE", NOT_JSON),
    }[peer]
    with faulty:
        for _ in range(3):
            started = time.monotonic()
            answer = summary(fr_impatient)
            assert time.monotonic() - started < PEER_TIMEOUT + 2
            assert answer.status_code in statuses, answer.text
            outcome = answer.json()
            assert outcome["resourceType"] == "OperationOutcome"
            assert says in outcome["issue"][0]["diagnostics"]
            assert "Traceback" not in answer.text
    assert_audit_holds(border.fr.database_url)
