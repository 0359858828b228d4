"""Limits on what reaches any route, checked once at the edge (README "Configuration").

``InputLimits`` refuses, before routing: a request target (path and query) longer than
``GATEWAY_MAX_URL_BYTES`` (414), request headers larger than ``GATEWAY_MAX_HEADER_BYTES`` in
total (431), a path or query parameter that is not UTF-8 once percent-decoded (the server
would hand the routes U+FFFD in its place) and a path with a ``.`` or ``..`` segment (400: no
route serves files, but a path that climbs is never what a client meant). NUL and other
control characters are the routes' to refuse, naming the parameter they are in. It also
bounds how long a body may take to arrive (``GATEWAY_BODY_TIMEOUT``): a client trickling its
body gets 408 and the connection is closed, instead of holding a worker for as long as it likes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import BadRequest, HeadersTooLarge, RequestTimeout, UriTooLong


@dataclass(frozen=True, slots=True)
class Limits:
    max_url_bytes: int
    max_header_bytes: int
    body_timeout: float


class InputLimits:
    """Pure ASGI middleware; the coded errors it raises are answered by ``CatchAll``."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        check_target(scope, self.limits.max_url_bytes)
        check_headers(scope, self.limits.max_header_bytes)
        await self.app(scope, body_deadline(receive, self.limits.body_timeout), send)


def check_target(scope: Scope, max_bytes: int) -> None:
    """:raises UriTooLong: path and query over ``max_bytes``; :raises BadRequest: bad bytes."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    if len(raw_path) + len(query) > max_bytes:
        raise UriTooLong(f"request target over {max_bytes} bytes")
    path = _decoded(raw_path, "the path")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise BadRequest("the path has a '.' or '..' segment")
    for part in query.replace(b";", b"&").split(b"&"):
        _decoded(part.replace(b"+", b" "), "a query parameter")


def _decoded(raw: bytes, what: str) -> str:
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not UTF-8 once percent-decoded") from None


def check_headers(scope: Scope, max_bytes: int) -> None:
    """:raises HeadersTooLarge: names and values together over ``max_bytes``."""
    size = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
    if size > max_bytes:
        raise HeadersTooLarge(f"request headers over {max_bytes} bytes")


def body_deadline(receive: Receive, seconds: float) -> Receive:
    """``receive``, giving the whole body ``seconds`` from the first read on. Once the body is
    complete, later reads (a wait for the client to disconnect) are not bounded."""
    deadline: float | None = None
    complete = False

    async def receiving() -> Message:
        nonlocal deadline, complete
        if complete:
            return await receive()
        loop = asyncio.get_running_loop()
        deadline = deadline if deadline is not None else loop.time() + seconds
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise RequestTimeout(f"the request body did not arrive within {seconds:g} s") from None
        complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return receiving
