"""Use cases of the OAuth 2.0 authorization server and resource server.

The token endpoint is SMART Backend Services: ``client_credentials`` with a ``private_key_jwt``
client assertion, answering an RFC 9068 access token that carries the requester's IUA context
and, for a client that came over mutual TLS, the binding to its certificate (RFC 8705). The
resource-server side turns a bearer token into a :class:`Requester` or refuses it: 401 for a
missing or bad token, 403 for a scope that does not cover the request. Every refusal is a
security alert in the audit log; every token issued is an access event there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.auth.access_tokens import TOKEN_LIFETIME_SECONDS, TokenIssuer
from gateway.auth.client_assertion import ASSERTION_TYPE, assertion_issuer, verify_assertion
from gateway.auth.compact_jwt import TokenRefused
from gateway.auth.iua import read_context
from gateway.domain.clients import RegisteredClient
from gateway.domain.requester import Requester
from gateway.domain.scopes import Need, grantable, parse_scopes
from gateway.errors import Conflict, Forbidden, OAuthError, Unauthorized
from gateway.federation.trust_list import TrustList
from gateway.services.audit import AuditService
from gateway.storage.clients import ClientRepository
from gateway.storage.database import Database

__all__ = ["OAuthService", "TokenGrant"]

GRANT_TYPE = "client_credentials"
_REALM = 'Bearer realm="gateway"'


@dataclass(frozen=True, slots=True)
class TokenGrant:
    access_token: str
    scope: str

    def as_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": self.scope,
        }


class OAuthService:
    def __init__(
        self,
        database: Database,
        issuer: TokenIssuer,
        token_url: str,
        audit: AuditService,
        trust: TrustList | None = None,
    ) -> None:
        self._trust = trust or TrustList()
        self._database = database
        self._issuer = issuer
        self._token_url = token_url
        self._audit = audit

    @property
    def issuer(self) -> TokenIssuer:
        return self._issuer

    # --- authorization server ------------------------------------------------------------

    async def token(self, form: Mapping[str, str], certificate: bytes | None) -> TokenGrant:
        """An access token for a client that proved itself with a signed assertion.

        :raises OAuthError: with the RFC 6749 error code; refused clients are audited.
        """
        _check_form(form)
        try:
            parsed, client_id = assertion_issuer(form["client_assertion"])
        except TokenRefused as exc:
            raise await self._refused("invalid_client", str(exc), None) from None
        client = await self._client(client_id)
        if client is None:
            raise await self._refused("invalid_client", "unknown client", client_id)
        now = datetime.now(UTC)
        try:
            assertion = verify_assertion(parsed, client, self._token_url, now)
            context = read_context(assertion.claims)
        except TokenRefused as exc:
            raise await self._refused("invalid_client", str(exc), client_id) from None
        purpose = context.purpose or client.purposes[0]
        if purpose not in client.purposes:
            raise await self._refused(
                "invalid_grant", f"client may not ask for purpose {purpose}", client_id
            )
        scope = _granted_scope(form.get("scope"), client)
        await self._use_once(assertion.client_id, assertion.jti, assertion.expires)
        claims = {
            "sub": client.client_id,
            "client_id": client.client_id,
            "scope": scope,
            "country": client.country,
            "extensions": context.as_claim(purpose),
        }
        token = self._issuer.issue(claims, now, certificate)
        await self._audit.record(
            "token",
            "success",
            agent=client.client_id,
            purpose=purpose,
            description="access token issued"
            + (" (bound to the client certificate)" if certificate else ""),
        )
        return TokenGrant(token, scope)

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662: what a token of this gateway says, if it is active. The route admits only
        callers holding a valid token of their own."""
        try:
            # A bound token is active for its holder; the answer shows the binding (cnf).
            claims = self._issuer.verify(token, datetime.now(UTC), None, holder=False)
        except TokenRefused:
            return {"active": False}
        return {"active": True, "token_type": "Bearer", **claims}

    # --- resource server -----------------------------------------------------------------

    async def requester(
        self, authorization: str | None, certificate: bytes | None, need: Need | None
    ) -> Requester:
        """Who holds this bearer token, if it covers ``need``.

        :raises Unauthorized: no token, or one that does not verify (audited);
        :raises Forbidden: a valid token whose scopes do not cover ``need`` (audited).
        """
        token = _bearer(authorization)
        if token is None:
            raise Unauthorized("this route needs a bearer access token", _REALM)
        try:
            claims = self._issuer.verify(token, datetime.now(UTC), certificate)
            requester = _requester(claims)
        except TokenRefused as exc:
            await self._alert(None, f"access token refused: {exc}")
            raise Unauthorized(
                str(exc), f'{_REALM}, error="invalid_token", error_description="{exc}"'
            ) from None
        if need is not None and not requester.may(need):
            wanted = need.as_text()
            await self._alert(requester.client_id, f"insufficient scope: needs {wanted}")
            raise Forbidden(
                f"the token's scopes do not allow {wanted}",
                f'{_REALM}, error="insufficient_scope", scope="{wanted}"',
            )
        return requester

    # --- helpers ---------------------------------------------------------------------------

    async def _client(self, client_id: str) -> RegisteredClient | None:
        """A registered client, or a peer gateway: listed in the trust list, it is one."""
        async with self._database.read() as connection:
            registered = await ClientRepository(connection).get(client_id)
        return registered or self._trust.client(client_id)

    async def _use_once(self, client_id: str, jti: str, expires: datetime) -> None:
        try:
            async with self._database.write() as connection:
                await ClientRepository(connection).use_assertion(client_id, jti, expires)
        except Conflict:
            raise await self._refused(
                "invalid_client", "the assertion's jti was used before", client_id
            ) from None

    async def _refused(self, error: str, message: str, client_id: str | None) -> OAuthError:
        await self._alert(client_id, f"token request refused: {message}")
        return OAuthError(error, message)

    async def _alert(self, client_id: str | None, description: str) -> None:
        await self._audit.record(
            "security-alert",
            "minor-failure",
            agent=client_id or "unauthenticated",
            description=description,
        )


def _check_form(form: Mapping[str, str]) -> None:
    if form.get("grant_type") != GRANT_TYPE:
        raise OAuthError("unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthError("invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}")
    if not form.get("client_assertion"):
        raise OAuthError("invalid_client", "client_assertion is missing")


def _granted_scope(requested: str | None, client: RegisteredClient) -> str:
    if requested is None or not requested.strip():
        return client.scopes
    granted = grantable(requested, client.scopes)
    if not granted:
        raise OAuthError("invalid_scope", "none of the requested scopes is allowed this client")
    return " ".join(granted)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _requester(claims: dict[str, Any]) -> Requester:
    context = read_context(claims)
    country = claims.get("country")
    if context.purpose is None or not isinstance(country, str):
        raise TokenRefused("the token lacks the requester's purpose or country")
    return Requester(
        client_id=claims["client_id"],
        country=country,
        purpose=context.purpose,
        scopes=tuple(parse_scopes(claims["scope"])),
        role=context.role,
        subject=context.subject,
        organization=context.organization,
    )
