"""``/oauth`` (token, introspection) and the authorization server's discovery documents."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request

from gateway.api.auth import bearer_holder
from gateway.api.client_cert import client_certificate
from gateway.api.deps import ServicesDep, bounded_body
from gateway.api.rendering import JSONBody
from gateway.auth.metadata import authorization_server_metadata, smart_configuration
from gateway.errors import OAuthError, TooLarge

router = APIRouter(tags=["oauth"])

MAX_FORM_BYTES = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post("/oauth/token", summary="Access token: client_credentials with private_key_jwt")
async def token(request: Request, found: ServicesDep) -> JSONBody:
    form = await _form(request)
    grant = await found.oauth.token(form, client_certificate(request))
    return JSONBody(grant.as_response(), headers=_NO_STORE)


@router.post("/oauth/introspect", summary="Token introspection (RFC 7662; needs a token)")
async def introspect(request: Request, found: ServicesDep, _caller: bearer_holder) -> JSONBody:
    form = await _form(request)
    if not form.get("token"):
        raise OAuthError("invalid_request", "token is missing")
    return JSONBody(found.oauth.introspect(form["token"]), headers=_NO_STORE)


@router.get("/.well-known/oauth-authorization-server", summary="RFC 8414 metadata")
async def server_metadata(found: ServicesDep) -> JSONBody:
    return JSONBody(authorization_server_metadata(found.settings.public_base_url))


@router.get("/fhir/.well-known/smart-configuration", summary="SMART configuration (public)")
async def smart(found: ServicesDep) -> JSONBody:
    return JSONBody(smart_configuration(found.settings.public_base_url))


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; each parameter at most once
    (RFC 6749 §3.2)."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    try:
        body = await bounded_body(request, MAX_FORM_BYTES)
    except TooLarge as exc:  # OAuth clients parse RFC 6749 errors, not problem documents
        raise OAuthError("invalid_request", exc.message) from None
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form is not URL-encoded ASCII") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise OAuthError("invalid_request", "a parameter is repeated")
    return form
