"""The forwarded client certificate and address (``ForwardedClient``): believed from trusted
proxies only, stripped from everyone else, and a clear 400 when a trusted proxy forwards
something unreadable. Through the real app: the URL's host says which peer a request comes
from, filled into the ASGI scope as uvicorn fills it (a TCP peer's address, or a unix socket's
path and no client). ``test_mtls_nginx.py`` does the same over real TLS behind real nginx."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.client_cert import CLIENT_CERTIFICATE, ForwardedClient, TrustedProxies
from gateway.app import create_app
from gateway.auth import pki
from gateway.errors import Misconfigured
from gateway.settings import Settings
from tests.support.oauth import ClientKey, register, token_form, token_url

# What uvicorn puts in the scope for each kind of peer; the request URL's host picks one.
PEERS: dict[str, dict[str, Any]] = {
    "proxy": {"client": ("127.0.0.2", 41000)},  # nginx, on a loopback address of its own
    "neighbour": {"client": ("127.0.0.1", 41000)},  # any other process on the same host
    "socket": {"server": ("/run/gateway/gateway.sock", None), "client": None},
}
SEARCH = "/fhir/Patient?identifier=urn:oid:1.2.3|x"


def served(app: ASGIApp) -> ASGIApp:
    async def transport(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            scope = {**scope, **PEERS[scope["server"][0]]}
        await app(scope, receive, send)

    return transport


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki")
    pki.init_pki(out, ["FR", "IT"])
    return out


def pem(federation: Path, country: str) -> bytes:
    return (federation / country / "client.pem").read_bytes()


def der(federation: Path, country: str) -> bytes:
    return x509.load_pem_x509_certificate(pem(federation, country)).public_bytes(Encoding.DER)


def escaped(data: bytes) -> str:
    """As nginx's ``$ssl_client_escaped_cert``: the PEM with reserved characters encoded."""
    return quote(data, safe="")


def thumbprint(certificate: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(certificate).digest()).rstrip(b"=").decode()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    found: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return found


@pytest.fixture
def node() -> ClientKey:
    return ClientKey(client_id="node-fr", country="FR")


def gateway_behind(settings: Settings, trusted: str, node: ClientKey) -> TestClient:
    register(settings, node)
    app = create_app(settings.model_copy(update={"trusted_proxies": trusted}))
    return TestClient(served(app))


@pytest.fixture
def http(settings: Settings, node: ClientKey) -> Iterator[TestClient]:
    """The gateway trusting nginx on 127.0.0.2 and whoever reaches its unix socket."""
    with gateway_behind(settings, "127.0.0.2, unix", node) as client:
        yield client


def forwarding(cert: str | None) -> dict[str, str]:
    return {} if cert is None else {"x-client-cert": cert}


def token(
    http: TestClient, settings: Settings, node: ClientKey, peer: str, cert: str | None = None
) -> Any:
    form = token_form(node.assertion(token_url(settings)))
    return http.post(f"http://{peer}/oauth/token", data=form, headers=forwarding(cert))


def issued(
    http: TestClient, settings: Settings, node: ClientKey, peer: str, cert: str | None = None
) -> str:
    response = token(http, settings, node, peer, cert)
    assert response.status_code == 200, response.text
    access: str = response.json()["access_token"]
    return access


# --- binding through a trusted proxy ----------------------------------------------------------


@pytest.mark.parametrize("peer", ["proxy", "socket"])
def test_a_trusted_proxy_binds_the_token_to_the_forwarded_certificate(
    http, settings, node, federation, peer
):
    access = issued(http, settings, node, peer, cert=escaped(pem(federation, "FR")))
    assert claims(access)["cnf"] == {"x5t#S256": thumbprint(der(federation, "FR"))}


def test_without_a_forwarded_certificate_the_token_is_not_bound(http, settings, node):
    assert "cnf" not in claims(issued(http, settings, node, "proxy"))
    # nginx forwards an empty value when the client sent no certificate
    assert "cnf" not in claims(issued(http, settings, node, "proxy", cert=""))


def test_a_bound_token_needs_its_own_certificate(http, settings, node, federation):
    fr, it = escaped(pem(federation, "FR")), escaped(pem(federation, "IT"))
    bearer = f"Bearer {issued(http, settings, node, 'proxy', cert=fr)}"

    def search(peer: str, cert: str | None = None) -> Any:
        return http.get(
            f"http://{peer}{SEARCH}", headers={"authorization": bearer, **forwarding(cert)}
        )

    found = search("proxy", cert=fr)
    assert found.status_code == 200, found.text
    assert found.json()["resourceType"] == "Bundle"
    assert found.json()["total"] == 0
    assert search("socket", cert=fr).status_code == 200
    for refused in (
        search("proxy"),  # the certificate is missing
        search("proxy", cert=it),  # another gateway's certificate
        search("neighbour", cert=fr),  # the right one, but forged by an untrusted peer
    ):
        assert refused.status_code == 401, refused.text
        assert refused.json()["resourceType"] == "OperationOutcome"
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]


# --- untrusted peers ------------------------------------------------------------------------


def test_an_untrusted_peer_cannot_bind_a_token_to_a_forged_certificate(
    http, settings, node, federation
):
    forged = escaped(pem(federation, "FR"))
    assert "cnf" not in claims(issued(http, settings, node, "neighbour", cert=forged))


def test_without_unix_in_the_list_a_socket_peer_is_not_trusted(settings, node, federation):
    forged = escaped(pem(federation, "FR"))
    with gateway_behind(settings, "127.0.0.2", node) as http:
        assert "cnf" not in claims(issued(http, settings, node, "socket", cert=forged))


def test_with_no_trusted_proxies_nobody_forwards_a_certificate(settings, node, federation):
    forged = escaped(pem(federation, "FR"))
    with gateway_behind(settings, "", node) as http:
        for peer in ("proxy", "socket", "neighbour"):
            assert "cnf" not in claims(issued(http, settings, node, peer, cert=forged))


# --- what a trusted proxy may not forward ----------------------------------------------------


def public_key_pem(federation: Path) -> bytes:
    certificate = x509.load_pem_x509_certificate(pem(federation, "FR"))
    return certificate.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


MALFORMED: dict[str, Callable[[Path], str]] = {
    "not PEM": lambda f: "not-a-certificate",
    "a public key": lambda f: escaped(public_key_pem(f)),
    "two certificates": lambda f: escaped(pem(f, "FR") + pem(f, "IT")),
    "a broken certificate": lambda f: escaped(
        b"-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n"
    ),
    # Over the certificate's own limit (16 KB), under the limit on all headers (32 KB, 431).
    "oversized": lambda f: escaped(pem(f, "FR")) * (20_000 // len(escaped(pem(f, "FR"))) + 1),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_an_unreadable_certificate_from_a_trusted_proxy_is_a_400(
    http, settings, node, federation, case
):
    value = MALFORMED[case](federation)
    response = token(http, settings, node, "proxy", cert=value)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:gateway:error:bad_request"
    assert "forwarded client certificate" in problem["detail"]
    # the same header from an untrusted peer is dropped: it can neither bind nor break
    assert "cnf" not in claims(issued(http, settings, node, "neighbour", cert=value))


def test_two_forwarded_certificates_are_a_400(http, federation) -> None:
    fr, it = escaped(pem(federation, "FR")), escaped(pem(federation, "IT"))
    headers = [("x-client-cert", fr), ("x-client-cert", it)]
    response = http.get("http://proxy/fhir/metadata", headers=headers)
    assert response.status_code == 400
    outcome = response.json()  # a FHIR route answers in FHIR
    assert outcome["resourceType"] == "OperationOutcome"
    assert "more than one client certificate" in outcome["issue"][0]["diagnostics"]


def test_the_beacon_budget_counts_the_caller_behind_the_proxy(settings, node) -> None:
    """Per-caller limits see the real caller: each one behind nginx has a budget, and a
    neighbour cannot buy fresh budgets by forging addresses."""
    budgeted = settings.model_copy(update={"beacon_query_budget": 1})
    with gateway_behind(budgeted, "127.0.0.2", node) as client:

        def query(peer: str, caller: str) -> int:
            url = f"http://{peer}/beacon/individuals"
            status: int = client.get(url, headers={"x-forwarded-for": caller}).status_code
            return status

        assert query("proxy", "203.0.113.1") == 200
        assert query("proxy", "203.0.113.1") == 429  # the same caller again
        assert query("proxy", "203.0.113.2") == 200  # another caller behind the same nginx
        assert query("neighbour", "198.51.100.1") == 200
        assert query("neighbour", "198.51.100.2") == 429  # still 127.0.0.1, whatever it claims


# --- the middleware on its own: headers, addresses, scheme ------------------------------------


def seen(proxies: str, scope: dict[str, Any]) -> dict[str, Any]:
    """The scope the app behind ``ForwardedClient`` gets."""
    inner: dict[str, Any] = {}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        inner.update(scope)

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        raise AssertionError(f"nothing should be sent: {message}")

    base = {"type": "http", "scheme": "http", "server": ("127.0.0.1", 8080)}
    asyncio.run(
        ForwardedClient(app, TrustedProxies.parse(proxies))({**base, **scope}, receive, send)
    )
    return inner


def request_from(client: tuple[str, int] | None, *headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {"client": client, "headers": [(b"accept", b"*/*"), *headers]}


FORWARDING = (
    (b"x-client-cert", b"-----BEGIN%20CERTIFICATE-----"),
    (b"x-forwarded-for", b"203.0.113.9"),
    (b"x-forwarded-proto", b"https"),
)


@pytest.mark.parametrize("client", [("127.0.0.1", 5000), ("10.0.0.5", 5000), ("testclient", 1)])
def test_forwarding_headers_of_an_untrusted_peer_never_reach_the_app(client) -> None:
    inner = seen("127.0.0.2 unix", request_from(client, *FORWARDING))
    assert inner["headers"] == [(b"accept", b"*/*")]
    assert inner["client"] == client
    assert inner["scheme"] == "http"
    assert CLIENT_CERTIFICATE not in inner


def test_a_trusted_proxy_sets_the_callers_address_and_scheme() -> None:
    forwarded = ((b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https"))
    inner = seen("127.0.0.2", request_from(("127.0.0.2", 5000), *forwarded))
    assert inner["client"] == ("203.0.113.9", 0)
    assert inner["scheme"] == "https"
    assert inner["headers"] == [(b"accept", b"*/*")]  # the app sees the meaning, not the header


def test_a_unix_socket_peer_is_trusted_when_the_list_says_unix() -> None:
    scope = {**request_from(None, (b"x-forwarded-for", b"203.0.113.9")), "server": ("/s", None)}
    assert seen("unix", scope)["client"] == ("203.0.113.9", 0)
    assert seen("127.0.0.1", scope)["client"] is None


@pytest.mark.parametrize(
    ("chain", "caller"),
    [
        # the caller wrote the left part itself; only what the trusted hops added counts
        (b"198.51.100.1, 203.0.113.9", "203.0.113.9"),
        (b"198.51.100.1, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        (b"10.9.9.9, 10.1.2.3", "10.9.9.9"),  # every hop a trusted proxy: the first one
        (b"::ffff:203.0.113.9", "203.0.113.9"),
        (b"2001:db8::7", "2001:db8::7"),
    ],
)
def test_x_forwarded_for_is_read_from_the_right(chain, caller) -> None:
    scope = request_from(("127.0.0.2", 5000), (b"x-forwarded-for", chain))
    assert seen("127.0.0.2 10.0.0.0/8", scope)["client"] == (caller, 0)


@pytest.mark.parametrize(
    "header",
    [(b"x-forwarded-for", b"203.0.113.9, evil"), (b"x-forwarded-proto", b"gopher")],
)
def test_a_malformed_forwarded_address_or_scheme_from_a_trusted_proxy_is_a_400(
    http, header
) -> None:
    name, value = header
    response = http.get("http://proxy/health", headers={name.decode(): value.decode()})
    assert response.status_code == 400
    assert response.json()["type"] == "urn:gateway:error:bad_request"
    assert http.get("http://neighbour/health", headers={name.decode(): value.decode()}).is_success


def test_the_certificate_header_is_matched_whatever_its_case() -> None:
    inner = seen("127.0.0.2", request_from(("127.0.0.2", 1), (b"X-Client-Cert", b"")))
    assert inner["headers"] == [(b"accept", b"*/*")]


# --- GATEWAY_TRUSTED_PROXIES ------------------------------------------------------------------


def test_trusted_proxies_are_addresses_networks_and_unix() -> None:
    proxies = TrustedProxies.parse(" 127.0.0.2,10.0.0.0/8  ::1 UNIX ")
    assert proxies.unix
    assert [str(n) for n in proxies.networks] == ["127.0.0.2/32", "10.0.0.0/8", "::1/128"]
    assert proxies.covers("10.200.0.1")
    assert proxies.covers("::ffff:127.0.0.2")
    assert not proxies.covers("127.0.0.1")
    assert not proxies.covers("localhost")
    assert TrustedProxies.parse("") == TrustedProxies()


@pytest.mark.parametrize("entry", ["localhost", "10.0.0.1/8", "127.0.0.2/33", "unix:/run/x", "*"])
def test_a_bad_trusted_proxy_entry_stops_the_gateway_naming_it(settings, entry) -> None:
    with pytest.raises(Misconfigured, match="GATEWAY_TRUSTED_PROXIES") as refused:
        create_app(settings.model_copy(update={"trusted_proxies": f"127.0.0.2 {entry}"}))
    assert repr(entry) in refused.value.message
