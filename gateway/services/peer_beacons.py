"""What the peers' Beacons say of themselves: their ``/map`` and ``/configuration``, cached.

The Beacon network's ``info`` shows, for each peer of the trust list, the endpoints its Beacon
serves and how it is configured (default granularity, security levels, entry types). They
change with a peer's deployment, not with its data, so each is fetched when first shown and
again once it is older than the refresh interval. A refresh that fails keeps the copy already
held, which is then shown as ``stale`` with the time it was fetched and since when refreshing
fails; a failing peer is tried again after the retry interval, not at every request, so that
``info`` does not wait for a peer that is down each time it is asked.

Peers are untrusted: a document is taken only when the peer answered 200 with a JSON object
whose ``response`` is an object, within a small byte ceiling, and that this gateway can write
back out (``orjson`` refuses nesting deeper than it can encode).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from gateway.errors import PeerFailed, PeerTimeout
from gateway.federation.peers import PeerAnswer, PeerClient
from gateway.federation.trust_list import Peer

__all__ = ["DOCUMENTS", "NO_CLIENT", "PeerBeacons"]

DOCUMENTS = ("map", "configuration")
# Both documents list a handful of endpoints and entry types: a few kilobytes.
MAX_DOCUMENT_BYTES = 256 * 1024
NO_CLIENT = "this gateway has no client certificate and key to call peers with"

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class _Entry:
    """One peer's cached documents and the state of their refresh."""

    documents: dict[str, Any] | None = None  # name -> the document's ``response``
    fetched: datetime | None = None  # when ``documents`` were fetched
    checked: datetime | None = None  # the last attempt, whatever came of it
    failing_since: datetime | None = None
    reason: str | None = None


class PeerBeacons:
    def __init__(
        self,
        peers: PeerClient | None,
        *,
        timeout: float,
        refresh: timedelta,
        retry: timedelta,
        clock: Clock = _now,
    ) -> None:
        self._peers = peers
        self._timeout = timeout
        self._refresh = refresh
        self._retry = retry
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def status(self, peer: Peer) -> dict[str, Any]:
        """``peer`` as the network's ``info`` lists it, its documents refreshed when due:
        ``status`` is ``answered`` (a fresh copy), ``stale`` (an older copy; refreshing
        fails) or ``missing`` (never fetched), with the ``reason`` when it is not answered."""
        entry = self._entries.setdefault(peer.country, _Entry())
        # One refresh per peer at a time: concurrent requests wait for it, not repeat it.
        async with self._locks.setdefault(peer.country, asyncio.Lock()):
            if self._due(entry):
                await self._update(peer, entry)
        return _shown(peer, entry)

    def _due(self, entry: _Entry) -> bool:
        if entry.checked is None:
            return True
        wait = self._refresh if entry.failing_since is None else self._retry
        return self._clock() - entry.checked >= wait

    async def _update(self, peer: Peer, entry: _Entry) -> None:
        now = self._clock()
        entry.checked = now
        found = await asyncio.gather(*(self._fetch(peer, name) for name in DOCUMENTS))
        problems = [item for item in found if isinstance(item, str)]
        if problems:
            entry.failing_since = entry.failing_since or now
            entry.reason = problems[0]
            return
        entry.documents = dict(zip(DOCUMENTS, found, strict=True))
        entry.fetched = now
        entry.failing_since = entry.reason = None

    async def _fetch(self, peer: Peer, name: str) -> dict[str, Any] | str:
        """The ``response`` of the peer's ``/beacon/{name}``, or why there is none."""
        if self._peers is None:
            return NO_CLIENT
        try:
            answer = await self._peers.beacon(
                peer,
                "GET",
                f"/beacon/{name}",
                within=self._timeout,
                max_bytes=MAX_DOCUMENT_BYTES,
            )
        except PeerTimeout:
            return f"/{name}: timeout, no answer within {self._timeout:g} s"
        except PeerFailed as failed:
            return f"/{name}: {failed.message.removeprefix(f'{peer.country}: ')}"
        return _response_section(answer, name)


def _response_section(answer: PeerAnswer, name: str) -> dict[str, Any] | str:
    if answer.status != 200:
        return f"/{name}: HTTP {answer.status}"
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return f"/{name}: not JSON"
    response = document.get("response") if isinstance(document, dict) else None
    if not isinstance(response, dict):
        return f"/{name}: not a Beacon response (no response object)"
    try:
        orjson.dumps(response)
    except orjson.JSONEncodeError:
        return f"/{name}: nested too deeply"
    return response


def _shown(peer: Peer, entry: _Entry) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "country": peer.country,
        "beaconId": peer.client_id,
        "baseUrl": f"{peer.base_url}/beacon",
    }
    if entry.documents is None or entry.fetched is None:
        return {**shown, "status": "missing", "reason": entry.reason}
    shown |= {
        "status": "answered" if entry.failing_since is None else "stale",
        "fetched": _instant(entry.fetched),
        **entry.documents,
    }
    if entry.failing_since is not None:
        shown |= {"failingSince": _instant(entry.failing_since), "reason": entry.reason}
    return shown


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
