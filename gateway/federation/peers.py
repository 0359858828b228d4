"""Calls to peer gateways: mutual TLS, an access token per requester, bounded answers.

Every call goes over TLS with this gateway's client certificate, to a server whose certificate
must chain to the CA the trust list names for that peer (and no other). Before the first FHIR
call on behalf of a requester, this gateway asks the peer's ``/oauth/token`` for an access
token with a ``private_key_jwt`` assertion signed with its document-signing key (the key the
peer knows from its own trust list), carrying the requester's IHE IUA context; the token is
kept until shortly before it expires. Beacon calls carry no such token: a peer's ``/beacon``
judges the researcher's own GA4GH Passport, forwarded as it came, or answers an anonymous
caller. The peer's answers are untrusted input: every call has one deadline for the whole
exchange and a ceiling on the bytes read.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
from cachetools import LRUCache
from joserfc.jwk import ECKey

from gateway.auth.client_assertion import ASSERTION_TYPE
from gateway.auth.client_keys import sign_assertion
from gateway.auth.iua import RequesterContext
from gateway.auth.keys import CLIENT_CERT, CLIENT_KEY, SigningIdentity, country_dir
from gateway.errors import PeerFailed, PeerTimeout
from gateway.federation.transport import peer_transport
from gateway.federation.trust_list import PEER_ALGORITHM, Peer, gateway_id

__all__ = ["OwnCredentials", "PeerAnswer", "PeerClient"]

TOKEN_PATH = "/oauth/token"  # noqa: S105 (a route, not a secret)
_TOKEN_MARGIN_SECONDS = 30  # a token this close to expiry is not used for a new call
_TOKEN_BYTES = 16_384
_CACHED_TOKENS = 1024

TokenKey = tuple[str, RequesterContext, str]  # the peer's country, who asks, and why
QueryParams = Mapping[str, str] | tuple[tuple[str, str], ...]  # pairs: a name may repeat


@dataclass(frozen=True, slots=True)
class OwnCredentials:
    """How this gateway shows itself to peers: its client certificate and signing key."""

    country: str
    client_cert: Path
    client_key: Path
    signing_key: ECKey
    kid: str

    @classmethod
    def of(cls, pki_dir: Path, country: str, identity: SigningIdentity) -> OwnCredentials:
        """This gateway's credentials as ``gateway pki init`` laid them out: the TLS client
        certificate of ``country`` under ``pki_dir``, and its document-signing identity."""
        folder = country_dir(pki_dir, country)
        return cls(
            country=country,
            client_cert=folder / CLIENT_CERT,
            client_key=folder / CLIENT_KEY,
            signing_key=ECKey.import_key(identity.private_key),
            kid=identity.kid,
        )

    @property
    def client_id(self) -> str:
        return gateway_id(self.country)


@dataclass(frozen=True, slots=True)
class PeerAnswer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    good_until: float  # time.monotonic()


class PeerClient:
    def __init__(
        self,
        own: OwnCredentials,
        *,
        timeout: float,
        max_bytes: int,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._own = own
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._transport = transport  # tests: a MockTransport instead of the network
        self._clients: dict[str, httpx.AsyncClient] = {}
        self._tokens: LRUCache[TokenKey, _Token] = LRUCache(_CACHED_TOKENS)

    async def get(
        self,
        peer: Peer,
        path: str,
        params: Mapping[str, str],
        context: RequesterContext,
        purpose: str,
    ) -> PeerAnswer:
        """GET ``path`` at ``peer`` on behalf of the requester ``context`` asking for
        ``purpose``; the answer whatever its status (the caller maps it).

        :raises PeerTimeout: no complete answer within the timeout;
        :raises PeerFailed: unreachable, TLS refused, too large, or no token to be had.
        """
        return await _within(self._timeout, peer, self._get(peer, path, params, context, purpose))

    async def beacon(
        self,
        peer: Peer,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        body: object = None,
        passport: str | None = None,
        within: float | None = None,
        max_bytes: int | None = None,
    ) -> PeerAnswer:
        """A Beacon request to ``peer``: GET with ``params`` or POST with the JSON ``body``,
        carrying the caller's ``passport`` as its bearer token (none for an anonymous caller);
        the answer whatever its status. The deadline ``within`` (seconds) and ``max_bytes``
        default to the client's.

        :raises PeerTimeout: no complete answer within the timeout;
        :raises PeerFailed: unreachable, TLS refused, or too large.
        """
        sent = self._send(
            peer, method, path, params=params, json=body, bearer=passport, limit=max_bytes
        )
        return await _within(self._timeout if within is None else within, peer, sent)

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def _get(
        self,
        peer: Peer,
        path: str,
        params: Mapping[str, str],
        context: RequesterContext,
        purpose: str,
    ) -> PeerAnswer:
        key: TokenKey = (peer.country, context, purpose)
        fresh = key not in self._tokens
        token = await self._token(peer, key)
        answer = await self._send(peer, "GET", path, params=dict(params), bearer=token)
        if answer.status == 401 and not fresh:
            # The peer no longer takes the token it issued (restarted with a new key, say):
            # one new token, one more try.
            self._tokens.pop(key, None)
            token = await self._token(peer, key)
            answer = await self._send(peer, "GET", path, params=dict(params), bearer=token)
        return answer

    async def _token(self, peer: Peer, key: TokenKey) -> str:
        kept = self._tokens.get(key)
        if kept is not None and time.monotonic() < kept.good_until:
            return kept.value
        _, context, purpose = key
        assertion = sign_assertion(
            self._own.signing_key,
            self._own.kid,
            PEER_ALGORITHM,
            self._own.client_id,
            peer.base_url + TOKEN_PATH,
            context.as_claim(purpose),
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        answer = await self._send(peer, "POST", TOKEN_PATH, data=form, limit=_TOKEN_BYTES)
        token = _token_from(answer, peer.country)
        self._tokens[key] = token
        return token.value

    async def _send(
        self,
        peer: Peer,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        data: dict[str, str] | None = None,
        json: object = None,
        bearer: str | None = None,
        limit: int | None = None,
    ) -> PeerAnswer:
        headers = {"Accept": "application/fhir+json, application/json"}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        client = self._client(peer)
        request = client.build_request(
            method, path, params=params, data=data, json=json, headers=headers
        )
        try:
            response = await client.send(request, stream=True)
            try:
                body = await _read_bounded(response, limit or self._max_bytes, peer.country)
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            raise PeerTimeout(f"{peer.country}: no answer within {self._timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise PeerFailed(f"{peer.country}: unreachable ({_reason(exc)})") from None
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        return PeerAnswer(response.status_code, content_type, body)

    def _client(self, peer: Peer) -> httpx.AsyncClient:
        client = self._clients.get(peer.country)
        if client is None:
            limits = httpx.Limits(max_connections=32, max_keepalive_connections=8)
            client = httpx.AsyncClient(
                base_url=peer.base_url,
                transport=self._transport or peer_transport(self._tls(peer), limits),
                timeout=httpx.Timeout(self._timeout),
                follow_redirects=False,  # a peer answers itself, or not at all
            )
            self._clients[peer.country] = client
        return client

    def _tls(self, peer: Peer) -> ssl.SSLContext:
        # Only the CA the trust list names for this peer, not the system's: a certificate from
        # any public CA for the peer's host name must not pass.
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(peer.ca_cert))
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self._own.client_cert, self._own.client_key)
        return context


async def _within(seconds: float, peer: Peer, call: Awaitable[PeerAnswer]) -> PeerAnswer:
    """``call``'s answer, if it comes within ``seconds`` (one deadline for the whole exchange:
    token, connection, request and every byte of the answer). :raises PeerTimeout:"""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError:
        raise PeerTimeout(f"{peer.country}: no answer within {seconds:g} s") from None


async def _read_bounded(response: httpx.Response, limit: int, country: str) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PeerFailed(f"{country}: answer of {declared} bytes, over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise PeerFailed(f"{country}: answer over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _token_from(answer: PeerAnswer, country: str) -> _Token:
    if answer.status != 200:
        raise PeerFailed(f"{country}: refused this gateway a token (HTTP {answer.status})")
    try:
        body = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        raise PeerFailed(f"{country}: its token answer is not JSON") from None
    token = body.get("access_token") if isinstance(body, dict) else None
    lifetime = body.get("expires_in") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token or not isinstance(lifetime, int) or lifetime <= 0:
        raise PeerFailed(f"{country}: its token answer lacks access_token or expires_in")
    good_until = time.monotonic() + max(0, lifetime - _TOKEN_MARGIN_SECONDS)
    return _Token(token, good_until)


def _reason(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError) or isinstance(exc.__context__, ssl.SSLError):
        return "TLS handshake refused"
    return type(exc).__name__
