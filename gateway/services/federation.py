"""``$summary`` by identifier across borders: answered here, or asked of the citizen's country.

The identifier system names the citizen's member state (from the profiles). For this gateway's
own country, a system no profile places, a country not in the trust list, or a citizen whose
records this gateway holds itself, the local store answers. Otherwise the request goes to
that member state's gateway from the trust list, on behalf of the same
requester (its IHE IUA context and purpose travel in the peer token), and that gateway's
consent engine decides. The answer must come back signed by that member state: the
signature is checked against the CA the trust list names for it, the signing certificate
must be that country's and its key one the trust list publishes for it, and the document
must be about the citizen asked for; otherwise it is refused, never passed on. A request that
came from a peer is never forwarded again: each hop is one member state asking another.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cachetools import LRUCache
from cryptography.x509.oid import NameOID

from gateway.auth.iua import RequesterContext
from gateway.auth.signing import SignatureInvalid, VerifiedSignature, verify_bundle
from gateway.domain.records import Identifier
from gateway.domain.requester import Requester
from gateway.errors import Forbidden, NotFound, PeerFailed
from gateway.federation.peers import PeerAnswer, PeerClient
from gateway.federation.trust_list import Peer, TrustList
from gateway.profiles.loader import ProfileSet
from gateway.services.audit import AuditService
from gateway.services.summaries import NOT_PERMITTED, SignedSummary, SummaryService

__all__ = ["FederatedSummaries"]

SUMMARY_PATH = "/fhir/Patient/$summary"
_PROVEN_DOCUMENTS = 1024
ProofKey = tuple[str, bytes, Identifier]  # the peer, the SHA-256 of the bytes, the citizen


@dataclass(frozen=True, slots=True)
class _Proven:
    """Bytes that passed every check: a peer answering the same bytes again (it keeps its
    signed documents per patient version) needs no new check while the signer's certificate
    is valid."""

    bundle_id: str
    valid_until: datetime


_NOT_FOUND = "no such patient"


class FederatedSummaries:
    def __init__(
        self,
        local: SummaryService,
        profiles: ProfileSet,
        own_country: str,
        trust: TrustList,
        peers: PeerClient | None,
        audit: AuditService,
    ) -> None:
        self._local = local
        self._profiles = profiles
        self._own = own_country
        self._trust = trust
        self._peers = peers
        self._audit = audit
        self._proven: LRUCache[ProofKey, _Proven] = LRUCache(_PROVEN_DOCUMENTS)

    async def summary(self, identifier: Identifier, who: Requester) -> SignedSummary:
        """The signed summary of the citizen with ``identifier``, from wherever it lives.

        :raises NotFound: no such patient (here or at the peer);
        :raises Forbidden: the peer's gateway refused (its consent engine, without a reason);
        :raises PeerFailed: the peer is unreachable, answered nonsense or an invalid signature;
        :raises PeerTimeout: the peer did not answer in time.
        """
        peer = self._peer_for(identifier, who)
        if peer is None or self._peers is None or await self._local.holds(identifier):
            return await self._local.summary_for(identifier, who)
        try:
            signed = await self._ask(peer, self._peers, identifier, who)
        except (NotFound, Forbidden, PeerFailed) as exc:
            await self._log(
                who,
                peer,
                "minor-failure" if exc.status < 500 else "serious-failure",
                None,
                f"{peer.country} gateway: {exc.message}",
            )
            raise
        await self._log(who, peer, "success", signed.id, f"signed by {peer.country}, verified")
        return signed

    def _peer_for(self, identifier: Identifier, who: Requester) -> Peer | None:
        """The peer to ask: the citizen's country's gateway, unless that is this one, it is
        not in the trust list, or the request came from a peer (one hop only)."""
        country = self._profiles.country_of(identifier.system)
        if country is None or country == self._own or self._trust.is_peer(who.client_id):
            return None
        return self._trust.peer(country)

    async def _ask(
        self, peer: Peer, peers: PeerClient, identifier: Identifier, who: Requester
    ) -> SignedSummary:
        context = RequesterContext(
            who.purpose, who.role, who.subject, who.organization or who.client_id
        )
        params = {"identifier": f"{identifier.system}|{identifier.value}"}
        answer = await peers.get(peer, SUMMARY_PATH, params, context, who.purpose)
        _check_status(answer, peer.country)
        key: ProofKey = (peer.country, hashlib.sha256(answer.body).digest(), identifier)
        proven = self._proven.get(key)
        if proven is None or datetime.now(UTC) >= proven.valid_until:
            # Canonicalising and checking ~100 KB takes milliseconds: off the event loop.
            proven = await asyncio.to_thread(_prove, answer.body, peer, identifier)
            self._proven[key] = proven
        return SignedSummary(proven.bundle_id, answer.body)

    async def _log(
        self, who: Requester, peer: Peer, outcome: str, bundle_id: str | None, description: str
    ) -> None:
        await self._audit.record(
            "operation",
            outcome,
            what=f"Bundle/{bundle_id}" if bundle_id else "Bundle",
            agent=who.agent,
            purpose=who.purpose,
            description=f"cross-border summary from {peer.country}: {description}",
        )


def _check_status(answer: PeerAnswer, country: str) -> None:
    if answer.status == 200:
        return
    if answer.status == 404:
        raise NotFound(_NOT_FOUND)
    if answer.status == 403:
        raise Forbidden(NOT_PERMITTED)
    raise PeerFailed(f"{country}: answered HTTP {answer.status}")


def _prove(body: bytes, peer: Peer, identifier: Identifier) -> _Proven:
    verified = _verified(body, peer)
    _check_subject(verified.document, identifier, peer.country)
    return _Proven(str(verified.document.get("id", "")), verified.certificate.not_valid_after_utc)


def _verified(body: bytes, peer: Peer) -> VerifiedSignature:
    try:
        verified = verify_bundle(body, list(peer.anchors), datetime.now(UTC))
    except SignatureInvalid as exc:
        raise PeerFailed(f"{peer.country}: the document's signature is refused ({exc})") from None
    countries = verified.certificate.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    if [attribute.value for attribute in countries] != [peer.country]:
        raise PeerFailed(f"{peer.country}: the document is signed by another member state")
    if verified.kid not in {key.get("kid") for key in peer.jwks["keys"]}:
        raise PeerFailed(f"{peer.country}: signed with a key its trust list entry does not hold")
    return verified


def _check_subject(document: dict[str, object], identifier: Identifier, country: str) -> None:
    wanted = {"system": identifier.system, "value": identifier.value}
    entries = document.get("entry")
    patients = [
        entry["resource"]
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
        and isinstance(entry.get("resource"), dict)
        and entry["resource"].get("resourceType") == "Patient"
    ]
    for patient in patients:
        for found in patient.get("identifier") or []:
            if isinstance(found, dict) and {k: found.get(k) for k in wanted} == wanted:
                return
    raise PeerFailed(f"{country}: the document is not about the citizen asked for")
