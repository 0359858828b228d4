"""The client certificate a request came with, as the TLS-terminating proxy forwarded it.

uvicorn does not expose the TLS peer certificate (no ASGI TLS extension), so nginx terminates
mutual TLS and forwards the certificate it verified in ``X-Client-Cert``
(``$ssl_client_escaped_cert``: URL-encoded PEM; ``deploy/nginx/``). :class:`ForwardedClient`
believes that header, ``X-Forwarded-For`` and ``X-Forwarded-Proto`` only from the peers named
in ``GATEWAY_TRUSTED_PROXIES``; from anyone else they are removed before the app sees the
request, so a caller can neither bind a token to a certificate it does not hold (RFC 8705 §3)
nor pass for another address.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import BadRequest, Misconfigured

__all__ = [
    "CERTIFICATE_HEADER",
    "CLIENT_CERTIFICATE",
    "ForwardedClient",
    "TrustedProxies",
    "client_certificate",
    "read_forwarded_certificate",
]

# Where the forwarded-certificate middleware leaves the verified certificate's DER bytes.
CLIENT_CERTIFICATE = "gateway.client_certificate"

CERTIFICATE_HEADER = b"x-client-cert"
FORWARDED_FOR = b"x-forwarded-for"
FORWARDED_PROTO = b"x-forwarded-proto"
# The app never sees these headers, only what they mean (the certificate, client, scheme).
_FORWARDED = (CERTIFICATE_HEADER, FORWARDED_FOR, FORWARDED_PROTO)
UNIX = "unix"
# A federation certificate is about 1.5 kB of URL-encoded PEM; anything far larger is not one.
MAX_CERTIFICATE_BYTES = 16 * 1024
_BEGIN, _END = b"-----BEGIN CERTIFICATE-----", b"-----END CERTIFICATE-----"

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network


def client_certificate(request: Request) -> bytes | None:
    """The DER certificate the client presented over mutual TLS, or None."""
    found = request.scope.get(CLIENT_CERTIFICATE)
    return found if isinstance(found, bytes) else None


@dataclass(frozen=True, slots=True)
class TrustedProxies:
    """The peers allowed to forward a client certificate and address: IP addresses or
    networks, and with ``unix`` whoever connects over the gateway's unix socket (whose file
    mode and folder decide who that can be)."""

    networks: tuple[Network, ...] = ()
    unix: bool = False

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        """``GATEWAY_TRUSTED_PROXIES``: entries separated by spaces or commas.

        :raises Misconfigured: an entry that is neither an address, a network nor ``unix``.
        """
        networks: list[Network] = []
        unix = False
        for entry in text.replace(",", " ").split():
            if entry.lower() == UNIX:
                unix = True
                continue
            try:
                networks.append(ip_network(entry))
            except ValueError:
                raise Misconfigured(
                    f"GATEWAY_TRUSTED_PROXIES: {entry!r} is not an IP address, a network "
                    "(such as 10.0.0.0/8, without host bits) or unix"
                ) from None
        return cls(tuple(networks), unix)

    def trust(self, scope: Scope) -> bool:
        """Whether the peer that sent this request is a trusted proxy."""
        server = scope.get("server")
        if server is not None and server[1] is None:
            # ASGI gives a unix socket's server as [path, None]; uvicorn gives no client.
            return self.unix
        client = scope.get("client")
        return client is not None and self.covers(str(client[0]))

    def covers(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in network for network in self.networks)


class ForwardedClient:
    """Pure ASGI middleware: the forwarded client certificate, address and scheme, believed
    from trusted proxies only and removed from every request's headers.

    It sits inside the error edge's ``CatchAll``, which answers its :class:`BadRequest` (a
    trusted proxy forwarding something unreadable) like any other error.
    """

    def __init__(self, app: ASGIApp, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        kept, forwarded = _split(scope["headers"])
        trusted = self.proxies.trust(scope)
        # In place, not a copy: the outer middlewares (AccessLog, CatchAll) read the route
        # that the router leaves in this very scope.
        scope["headers"] = kept
        if trusted:
            _believe(scope, forwarded, self.proxies)
        await self.app(scope, receive, send)


def read_forwarded_certificate(value: bytes) -> bytes | None:
    """The DER bytes of the certificate in an ``X-Client-Cert`` value (URL-encoded PEM, as
    nginx's ``$ssl_client_escaped_cert``); None when the value is empty (no certificate).

    :raises BadRequest: anything but exactly one readable PEM certificate.
    """
    if not value.strip():
        return None
    if len(value) > MAX_CERTIFICATE_BYTES:
        raise BadRequest("the forwarded client certificate is too large")
    pem = unquote_to_bytes(value.strip())
    if not (pem.startswith(_BEGIN) and pem.rstrip().endswith(_END)) or pem.count(_BEGIN) != 1:
        raise BadRequest("the forwarded client certificate is not one URL-encoded PEM certificate")
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise BadRequest("the forwarded client certificate cannot be read") from None
    return certificate.public_bytes(Encoding.DER)


def _split(
    headers: Iterable[tuple[bytes, bytes]],
) -> tuple[list[tuple[bytes, bytes]], dict[bytes, list[bytes]]]:
    """The request's headers without the forwarding ones, and those apart (by name)."""
    kept: list[tuple[bytes, bytes]] = []
    forwarded: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in _FORWARDED:
            forwarded.setdefault(lowered, []).append(value)
        else:
            kept.append((name, value))
    return kept, forwarded


def _believe(scope: Scope, forwarded: dict[bytes, list[bytes]], proxies: TrustedProxies) -> None:
    """Apply what a trusted proxy forwarded to the scope. :raises BadRequest:"""
    certificates = forwarded.get(CERTIFICATE_HEADER, [])
    if len(certificates) > 1:
        raise BadRequest("the proxy forwarded more than one client certificate")
    if certificates and (der := read_forwarded_certificate(certificates[0])) is not None:
        scope[CLIENT_CERTIFICATE] = der
    if FORWARDED_FOR in forwarded:
        client = _original_client(forwarded[FORWARDED_FOR], proxies)
        scope["client"] = (client, 0)
    if FORWARDED_PROTO in forwarded and scope["type"] == "http":
        scope["scheme"] = _scheme(forwarded[FORWARDED_PROTO])


def _original_client(values: Sequence[bytes], proxies: TrustedProxies) -> str:
    """The caller behind the proxies: the right-most ``X-Forwarded-For`` entry that is not a
    trusted proxy itself (entries further left were written by the caller and prove nothing).

    :raises BadRequest: an entry that is not an IP address.
    """
    entries = [e.strip() for v in values for e in v.decode("latin-1").split(",")]
    addresses = []
    for entry in reversed(entries):
        address = _address(entry)
        if address is None:
            raise BadRequest("X-Forwarded-For from the proxy holds something other than addresses")
        addresses.append(str(address))
        if not proxies.covers(entry):
            return str(address)
    return addresses[-1]  # every hop was a trusted proxy: the first one is the caller


def _scheme(values: Sequence[bytes]) -> str:
    scheme = values[-1].strip().lower()
    if scheme not in (b"http", b"https"):
        raise BadRequest("X-Forwarded-Proto from the proxy is neither http nor https")
    return scheme.decode("ascii")


def _address(host: str) -> Address | None:
    """An IP address (IPv4-mapped IPv6 as the IPv4 it maps), or None for a name."""
    try:
        address = ip_address(host)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
