"""The client certificate a request came with, as the TLS-terminating proxy forwarded it."""

from __future__ import annotations

from starlette.requests import Request

__all__ = ["CLIENT_CERTIFICATE", "client_certificate"]

# Where the forwarded-certificate middleware leaves the verified certificate's DER bytes.
CLIENT_CERTIFICATE = "gateway.client_certificate"


def client_certificate(request: Request) -> bytes | None:
    """The DER certificate the client presented over mutual TLS, or None."""
    found = request.scope.get(CLIENT_CERTIFICATE)
    return found if isinstance(found, bytes) else None
