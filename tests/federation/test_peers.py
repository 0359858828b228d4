"""Beacon calls to a peer: the caller's passport as the bearer token (never a token of this
gateway's), the query as sent, one deadline and a byte ceiling. The peer is an
``httpx.MockTransport``."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.auth.keys import load_signing_identity
from gateway.auth.pki import init_pki
from gateway.errors import PeerFailed, PeerTimeout
from gateway.federation.peers import OwnCredentials, PeerAnswer, PeerClient
from gateway.federation.trust_list import Peer
from tests.support.tls_server import accepting, free_port

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    init_pki(folder, ["DE", "FR"])
    return folder


def call(
    pki: Path,
    handler: Handler,
    method: str = "GET",
    path: str = "/beacon/individuals",
    **options: Any,
) -> PeerAnswer:
    own = OwnCredentials.of(pki, "DE", load_signing_identity(pki, "DE"))
    peer = Peer("FR", "https://fr.test", pki / "ca.pem", (), {"keys": []})
    client = PeerClient(own, timeout=5.0, max_bytes=1024, transport=httpx.MockTransport(handler))

    async def run() -> PeerAnswer:
        try:
            return await client.beacon(peer, method, path, **options)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_the_passport_is_the_bearer_token_and_no_oauth_token_is_asked_for(pki: Path) -> None:
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    answer = call(
        pki,
        handle,
        params=(("filters", "NCIT:C16576"), ("filters", "ICD10:E11"), ("limit", "5")),
        passport="eyJ.passport.sig",
    )
    assert (answer.status, answer.content_type, json.loads(answer.body)) == (
        200,
        "application/json",
        {"ok": True},
    )
    (request,) = seen  # no /oauth/token call
    assert request.url.path == "/beacon/individuals"
    assert request.url.params.multi_items() == [
        ("filters", "NCIT:C16576"),
        ("filters", "ICD10:E11"),
        ("limit", "5"),
    ]
    assert request.headers["authorization"] == "Bearer eyJ.passport.sig"


def test_an_anonymous_caller_is_sent_on_anonymous_with_the_body_as_sent(pki: Path) -> None:
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(400, json={"error": {"errorCode": 400}})

    body = {"query": {"requestedGranularity": "record", "pagination": {"limit": 3}}}
    answer = call(pki, handle, method="POST", path="/beacon/g_variants", body=body)
    assert answer.status == 400
    (request,) = seen
    assert request.method == "POST"
    assert "authorization" not in request.headers
    assert json.loads(request.content) == body


def test_a_peer_that_hangs_is_a_timeout_after_the_deadline_given(pki: Path) -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    with pytest.raises(PeerTimeout, match=r"^FR: no answer within 0\.2 s$"):
        call(pki, handle, within=0.2)


def test_an_answer_over_the_byte_ceiling_is_cut_off(pki: Path) -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 600)

    assert len(call(pki, handle).body) == 600  # within the client's 1024
    with pytest.raises(PeerFailed, match="over the 512-byte limit"):
        call(pki, handle, max_bytes=512)


def test_an_unreachable_peer_is_named(pki: Path) -> None:
    async def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(PeerFailed, match=r"^FR: unreachable \(ConnectError\)$"):
        call(pki, handle)


def test_a_call_given_up_during_the_tls_handshake_closes_its_connection(pki: Path) -> None:
    """A peer that takes the TCP connection and never answers the TLS ClientHello: the call
    times out, and the peer sees the connection closed, without waiting for the garbage
    collector (httpcore alone would leave the socket open; see gateway.federation.transport)."""
    closed = threading.Event()
    stop = threading.Event()

    def stall(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(0.1)
            while not stop.is_set():
                try:
                    if not connection.recv(65536):
                        closed.set()
                        return
                except TimeoutError:
                    continue
                except OSError:
                    closed.set()
                    return

    port = free_port()
    own = OwnCredentials.of(pki, "DE", load_signing_identity(pki, "DE"))
    peer = Peer("FR", f"https://127.0.0.1:{port}", pki / "ca.pem", (), {"keys": []})

    async def given_up() -> None:
        client = PeerClient(own, timeout=5.0, max_bytes=1024)
        try:
            with pytest.raises(PeerTimeout):
                await client.beacon(peer, "GET", "/beacon/individuals", within=0.3)
        finally:
            await client.aclose()

    with accepting(port, stall, stop):
        gc.disable()  # the leaked socket is closed only when the collector finds it
        try:
            asyncio.run(given_up())
            assert closed.wait(3), "the connection was left open"
        finally:
            gc.enable()
