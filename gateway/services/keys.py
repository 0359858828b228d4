"""The gateway's own keys: what it publishes (JWKS) and what it signs summaries with.

Keys live in ``GATEWAY_PKI_DIR`` (``gateway pki init``). A gateway in ``dev`` without keys
serves unsigned summaries and says so at start-up; in ``prod`` it refuses to start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.auth.access_tokens import TokenIssuer
from gateway.auth.keys import (
    SigningIdentity,
    load_signing_identity,
    public_jwks,
)
from gateway.auth.signing import sign_bundle
from gateway.errors import Unavailable
from gateway.federation.peers import OwnCredentials, PeerClient
from gateway.federation.trust_list import TrustList

__all__ = ["KeyService", "open_keys", "peer_client", "token_issuer"]

log = logging.getLogger("gateway")


@dataclass(frozen=True)
class KeyService:
    pki_dir: Path
    country: str
    identity: SigningIdentity | None

    async def jwks(self) -> dict[str, Any]:
        """The public signing keys, current and previous, read now (a rotation shows at once).

        :raises Unavailable: no keys (run ``gateway pki init``).
        """
        return await asyncio.to_thread(public_jwks, self.pki_dir, self.country)

    def sign(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """``bundle`` signed with the gateway's key, or as it is when the gateway has none."""
        if self.identity is None:
            return bundle
        key = self.identity
        chain = list(key.certificate_chain)
        return sign_bundle(bundle, key.private_key, chain, key.kid, bundle["timestamp"])


def open_keys(pki_dir: Path, country: str, *, required: bool) -> KeyService:
    """The gateway's keys. :raises Unavailable: none, and ``required`` (production)."""
    try:
        identity: SigningIdentity | None = load_signing_identity(pki_dir, country)
    except Unavailable:
        if required:
            raise
        log.warning("no signing key: summaries leave unsigned (run `gateway pki init`)")
        identity = None
    return KeyService(pki_dir, country, identity)


def token_issuer(keys: KeyService, base_url: str) -> TokenIssuer:
    """Access tokens are signed with the gateway's published key, so peers can check them
    offline; a ``dev`` gateway without keys signs with a key that dies with the process."""
    if keys.identity is None:
        log.warning("no signing key: access tokens are signed with a key made for this run")
        return TokenIssuer.ephemeral(base_url)
    return TokenIssuer.from_private_key(keys.identity.private_key, keys.identity.kid, base_url)


def peer_client(
    keys: KeyService, trust: TrustList, *, timeout: float, max_bytes: int
) -> PeerClient | None:
    """The client for calls to peer gateways, or None when there are no peers, or no keys to
    show them (a peer takes only assertions signed with a key its trust list holds).

    :raises Unavailable: peers are listed but this gateway's TLS client certificate is missing.
    """
    if not len(trust):
        return None
    if keys.identity is None:
        log.warning("no signing key: the trust list's peers cannot be asked for summaries")
        return None
    own = OwnCredentials.of(keys.pki_dir, keys.country, keys.identity)
    if not own.client_cert.is_file() or not own.client_key.is_file():
        missing = f"{own.client_cert} or {own.client_key}"
        raise Unavailable(f"peers are listed but {missing} is missing (gateway pki init)")
    return PeerClient(own, timeout=timeout, max_bytes=max_bytes)
