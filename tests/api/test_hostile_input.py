"""Hostile input on every surface: /beacon, /beacon-network, /fhir, /national, /consent/events
and /oauth/token. Oversized bodies, deep nesting, duplicate keys, invalid UTF-8 and NUL bytes,
control characters and path traversal, huge page sizes: each is a 4xx with an error document,
never a 5xx. The cases uvicorn itself takes part in (the raw request line, header sizes, a
client trickling its body) run against a real ``gateway serve`` process over raw sockets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.settings import Settings
from tests.api.conftest import gateway
from tests.support.consent import SECRET, with_webhooks
from tests.support.server import gateway_process

REPO = Path(__file__).resolve().parents[2]
SUMMARY = "/fhir/Patient/$summary"
RECORDS = "/national/records?profile=de-isik-fhir"
DEEP = b"[" * 30_000 + b"]" * 30_000  # 60 KB: under every body limit
# One JSON POST per surface that parses JSON bodies.
JSON_POSTS = ["/beacon/g_variants", "/beacon-network/g_variants", RECORDS, "/consent/events"]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with gateway(with_webhooks(settings)) as test_client:
        yield test_client


def call(client: TestClient, method: str, path: str, **options):
    """The node's request; without its token on the Beacon, which takes passports only."""
    request = client.build_request(method, path, **options)
    if path.startswith("/beacon"):
        del request.headers["authorization"]
    return client.send(request)


def post(client: TestClient, path: str, body: bytes, content_type: str = "application/json"):
    headers = {"content-type": content_type}
    if path == "/consent/events":
        headers = signed_bytes(body)  # correctly signed: refused for the body itself
    return call(client, "POST", path, content=body, headers=headers)


def signed_bytes(body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers over any bytes (the library's signer wants text)."""
    webhook_id, moment = f"msg_{os.urandom(8).hex()}", str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{moment}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": moment,
        "webhook-signature": "v1," + base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


def refused(response, *statuses: int) -> dict[str, Any]:
    """The answer is one of ``statuses`` and an error document (never a stack trace)."""
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    assert any(key in body for key in ("error", "issue", "detail", "resourceType")), body
    return body


@pytest.mark.parametrize(
    ("path", "content_type", "size"),
    [
        ("/beacon/g_variants", "application/json", 2 << 20),
        ("/beacon-network/g_variants", "application/json", 2 << 20),
        (RECORDS, "application/fhir+json", 6 << 20),
        ("/consent/events", "application/json", 128 << 10),
    ],
)
def test_oversized_bodies_are_413(client, path, content_type, size) -> None:
    body = b'{"a": "' + b"x" * size + b'"}'
    refused(post(client, path, body, content_type), 413)


def test_an_oversized_token_request_is_an_oauth_invalid_request(client) -> None:
    body = b"grant_type=" + b"x" * (64 << 10)
    answer = post(client, "/oauth/token", body, "application/x-www-form-urlencoded")
    assert refused(answer, 400)["error"] == "invalid_request"  # RFC 6749 §5.2 has no 413


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(DEEP, id="nested-30000"),
        pytest.param(b'{"meta": ' * 40 + b"{}" + b"}" * 40, id="nested-40-objects"),
        pytest.param(b'{"meta": {}, "meta": {}, "query": {}}', id="duplicate-keys"),
        pytest.param(b'{"query": {"requestParameters": {"geneId": "\xff\xfe"}}}', id="not-utf8"),
        pytest.param(b'{"query": {"requestParameters": {"geneId": "BR\x00CA2"}}}', id="raw-nul"),
        pytest.param(b'{"query": {"requestParameters": {"geneId": "BR\\u0000CA2"}}}', id="nul"),
        pytest.param(b"\x00" * 64, id="only-nul"),
    ],
)
def test_malformed_json_bodies_are_400_on_every_json_surface(client, body) -> None:
    for path in JSON_POSTS:
        # The webhook library cannot check a signature over bytes that are not UTF-8: a 401.
        unsignable = path == "/consent/events" and b"\xff" in body
        refused(post(client, path, body), *((400, 401) if unsignable else (400,)))


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("GET", "/beacon/g_variants", "geneId"),
        ("GET", "/beacon-network/g_variants", "geneId"),
        ("GET", SUMMARY, "identifier"),
        ("GET", "/fhir/Patient", "identifier"),
        ("POST", "/national/records", "profile"),
        ("POST", "/consent/events", "x"),
        ("POST", "/oauth/token", "x"),
    ],
)
def test_bad_bytes_in_query_parameters_are_400(client, method, path, name) -> None:
    # invalid UTF-8, an overlong encoding, a truncated sequence: refused at the edge
    for query in ("%FF%FE", "%C0%AF", "%E2%82"):
        assert "UTF-8" in json.dumps(refused(call(client, method, f"{path}?{name}={query}"), 400))
    # NUL and other control characters: by the route, naming the parameter, or unread
    for query in ("BR%00CA2", "BR%0ACA2", "%1B%5B2J", "a%7Fb"):
        refused(call(client, method, f"{path}?{name}={query}"), 400, 401, 404)


@pytest.mark.parametrize(
    "path",
    [
        "/beacon/g_variants/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/beacon-network/g_variants/..%2F..%2Fetc%2Fpasswd",
        "/fhir/Patient/..%2F..%2Fetc%2Fpasswd",
        "/fhir/Observation/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    ],
)
def test_encoded_traversal_in_a_path_parameter_reads_no_file(client, path) -> None:
    response = call(client, "GET", path)
    assert 400 <= response.status_code < 500, response.text[:300]
    assert "root:" not in response.text


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/beacon/g_variants", "datasetIds"),
        ("/beacon-network/individuals", "filters"),
        (SUMMARY, "identifier"),
        ("/fhir/DiagnosticReport", "patient"),
        ("/national/records", "profile"),
    ],
)
def test_traversal_in_a_query_parameter_reads_no_file(client, path, name) -> None:
    method = "POST" if path == "/national/records" else "GET"
    for value in ("../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/passwd"):
        response = call(client, method, f"{path}?{name}={value}", content=b"{}")
        assert 400 <= response.status_code < 500 or response.status_code == 200, response.text
        assert "root:" not in response.text


@pytest.mark.parametrize("path", ["/beacon/g_variants", "/beacon-network/g_variants"])
def test_huge_beacon_pages_are_400(client, path) -> None:
    for query in (
        "limit=100000000000000000000000000000",
        "limit=-1",
        "skip=9999999999999999999",
        "skip=100000000&limit=1000",
    ):
        refused(call(client, "GET", f"{path}?geneId=BRCA2&{query}"), 400)


@pytest.mark.parametrize("path", ["/beacon/g_variants", "/beacon-network/g_variants"])
def test_huge_beacon_pages_in_a_post_are_400(client, path) -> None:
    huge = ({"skip": 10**40, "limit": 10}, {"skip": 10**12}, {"limit": -1}, {"limit": 10**40})
    for pagination in huge:
        body = {"query": {"requestParameters": {"geneId": "BRCA2"}, "pagination": pagination}}
        refused(post(client, path, json.dumps(body).encode()), 400)
    capped = {"query": {"requestParameters": {"geneId": "BRCA2"}, "pagination": {"limit": 99999}}}
    assert post(client, path, json.dumps(capped).encode()).status_code == 200


def test_a_large_limit_is_capped_at_the_maximum(client, settings) -> None:
    answer = call(client, "GET", "/beacon/g_variants?geneId=BRCA2&limit=999999")
    assert answer.status_code == 200
    pagination = answer.json()["meta"]["receivedRequestSummary"]["pagination"]
    assert pagination["limit"] == settings.beacon_max_limit


@pytest.mark.parametrize("path", ["/fhir/AuditEvent", "/fhir/DiagnosticReport"])
def test_huge_fhir_pages_are_400(client, path) -> None:
    for query in (
        "_count=1000000000",
        "_count=-1",
        "_offset=100000000000000000000000",
        "_offset=-5",
    ):
        refused(client.get(f"{path}?patient=Patient/x&{query}"), 400)


def test_a_url_or_headers_over_the_limit_are_414_and_431(client) -> None:
    paths = ["/beacon/g_variants", "/beacon-network/info", SUMMARY, "/national/records"]
    for path in [*paths, "/consent/events", "/oauth/token"]:
        refused(call(client, "GET", f"{path}?geneId={'A' * 9000}"), 414)
        headers = {f"x-filler-{n}": "v" * 4000 for n in range(10)}
        refused(call(client, "GET", path, headers=headers), 431)


# A real server: what reaches uvicorn raw, and a client that trickles its body.


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[str]:
    environment = {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PKI_DIR": str(tmp_path / "certs"),
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_BODY_TIMEOUT": "2",
    }
    with gateway_process(environment) as base:
        yield base


def raw(base: str, request: bytes, timeout: float = 10) -> bytes:
    """Send ``request`` as is on a new connection; answer all the server sent back."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(request)
        return _read_all(connection)


def _read_all(connection: socket.socket) -> bytes:
    received = b""
    try:
        while chunk := connection.recv(65536):
            received += chunk
            if b"\r\n\r\n" in received and b"content-length: 0" in received.lower():
                break
            if _complete(received):
                break
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def _complete(received: bytes) -> bool:
    head, separator, body = received.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def status(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])


TRAVERSALS = [
    b"/beacon/../../../../etc/passwd",
    b"/beacon-network/../../etc/passwd",
    b"/fhir/Patient/../../../etc/passwd",
    b"/national/records/../../etc/passwd",
    b"/consent/events/%2e%2e/%2e%2e/etc/passwd",
    b"/oauth/../etc/passwd",
    b"/fhir/./metadata",
    b"/beacon/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
]


def test_raw_traversal_long_targets_and_bad_bytes_are_4xx_on_a_real_server(served) -> None:
    host = served.removeprefix("http://").encode()
    for target in TRAVERSALS:
        answer = raw(served, b"GET " + target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        assert status(answer) in (400, 404, 405), (target, answer[:300])
        assert b"root:" not in answer
    long_target = b"/beacon/g_variants?geneId=" + b"A" * 20_000
    answer = raw(served, b"GET " + long_target + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
    assert status(answer) in (400, 414), answer[:300]
    for bad in (b"/beacon/g_variants?geneId=%FF", b"/fhir/Patient/%FF/$summary"):
        answer = raw(served, b"GET " + bad + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        assert status(answer) == 400, answer[:300]
    assert raw(served, b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n").endswith(b"}")


def test_huge_headers_are_refused_by_a_real_server(served) -> None:
    for size in (40_000, 200_000, 2_000_000):
        _huge_headers(served, size)


def _huge_headers(served: str, size: int) -> None:
    host = served.removeprefix("http://").encode()
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"v" * 1000) for n in range(size // 1000))
    request = b"GET /beacon/info HTTP/1.1\r\nHost: " + host + b"\r\n" + filler + b"\r\n"
    try:
        answer = raw(served, request)
    except (BrokenPipeError, ConnectionResetError):
        answer = b""  # the server closed the connection before reading it all
    assert answer == b"" or status(answer) in (400, 431), answer[:300]
    # and it still answers everyone else
    assert status(raw(served, b"GET /health HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")) == 200


def test_a_client_trickling_its_body_gets_408_and_is_let_go(served) -> None:
    host, port = served.removeprefix("http://").split(":")
    head = (
        f"POST /beacon/g_variants HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + b'{"meta": ')
        answer = b""
        for _ in range(20):  # one byte a second would take 1000 s; the limit is 2 s
            try:
                connection.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
            connection.settimeout(1)
            try:
                answer += connection.recv(65536)
            except TimeoutError:
                continue
            if answer:
                break
    assert time.monotonic() - started < 10
    assert status(answer) == 408, answer[:300]
    assert b"connection: close" in answer.lower()
    assert status(raw(served, f"GET /health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())) == 200
