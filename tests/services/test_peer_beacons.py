"""The peers' ``/map`` and ``/configuration`` as the network's ``info`` shows them: fetched
when first shown, kept for the refresh interval, kept (and shown stale, saying since when)
when a refresh fails, and refused when they are not Beacon documents. The peer is an
``httpx.MockTransport`` and the clock is the test's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from gateway.auth.keys import load_signing_identity
from gateway.auth.pki import init_pki
from gateway.federation.peers import OwnCredentials, PeerClient
from gateway.federation.trust_list import Peer
from gateway.services.peer_beacons import NO_CLIENT, PeerBeacons

START = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
REFRESH = timedelta(minutes=10)
RETRY = timedelta(minutes=1)
MAP = {"meta": {"beaconId": "eu.ehds.gateway.fr"}, "response": {"endpointSets": {"a": 1}}}
CONFIGURATION = {"meta": {}, "response": {"securityAttributes": {"defaultGranularity": "count"}}}


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    init_pki(folder, ["DE"])
    return folder


class Peerage:
    """A peer whose answers the test changes, a clock it moves, and the calls made."""

    def __init__(self, pki: Path) -> None:
        self.now = START
        self.calls: list[str] = []
        self.delay = 0.0  # seconds before each answer
        self.answer: Callable[[str], httpx.Response] = lambda path: httpx.Response(
            200, json=MAP if path.endswith("/map") else CONFIGURATION
        )
        own = OwnCredentials.of(pki, "DE", load_signing_identity(pki, "DE"))
        self.client = PeerClient(
            own, timeout=5.0, max_bytes=1 << 20, transport=httpx.MockTransport(self._handle)
        )
        self.peer = Peer("FR", "https://fr.test", pki / "ca.pem", (), {"keys": []})
        self.beacons = PeerBeacons(
            self.client, timeout=0.5, refresh=REFRESH, retry=RETRY, clock=lambda: self.now
        )

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        await asyncio.sleep(self.delay)
        return self.answer(request.url.path)

    def status(self) -> dict[str, Any]:
        return asyncio.run(self.beacons.status(self.peer))


@pytest.fixture
def fr(pki: Path) -> Peerage:
    return Peerage(pki)


def test_both_documents_are_fetched_when_first_shown_and_kept(fr: Peerage) -> None:
    shown = fr.status()
    assert shown == {
        "country": "FR",
        "beaconId": "eu.ehds.gateway.fr",
        "baseUrl": "https://fr.test/beacon",
        "status": "answered",
        "fetched": "2026-11-28T10:00:00+00:00",
        "map": MAP["response"],
        "configuration": CONFIGURATION["response"],
    }
    assert sorted(fr.calls) == ["/beacon/configuration", "/beacon/map"]
    fr.now += REFRESH - timedelta(seconds=1)
    assert fr.status() == shown
    assert len(fr.calls) == 2  # not fetched again within the refresh interval
    fr.now += timedelta(seconds=1)
    assert fr.status()["fetched"] == "2026-11-28T10:10:00+00:00"
    assert len(fr.calls) == 4


def test_a_refresh_that_fails_keeps_the_stale_copy_and_says_since_when(fr: Peerage) -> None:
    fr.status()
    fr.answer = lambda path: httpx.Response(503, text="down for maintenance")
    fr.now += REFRESH
    stale = fr.status()
    assert stale["status"] == "stale"
    assert stale["map"] == MAP["response"]
    assert stale["fetched"] == "2026-11-28T10:00:00+00:00"
    assert stale["failingSince"] == "2026-11-28T10:10:00+00:00"
    assert stale["reason"] in {"/map: HTTP 503", "/configuration: HTTP 503"}
    calls = len(fr.calls)
    fr.now += RETRY - timedelta(seconds=1)
    assert fr.status()["failingSince"] == stale["failingSince"]
    assert len(fr.calls) == calls  # a failing peer is not asked at every request
    fr.now += timedelta(seconds=1)
    assert fr.status()["failingSince"] == stale["failingSince"]  # still failing, since then
    assert len(fr.calls) == calls + 2
    fr.answer = lambda path: httpx.Response(200, json=MAP if "map" in path else CONFIGURATION)
    fr.now += RETRY
    recovered = fr.status()
    assert recovered["status"] == "answered"
    assert "failingSince" not in recovered
    assert "reason" not in recovered


def nested(depth: int) -> bytes:
    return b'{"response": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>", "not JSON"),
        (b"[1, 2]", "not a Beacon response (no response object)"),
        (b'{"response": "yes"}', "not a Beacon response (no response object)"),
        (nested(300), "nested too deeply"),
    ],
)
def test_a_document_that_is_not_a_beacon_response_is_refused(
    fr: Peerage, body: bytes, reason: str
) -> None:
    fr.answer = lambda path: httpx.Response(200, content=body)
    shown = fr.status()
    assert shown["status"] == "missing"
    assert shown["reason"] in {f"/map: {reason}", f"/configuration: {reason}"}
    assert "map" not in shown


def test_a_peer_that_hangs_is_missing_with_a_timeout(fr: Peerage) -> None:
    fr.delay = 30
    shown = fr.status()
    assert shown["status"] == "missing"
    assert shown["reason"].endswith(": timeout, no answer within 0.5 s")


def test_without_a_client_every_peer_is_missing(pki: Path) -> None:
    peer = Peer("FR", "https://fr.test", pki / "ca.pem", (), {"keys": []})
    beacons = PeerBeacons(None, timeout=1.0, refresh=REFRESH, retry=RETRY)
    shown = asyncio.run(beacons.status(peer))
    assert (shown["status"], shown["reason"]) == ("missing", NO_CLIENT)
    assert orjson.dumps(shown)  # writable as the route writes it
