"""The edge where coded errors become HTTP answers.

Beacon routes (``/beacon`` and ``/beacon-network``) answer with the Beacon error response,
FHIR and national routes with an ``OperationOutcome``, the token endpoint with RFC 6749
errors, everything else with an RFC 9457 problem document. No stack trace ever reaches a
caller; unexpected errors are logged with their type and path only (never a query
string, which may carry identifiers).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.rendering import FHIRBody, JSONBody, ProblemBody
from gateway.beacon.responses import error_response
from gateway.errors import GatewayError, OAuthError, RecordError
from gateway.fhir.outcome import error_outcome

log = logging.getLogger("gateway.api")

BeaconMeta = Callable[[], tuple[str, str]]


def install(app: FastAPI, beacon_meta: BeaconMeta) -> None:
    """Register the handlers; ``beacon_meta`` gives (beacon id, api version) for error bodies."""

    async def gateway_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        if isinstance(exc, OAuthError):
            return _oauth_error(exc)
        if isinstance(exc, RecordError) and _speaks_fhir(request.url.path):
            body = error_outcome(exc.status, exc.detail, exc.location)
            return FHIRBody(body, status_code=exc.status)
        return _answer(request, exc.status, exc.code, exc.message, beacon_meta, exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return _answer(
            request, exc.status_code, "http_error", str(exc.detail), beacon_meta, exc.headers
        )

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid request"
        return _answer(request, 400, "bad_request", message, beacon_meta)

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_middleware(CatchAll, beacon_meta=beacon_meta)


class CatchAll:
    """Pure ASGI middleware: a coded error raised by an inner middleware gets its answer; a
    defect becomes a 500 error document and one log line naming the route template.
    Starlette's own last-resort handler re-raises, and the server would then print a
    traceback that can carry request values (paths, SQL parameters)."""

    def __init__(self, app: ASGIApp, beacon_meta: BeaconMeta) -> None:
        self.app = app
        self.beacon_meta = beacon_meta

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if isinstance(exc, GatewayError) and not started:
                # Raised by a middleware inside this one (ForwardedClient refusing what a proxy
                # forwarded); the routes' own errors are answered by the handlers above.
                request = Request(scope)
                await _answer(
                    request, exc.status, exc.code, exc.message, self.beacon_meta, exc.headers
                )(scope, receive, send)
                return
            route = getattr(scope.get("route"), "path", "unmatched")
            log.error("unhandled error", extra={"error": type(exc).__name__, "route": route})
            if not started:
                response = _answer(
                    Request(scope), 500, "internal_error", "internal error", self.beacon_meta
                )
                await response(scope, receive, send)


def _answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    beacon_meta: BeaconMeta,
    headers: Mapping[str, str] | None = None,
) -> Response:
    path = request.url.path
    if _speaks_beacon(path):
        beacon_id, api_version = beacon_meta()
        body = error_response(
            None, code=status, message=message, beacon_id=beacon_id, api_version=api_version
        )
        return JSONBody(body, status_code=status, headers=dict(headers or {}))
    if _speaks_fhir(path):
        return FHIRBody(
            error_outcome(status, message), status_code=status, headers=dict(headers or {})
        )
    problem = {
        "type": f"urn:gateway:error:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": message,
        "instance": path,
    }
    return ProblemBody(problem, status_code=status, headers=dict(headers or {}))


def _oauth_error(exc: OAuthError) -> Response:
    """RFC 6749 §5.2: what OAuth clients parse, not a problem document."""
    body = {"error": exc.error, "error_description": exc.message}
    headers = {"Cache-Control": "no-store"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_client"'
    return JSONBody(body, status_code=exc.status, headers=headers)


def _speaks_beacon(path: str) -> bool:
    return path.startswith(("/beacon/", "/beacon-network/")) or path in (
        "/beacon",
        "/beacon-network",
    )


def _speaks_fhir(path: str) -> bool:
    return path.startswith(("/fhir/", "/national/")) or path in ("/fhir", "/national")
