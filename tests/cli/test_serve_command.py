"""``gateway serve --uds``: a unix socket only its owner and group can reach, a stale one
replaced, a live one or another file refused; ``gateway serve --tls``: HTTPS with the country's
server certificate, client certificates of the federation CA optional, any other refused; and a
bad GATEWAY_TRUSTED_PROXIES stops the start in one line."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.auth.pki import init_pki
from gateway.cli.serve import TLS_GRACE_SECONDS
from tests.cli.test_ingest_command import command, one_clear_line
from tests.support.server import free_port, gateway_process

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(database_url: str) -> dict[str, str]:
    return {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_BASE_URL": "https://gateway.example.eu",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }


def serve(environment: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("serve", *args),
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serves_on_a_0660_socket_replacing_a_stale_one(environment, tmp_path) -> None:
    path = tmp_path / "gateway.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
        gone.bind(str(path))  # a socket file left by a gateway that died
    with gateway_process(environment, uds=path) as base:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path))) as client:
            assert client.get(f"{base}/health").status_code == 200


def test_a_socket_another_server_listens_on_is_refused(environment, tmp_path) -> None:
    path = tmp_path / "gateway.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(str(path))
        live.listen()
        line = one_clear_line(serve(environment, "--uds", path))
    assert "another server is listening there" in line


def test_a_path_that_is_not_a_socket_is_left_alone(environment, tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("keep me")
    assert "is not a socket" in one_clear_line(serve(environment, "--uds", path))
    assert path.read_text() == "keep me"


@pytest.mark.parametrize("where", [["--port", "9000"], ["--host", "127.0.0.1"], ["--tls"]])
def test_uds_excludes_host_port_and_tls(environment, tmp_path, where) -> None:
    result = serve(environment, "--uds", tmp_path / "g.sock", *where)
    assert result.returncode == 2
    assert "--uds" in result.stderr


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    folder = tmp_path / "pki"
    init_pki(folder, ["DE", "FR"])
    return folder


def tls_client(
    pki: Path, certificate: Path | None = None, version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
) -> httpx.Client:
    """A client that trusts the federation CA, presenting ``certificate`` (and its key)."""
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    context.maximum_version = version
    if certificate is not None:
        context.load_cert_chain(certificate, certificate.with_suffix(".key"))
    return httpx.Client(verify=context, timeout=10)


def served_certificate(base: str, pki: Path) -> x509.Certificate:
    address = urlsplit(base)
    context = ssl.create_default_context(cafile=pki / "ca.pem")
    with (
        socket.create_connection((address.hostname, address.port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=address.hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_tls_serves_https_to_callers_with_or_without_a_federation_certificate(
    environment, pki, tmp_path
) -> None:
    other = tmp_path / "other-ca"
    init_pki(other, ["FR"])  # a client certificate the federation's CA never issued
    tls = {**environment, "GATEWAY_PKI_DIR": str(pki), "GATEWAY_COUNTRY": "DE"}
    del tls["GATEWAY_BASE_URL"]
    with gateway_process(tls, tls_ca=pki / "ca.pem") as base:
        assert base.startswith("https://")
        own = x509.load_pem_x509_certificate((pki / "DE" / "server.pem").read_bytes())
        served = served_certificate(base, pki)
        assert served.public_bytes(Encoding.DER) == own.public_bytes(Encoding.DER)
        with tls_client(pki) as researcher:
            assert researcher.get(f"{base}/health").status_code == 200
            # Without GATEWAY_BASE_URL the public URL says https: clients sign it.
            metadata = researcher.get(f"{base}/.well-known/oauth-authorization-server").json()
            assert metadata["token_endpoint"] == f"{base}/oauth/token"
        # The same handshake with a certificate of the federation and of another CA: only the
        # certificate differs. (TLS 1.3 checks a client certificate after the client thinks
        # the handshake done, so the refusal arrives as a closed connection, not an answer.)
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with tls_client(pki, pki / "FR" / "client.pem", version) as peer:
                assert peer.get(f"{base}/health").status_code == 200
            with (
                tls_client(pki, other / "FR" / "client.pem", version) as stranger,
                pytest.raises(httpx.TransportError),
            ):
                stranger.get(f"{base}/health")
        with tls_client(pki) as researcher:
            assert researcher.get(f"{base}/health").status_code == 200  # still serving


def test_tls_stops_within_its_grace_while_a_client_keeps_a_connection_idle(
    environment, pki
) -> None:
    tls = {**environment, "GATEWAY_PKI_DIR": str(pki), "GATEWAY_COUNTRY": "DE"}
    with tls_client(pki, pki / "FR" / "client.pem") as peer:
        with gateway_process(tls, tls_ca=pki / "ca.pem") as base:
            # A peer's pooled connection: open, idle, and not reading (it would answer the
            # server's TLS close only on its next request).
            assert peer.get(f"{base}/health").status_code == 200
            stopping = time.monotonic()
        assert time.monotonic() - stopping < TLS_GRACE_SECONDS + 3


def test_tls_without_the_countrys_certificate_stops_in_one_line(environment, pki) -> None:
    tls = {**environment, "GATEWAY_PKI_DIR": str(pki), "GATEWAY_COUNTRY": "IT"}
    line = one_clear_line(serve(tls, "--tls", "--port", str(free_port())))
    assert f"{pki / 'IT' / 'server.pem'} not found" in line


def test_a_bad_trusted_proxy_entry_stops_serve_in_one_line(environment) -> None:
    bad = {**environment, "GATEWAY_TRUSTED_PROXIES": "127.0.0.2 localhost"}
    line = one_clear_line(serve(bad, "--port", str(free_port())))
    assert "GATEWAY_TRUSTED_PROXIES" in line
    assert "'localhost'" in line
