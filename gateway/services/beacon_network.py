"""Use case: the Beacon network, ``/beacon-network`` (DESIGN.md §2, issue 6).

One query goes, at the same time, to this gateway's own Beacon and to the ``/beacon`` of every
peer in the trust list; :func:`gateway.beacon.network.combine` makes one answer of theirs.
Rare populations are pooled across member states without moving the data: each member answers
from its own store, under its own rules.

- The caller is judged here first, as ``/beacon`` judges it (a bad passport is refused before
  anyone else is asked), and spends one unit of its query budget for the whole network query.
- Each peer judges the caller again: the passport is forwarded as it came (each peer trusts its
  own brokers), over mutual TLS with this gateway's client certificate and no OAuth token of
  this gateway's (a node token would be refused on ``/beacon``). An anonymous caller is sent
  on anonymous.
- The query goes on as the caller sent it (GET parameters or POST body), with the page size
  this gateway settled on, so that no member returns more records than the page holds.
- One deadline, ``GATEWAY_BEACON_NETWORK_TIMEOUT``, bounds every member's part, this
  gateway's own included: a member that is down, slow or answers nonsense is left out, and the
  answer's ``info`` names it with the reason (``partial``). A query this gateway refuses (bad
  input) is refused as ``/beacon`` refuses it, and the peers' calls are cancelled.
- Every network query leaves one audit record naming the members that answered and those that
  did not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote

import orjson

from gateway.beacon.framework import BeaconDescription, info_response
from gateway.beacon.network import Answered, MemberAnswer, Missing, NetworkQuery, combine
from gateway.beacon.records import returned_schema
from gateway.beacon.requests import BeaconRequest
from gateway.beacon.responses import API_VERSION, ResponseContext
from gateway.errors import PeerFailed, PeerTimeout, Unavailable
from gateway.federation.peers import PeerAnswer, PeerClient
from gateway.federation.trust_list import Peer, TrustList
from gateway.services.audit import AuditService
from gateway.services.beacon_access import BeaconCaller
from gateway.services.beacon_query import BeaconService, Scope, describe_beacon
from gateway.services.peer_beacons import NO_CLIENT, PeerBeacons
from gateway.settings import Settings

__all__ = ["BeaconNetwork", "NetworkOptions", "PeerQuery"]

Entity = Literal["genomicVariation", "individual"]
LocalQuery = Callable[[], Awaitable[dict[str, object]]]


@dataclass(frozen=True, slots=True)
class NetworkOptions:
    """``description`` is the network endpoint's own (its beacon id ends in ``.network``);
    ``timeout`` bounds the whole answer, in seconds; peers' documents are fetched again after
    ``refresh``, or after ``retry`` while fetching them fails."""

    description: BeaconDescription
    small_count_floor: int
    timeout: float
    refresh: timedelta = timedelta(minutes=10)
    retry: timedelta = timedelta(minutes=1)
    api_version: str = API_VERSION

    @classmethod
    def from_settings(cls, settings: Settings, version: str) -> NetworkOptions:
        description = describe_beacon(
            settings,
            version,
            beacon_id=f"{settings.gateway_id}.network",
            name=f"EU health data gateway Beacon network ({settings.country})",
            path="/beacon-network",
            text="One answer from the Beacons of this member state and of every peer "
            "in its trust list; a member that does not answer in time is left out, and named.",
        )
        return cls(description, settings.small_count_floor, settings.beacon_network_timeout)


@dataclass(frozen=True, slots=True)
class PeerQuery:
    """The query as the caller sent it: GET parameters (in order; a name may repeat) or a
    decoded POST body, already parsed once by this gateway and found well-formed."""

    method: Literal["GET", "POST"]
    params: tuple[tuple[str, str], ...] = ()
    body: object = None

    def paged(self, limit: int) -> PeerQuery:
        """The same query with the page size ``limit`` (a peer's own maximum may be larger
        than this gateway's, and a member may not return more records than the page)."""
        if self.method == "GET":
            kept = tuple((name, value) for name, value in self.params if name != "limit")
            return PeerQuery("GET", (*kept, ("limit", str(limit))))
        body = dict(_mapping(self.body))
        query = dict(_mapping(body.get("query")))
        query["pagination"] = {**_mapping(query.get("pagination")), "limit": limit}
        body["query"] = query
        return PeerQuery("POST", body=body)


@dataclass(frozen=True, slots=True)
class _Question:
    """One network query: what to ask of every member, and how to combine their answers."""

    entity: Entity
    endpoint: str  # for the audit record: g_variants, individuals
    path: str  # at a peer
    request: BeaconRequest
    sent: PeerQuery
    caller: BeaconCaller


class BeaconNetwork:
    def __init__(
        self,
        local: BeaconService,
        own_country: str,
        trust: TrustList,
        peers: PeerClient | None,
        audit: AuditService,
        options: NetworkOptions,
    ) -> None:
        self._local = local
        self._own = own_country
        self._trust = trust
        self._peers = peers
        self._audit = audit
        self._options = options
        self._beacons = PeerBeacons(
            peers, timeout=options.timeout, refresh=options.refresh, retry=options.retry
        )
        self._info = info_response(options.description)

    async def variants(
        self,
        request: BeaconRequest,
        sent: PeerQuery,
        caller: BeaconCaller,
        variant_id: str | None = None,
    ) -> dict[str, Any]:
        """``/g_variants`` (or one variant by its id) across the network.

        :raises BadBeaconQuery: a query this gateway's own Beacon refuses.
        """
        scope = Scope(variant_id=variant_id)
        path = "/beacon/g_variants"
        if variant_id is not None:
            path += "/" + quote(variant_id, safe="")
        question = _Question("genomicVariation", "g_variants", path, request, sent, caller)
        return await self._ask(
            question, lambda: self._local.variants(request, scope, caller.access)
        )

    async def individuals(
        self, request: BeaconRequest, sent: PeerQuery, caller: BeaconCaller
    ) -> dict[str, Any]:
        """``/individuals`` across the network.

        :raises BadBeaconQuery: a query this gateway's own Beacon refuses.
        """
        question = _Question(
            "individual", "individuals", "/beacon/individuals", request, sent, caller
        )
        return await self._ask(
            question, lambda: self._local.individuals(request, Scope(), caller.access)
        )

    async def info(self) -> dict[str, Any]:
        """The network's ``/info``: its Beacon info response, and in ``info`` each member with
        its status and its Beacon's map and configuration (``partial`` when any is not
        ``answered``)."""
        peers = await asyncio.gather(*(self._beacons.status(peer) for peer in self._trust))
        members = [self._here(), *peers]
        partial = any(member["status"] != "answered" for member in members)
        return {**self._info, "info": {"members": members, "partial": partial}}

    # -- one query ------------------------------------------------------------------------

    async def _ask(self, question: _Question, local: LocalQuery) -> dict[str, Any]:
        sent = question.sent.paged(question.request.limit)
        asking = [
            asyncio.create_task(self._ask_peer(peer, question.path, sent, question.caller))
            for peer in self._trust
        ]
        try:
            here = await self._ask_here(local)
        except BaseException:
            # Refused here (bad input): the peers' answers are not wanted any more.
            for task in asking:
                task.cancel()
            await asyncio.gather(*asking, return_exceptions=True)
            raise
        answers = [here, *await asyncio.gather(*asking)]
        document = combine(self._query(question), answers)
        await self._record(question, document["info"]["members"])
        return document

    async def _ask_here(self, local: LocalQuery) -> MemberAnswer:
        timeout = self._options.timeout
        try:
            async with asyncio.timeout(timeout):
                document = await local()
        except TimeoutError:
            return Missing(self._own, _late(timeout))
        except Unavailable as unavailable:  # the database, say: the peers may still answer
            return Missing(self._own, unavailable.message)
        # Through JSON, as a peer's answer comes: combine takes JSON values only.
        return Answered(self._own, orjson.loads(orjson.dumps(document)))

    async def _ask_peer(
        self, peer: Peer, path: str, sent: PeerQuery, caller: BeaconCaller
    ) -> MemberAnswer:
        if self._peers is None:
            return Missing(peer.country, NO_CLIENT)
        timeout = self._options.timeout
        try:
            answer = await self._peers.beacon(
                peer,
                sent.method,
                path,
                params=sent.params or None,
                body=sent.body,
                passport=caller.passport,
                within=timeout,
            )
        except PeerTimeout:
            return Missing(peer.country, _late(timeout))
        except PeerFailed as failed:
            return Missing(peer.country, failed.message.removeprefix(f"{peer.country}: "))
        return _member(peer.country, answer)

    def _query(self, question: _Question) -> NetworkQuery:
        request = question.request
        default = self._options.description.default_granularity
        context = ResponseContext(
            beacon_id=self._options.description.beacon_id,
            api_version=self._options.api_version,
            returned_schemas=(returned_schema(question.entity),),
            received_summary=request.summary(default),
        )
        # The floor protects people: counts of individuals, as the local Beacon applies it.
        floor = self._options.small_count_floor if question.entity == "individual" else 0
        granularity = request.requested_granularity or default
        return NetworkQuery(context, granularity, request.limit, floor)

    async def _record(self, question: _Question, members: list[dict[str, Any]]) -> None:
        """One audit record: who asked, and which members answered (as combined: a member
        whose answer was unusable is missing)."""
        caller = question.caller
        agent = (
            f"Beacon passport holder {caller.holder}"
            if caller.holder
            else f"Beacon caller at {caller.address[:200]}"
        )
        answered = [m["country"] for m in members if m["status"] == "answered"]
        missing = [f"{m['country']} ({m['reason']})" for m in members if m["status"] != "answered"]
        description = f"Beacon network {question.endpoint} query"
        description += f"; answered: {', '.join(answered) or 'none'}"
        if missing:
            description += f"; missing: {', '.join(missing)}"
        await self._audit.record("search-type", "success", agent=agent, description=description)

    # -- info -----------------------------------------------------------------------------

    def _here(self) -> dict[str, Any]:
        info = self._local.document("info")["response"]
        return {
            "country": self._own,
            "beaconId": info["id"],
            "baseUrl": info["welcomeUrl"],
            "status": "answered",
            "local": True,
            "map": self._local.document("map")["response"],
            "configuration": self._local.document("configuration")["response"],
        }


def _member(country: str, answer: PeerAnswer) -> MemberAnswer:
    """A peer's answer: a 200 for :func:`combine` to check, or a Beacon error for it to quote;
    anything else only by its status."""
    try:
        document = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return Missing(country, f"HTTP {answer.status}, not JSON")
    if answer.status == 200 or (isinstance(document, dict) and "error" in document):
        return Answered(country, document)
    return Missing(country, f"HTTP {answer.status}")


def _late(timeout: float) -> str:
    return f"timeout: no answer within {timeout:g} s"


def _mapping(value: object) -> dict[str, object]:
    return dict(value) if isinstance(value, dict) else {}
