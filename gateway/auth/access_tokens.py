"""RFC 9068 JWT access tokens: issued by this gateway, for this gateway.

Signed ES384 with the gateway's signing key (published at ``/.well-known/jwks.json``, so a
peer can check a token offline), or in ``dev`` without keys with a key made at start-up that
lives as long as the process. Tokens live five minutes; there are no refresh tokens (SMART
Backend Services). The resource-server check is strict where authlib's validator is lax
(``reference/crossborder-security.md`` §3 pitfalls 3 and 5): ``typ`` must be ``at+jwt``, and
``iss``, ``aud``, lifetime and the certificate binding are all checked.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cachetools import LRUCache
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.auth.compact_jwt import TokenRefused, read_compact, verify_signature

__all__ = ["TOKEN_LIFETIME_SECONDS", "TokenIssuer", "certificate_thumbprint"]

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
TOKEN_LIFETIME_SECONDS = 300
ALGORITHM = "ES384"
CLOCK_SKEW_SECONDS = 30
CNF_MEMBER = "x5t#S256"
_VERIFIED_TOKENS = 4096


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    key: ECKey
    kid: str
    issuer: str  # this gateway's base URL
    audience: str  # also this gateway: its tokens are for itself alone
    # Tokens whose signature and fixed claims checked out: a client sends its token with
    # every request for five minutes, and an ES384 verification costs more than the rest of
    # a cached read. Lifetime and certificate binding are still checked on every use.
    _verified: LRUCache[str, dict[str, Any]] = field(
        default_factory=lambda: LRUCache(_VERIFIED_TOKENS), compare=False, repr=False
    )

    @classmethod
    def from_private_key(
        cls, private_key: ec.EllipticCurvePrivateKey, kid: str, base_url: str
    ) -> TokenIssuer:
        return cls(ECKey.import_key(private_key), kid, base_url, base_url)

    @classmethod
    def ephemeral(cls, base_url: str) -> TokenIssuer:
        """A development issuer whose key dies with the process (no ``pki init`` yet)."""
        key = ECKey.generate_key("P-384")
        return cls(key, key.thumbprint(), base_url, base_url)

    def issue(self, claims: dict[str, Any], now: datetime, certificate: bytes | None) -> str:
        """A signed access token carrying ``claims`` (sub, client_id, scope, extensions...),
        bound to the client certificate when the client came over mutual TLS."""
        issued = int(now.timestamp())
        body = {
            **claims,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_SECONDS,
            "jti": uuid.uuid4().hex,
        }
        if certificate is not None:
            body["cnf"] = {CNF_MEMBER: certificate_thumbprint(certificate)}
        header = {"alg": ALGORITHM, "typ": TOKEN_TYPE, "kid": self.kid}
        return jwt.encode(header, body, self.key, algorithms=[ALGORITHM])

    def verify(
        self, token: str, now: datetime, certificate: bytes | None, *, holder: bool = True
    ) -> dict[str, Any]:
        """The claims of a token this gateway issued, still valid, presented with the
        certificate it is bound to (if it is bound; ``holder=False`` when a third party
        introspects it). :raises TokenRefused:"""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verified_claims(token)
            self._verified[token] = claims
        _check_lifetime(claims, now.timestamp())
        if holder:
            _check_binding(claims.get("cnf"), certificate)
        return claims

    def _verified_claims(self, token: str) -> dict[str, Any]:
        """The claims of a token with this gateway's signature, issuer, audience and the
        claims every token carries; what does not change with time. :raises TokenRefused:"""
        parsed = read_compact(token)
        if str(parsed.header.get("typ", "")).lower() not in (TOKEN_TYPE, "application/at+jwt"):
            raise TokenRefused("the token is not an access token (typ at+jwt)")
        if parsed.header.get("kid") != self.kid:
            raise TokenRefused("the token was not signed with this gateway's current key")
        verify_signature(parsed, self.key, ALGORITHM)
        claims = parsed.claims
        if claims.get("iss") != self.issuer or claims.get("aud") != self.audience:
            raise TokenRefused("the token was issued by or for another server")
        for name in ("sub", "client_id", "jti", "scope"):
            if not isinstance(claims.get(name), str):
                raise TokenRefused(f"the token lacks {name}")
        return claims


def certificate_thumbprint(der: bytes) -> str:
    """RFC 8705 ``x5t#S256``: the base64url SHA-256 of the DER certificate."""
    digest = hashlib.sha256(der).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _check_lifetime(claims: dict[str, Any], moment: float) -> None:
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int) or not isinstance(issued, int):
        raise TokenRefused("the token lacks exp or iat")
    if expires <= moment:
        raise TokenRefused("the token has expired")
    if issued > moment + CLOCK_SKEW_SECONDS or expires - issued > TOKEN_LIFETIME_SECONDS:
        raise TokenRefused("the token's lifetime is not one this gateway issues")


def _check_binding(cnf: object, certificate: bytes | None) -> None:
    if cnf is None:
        return
    if not isinstance(cnf, dict) or not isinstance(cnf.get(CNF_MEMBER), str):
        raise TokenRefused("the token's cnf claim is not a certificate binding")
    if certificate is None or certificate_thumbprint(certificate) != cnf[CNF_MEMBER]:
        raise TokenRefused("the token is bound to a client certificate this request lacks")
