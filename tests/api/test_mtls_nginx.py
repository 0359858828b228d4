"""Certificate-bound tokens over real TLS: a real nginx (``deploy/nginx/gateway.conf.template``)
in front of a real gateway process on a unix socket, certificates from ``gateway pki init``.

The attack corpus of ``reference/crossborder-security.md`` §7 (mTLS): expired, self-signed and
foreign-CA client certificates; forged forwarded-certificate headers, sent through nginx and
straight to the app; a bound token presented with another certificate or with none.
nginx and the gateway start once for the module.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.auth import pki
from gateway.auth.client_keys import load_client_key, sign_assertion
from tests.support.databases import empty_postgres
from tests.support.nginx import nginx_process, require_nginx
from tests.support.oauth import token_form
from tests.support.server import free_port, gateway_process

REPO = Path(__file__).resolve().parents[2]
CLIENT = "node-fr"
SEARCH = "/fhir/Patient?identifier=urn:oid:1.2.3|x"


@dataclass(frozen=True)
class Stack:
    url: str  # nginx, the gateway's public https URL
    certs: Path  # gateway pki init --out
    keys: Path  # the client's private_key_jwt key
    socket: Path  # where the gateway listens
    environment: dict[str, str]

    def context(self, certificate: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
        """TLS that trusts the federation CA, presenting ``certificate`` if given."""
        context = ssl.create_default_context(cafile=self.certs / "ca.pem")
        if certificate is not None:
            context.load_cert_chain(certificate, key)
        return context

    def country(self, country: str) -> ssl.SSLContext:
        folder = self.certs / country
        return self.context(folder / "client.pem", folder / "client.key")


def cli(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def module_database(folder: Path, postgres_url: str | None) -> str:
    if postgres_url is None:
        return f"sqlite+aiosqlite:///{folder / 'gateway.db'}"
    empty_postgres(postgres_url)
    return postgres_url


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_url: str | None) -> Iterator[Stack]:
    require_nginx()
    folder = tmp_path_factory.mktemp("mtls")
    certs, keys, port = folder / "certs", folder / "keys", free_port()
    environment = {
        "GATEWAY_DATABASE_URL": module_database(folder, postgres_url),
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_PKI_DIR": str(certs),
        "GATEWAY_COUNTRY": "DE",
        "GATEWAY_TRUSTED_PROXIES": "unix",
        "GATEWAY_BASE_URL": f"https://localhost:{port}",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    # The server certificate names localhost and 127.0.0.1 without any --host.
    cli(environment, "pki", "init", "--countries", "DE,FR,IT", "--out", str(certs))
    register = ["clients", "add", CLIENT, "--generate-key", str(keys), "--country", "FR"]
    cli(environment, *register, "--scopes", "system/Patient.rs")
    socket_path = folder / "gateway.sock"
    values = {
        "NGINX_LISTEN": f"127.0.0.1:{port}",
        "NGINX_SERVER_NAME": "localhost",
        "NGINX_TLS_CERT": str(certs / "DE" / "server.pem"),
        "NGINX_TLS_KEY": str(certs / "DE" / "server.key"),
        "NGINX_CLIENT_CA": str(certs / "ca.pem"),
        "NGINX_GATEWAY_SOCKET": str(socket_path),
    }
    with (
        gateway_process(environment, uds=socket_path),
        nginx_process(folder / "nginx", values, port),
    ):
        yield Stack(
            f"https://localhost:{port}", certs, keys / f"{CLIENT}.key", socket_path, environment
        )


@pytest.fixture(scope="module")
def bound_token(stack: Stack) -> str:
    """The FR node's token, got over mutual TLS as an operator would: ``gateway token``."""
    fr = stack.certs / "FR"
    issued = cli(
        stack.environment,
        "token",
        "--client",
        CLIENT,
        "--key",
        str(stack.keys),
        "--cert",
        str(fr / "client.pem"),
        "--cert-key",
        str(fr / "client.key"),
        "--ca",
        str(stack.certs / "ca.pem"),
        "--url",
        f"{stack.url}/oauth/token",
    )
    return issued.stdout.strip()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    found: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return found


def thumbprint(pem_file: Path) -> str:
    certificate = x509.load_pem_x509_certificate(pem_file.read_bytes())
    digest = hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def forged(stack: Stack, country: str) -> dict[str, str]:
    """A copy of a real certificate in the forwarding header, as nginx would write it."""
    return {"X-Client-Cert": quote((stack.certs / country / "client.pem").read_bytes(), safe="")}


def token_request(
    stack: Stack, context: ssl.SSLContext, base: str | None = None, **headers: str
) -> httpx.Response:
    """A valid token request of the FR node (signed for the public URL) sent to ``base``."""
    key, kid, algorithm = load_client_key(stack.keys)
    assertion = sign_assertion(key, kid, algorithm, CLIENT, f"{stack.url}/oauth/token")
    return httpx.post(
        f"{base or stack.url}/oauth/token",
        data=token_form(assertion),
        headers=headers,
        verify=context,
        timeout=30,
    )


def search(stack: Stack, token: str, context: ssl.SSLContext, **headers: str) -> httpx.Response:
    bearer = {"Authorization": f"Bearer {token}", **headers}
    return httpx.get(f"{stack.url}{SEARCH}", headers=bearer, verify=context, timeout=30)


# --- a client with its federation certificate --------------------------------------------------


def test_over_mtls_the_token_is_bound_to_the_client_certificate(stack, bound_token) -> None:
    found = claims(bound_token)
    assert found["cnf"] == {"x5t#S256": thumbprint(stack.certs / "FR" / "client.pem")}
    assert found["iss"] == stack.url
    assert found["country"] == "FR"


def test_the_bound_token_works_with_its_certificate(stack, bound_token) -> None:
    response = search(stack, bound_token, stack.country("FR"))
    assert response.status_code == 200, response.text
    assert response.json()["resourceType"] == "Bundle"
    assert response.json()["type"] == "searchset"
    assert response.json()["total"] == 0


@pytest.mark.parametrize("presented", [None, "IT"], ids=["no certificate", "another country's"])
def test_the_bound_token_is_refused_without_its_certificate(stack, bound_token, presented):
    context = stack.context() if presented is None else stack.country(presented)
    response = search(stack, bound_token, context)
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "bound to a client certificate" in response.json()["issue"][0]["diagnostics"]


def test_without_a_client_certificate_the_token_is_not_bound(stack) -> None:
    response = token_request(stack, stack.context())
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert "cnf" not in claims(token)
    assert search(stack, token, stack.context()).status_code == 200


# --- forged forwarding headers ----------------------------------------------------------------


def test_nginx_overwrites_a_certificate_header_sent_by_the_client(stack, bound_token) -> None:
    # no certificate of its own: the forged copy of FR's is dropped, the token is unbound
    without = token_request(stack, stack.context(), **forged(stack, "FR"))
    assert without.status_code == 200, without.text
    assert "cnf" not in claims(without.json()["access_token"])
    # IT's certificate, claiming to be FR's: bound to what nginx verified, IT's
    as_it = token_request(stack, stack.country("IT"), **forged(stack, "FR"))
    assert as_it.status_code == 200, as_it.text
    assert claims(as_it.json()["access_token"])["cnf"] == {
        "x5t#S256": thumbprint(stack.certs / "IT" / "client.pem")
    }
    # FR's bound token with a forged copy of FR's certificate but no TLS certificate
    assert search(stack, bound_token, stack.context(), **forged(stack, "FR")).status_code == 401


def test_the_gateway_socket_is_for_its_owner_and_group_only(stack) -> None:
    mode = os.stat(stack.socket).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660


def test_straight_to_the_app_a_forged_header_binds_nothing(stack, bound_token) -> None:
    """An attacker on the same host skips nginx and talks to a gateway port itself: it is
    127.0.0.1, not nginx's own 127.0.0.2, so the header it forges never counts."""
    environment = {**stack.environment, "GATEWAY_TRUSTED_PROXIES": "unix 127.0.0.2"}
    with gateway_process(environment) as direct:
        response = token_request(stack, stack.context(), direct, **forged(stack, "FR"))
        assert response.status_code == 200, response.text
        unbound = response.json()["access_token"]
        assert "cnf" not in claims(unbound)

        def fhir(token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}", **forged(stack, "FR")}
            return httpx.get(f"{direct}{SEARCH}", headers=headers, timeout=30)

        assert fhir(unbound).status_code == 200  # the same gateway accepts its tokens ...
        assert fhir(bound_token).status_code == 401  # ... but not a bound one, forged header or not


# --- certificates nginx refuses ----------------------------------------------------------------


def _write(folder: Path, name: str, certificate: x509.Certificate, key: ec.EllipticCurvePrivateKey):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / f"{name}.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / f"{name}.pem", folder / f"{name}.key"


def client_certificate(
    subject_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    valid: tuple[datetime, datetime],
) -> x509.Certificate:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.COMMON_NAME, "gateway-fr"),
        ]
    )
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(issuer_key, hashes.SHA384())
    )


@pytest.fixture(scope="module")
def refused(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Client certificates (and their keys) that nginx must refuse."""
    folder = tmp_path_factory.mktemp("refused")
    now = datetime.now(UTC)
    ca = x509.load_pem_x509_certificate((stack.certs / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((stack.certs / "ca.key").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP384R1())
    expired = client_certificate(
        key, ca.subject, ca_key, (now - timedelta(days=60), now - timedelta(days=1))
    )
    own = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gateway-fr")])
    self_signed = client_certificate(
        key, own, key, (now - timedelta(hours=1), now + timedelta(days=1))
    )
    pki.init_pki(folder / "other", ["FR"])  # a whole federation of another CA
    other = folder / "other" / "FR"
    return {
        "expired": _write(folder, "expired", expired, key),
        "self-signed": _write(folder, "self-signed", self_signed, key),
        "foreign CA": (other / "client.pem", other / "client.key"),
    }


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired", "certificate has expired"),
        ("self-signed", "unable to verify the first certificate"),
        ("foreign CA", "unable to verify the first certificate"),
    ],
    ids=["expired", "self-signed", "foreign CA"],
)
def test_a_certificate_nginx_cannot_verify_never_reaches_the_gateway(stack, refused, kind, reason):
    certificate, key = refused[kind]
    # A valid token request: had the gateway seen it, it would have answered 200.
    response = token_request(stack, stack.context(certificate, key))
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"] == "urn:gateway:error:bad_certificate"  # nginx's answer, not the app's
    assert reason in problem["detail"]
