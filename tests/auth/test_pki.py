"""The development PKI (``gateway.auth.pki``) and its loaders (``gateway.auth.keys``): the
certificates as a verifier sees them, the files as an operator finds them, and a real mutual
TLS handshake with ``ssl``."""

from __future__ import annotations

import base64
import ipaddress
import os
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import DNSName, IPAddress
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store
from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from gateway.auth import keys, pki
from gateway.errors import BadRequest, Conflict, Unavailable

HOSTS = {"DE": ["gateway-de", "10.0.0.2"]}
KEY_FILES = ("server.key", "client.key", "signing.key")


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One PKI shared by the read-only tests (key generation is the slow part)."""
    out = tmp_path_factory.mktemp("pki") / "certs"
    pki.init_pki(out, ["DE", "FR"], HOSTS)
    return out


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PKI of another CA, whose certificates the federation must refuse."""
    out = tmp_path_factory.mktemp("other") / "certs"
    pki.init_pki(out, ["DE"])
    return out


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def store(pki_dir: Path) -> Store:
    return Store([cert(pki_dir / "ca.pem")])


# --- certificates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        DNSName("localhost"),
        IPAddress(ipaddress.ip_address("127.0.0.1")),
        DNSName("gateway-de"),
        IPAddress(ipaddress.ip_address("10.0.0.2")),
    ],
)
def test_server_certificate_verifies_for_default_and_added_names(federation: Path, subject):
    verifier = PolicyBuilder().store(store(federation)).build_server_verifier(subject)
    chain = verifier.verify(cert(federation / "DE" / "server.pem"), [])
    assert chain[-1] == cert(federation / "ca.pem")


def test_added_names_belong_to_their_country_only(federation: Path) -> None:
    verifier = PolicyBuilder().store(store(federation)).build_server_verifier(DNSName("gateway-de"))
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(cert(federation / "FR" / "server.pem"), [])


def test_client_certificate_verifies_and_names_the_country(federation: Path) -> None:
    verifier = PolicyBuilder().store(store(federation)).build_client_verifier()
    client = cert(federation / "FR" / "client.pem")
    verified = verifier.verify(client, [])
    assert verified.chain[-1] == cert(federation / "ca.pem")
    country = client.subject.get_attributes_for_oid(x509.NameOID.COUNTRY_NAME)
    assert [a.value for a in country] == ["FR"]


def test_certificates_of_another_ca_do_not_verify(federation: Path, stranger: Path) -> None:
    server = PolicyBuilder().store(store(federation)).build_server_verifier(DNSName("localhost"))
    with pytest.raises(x509.verification.VerificationError):
        server.verify(cert(stranger / "DE" / "server.pem"), [])
    client = PolicyBuilder().store(store(federation)).build_client_verifier()
    with pytest.raises(x509.verification.VerificationError):
        client.verify(cert(stranger / "DE" / "client.pem"), [])


def test_tls_certificates_cannot_act_for_each_other(federation: Path) -> None:
    # serverAuth and clientAuth are separate keys with separate EKUs.
    client = PolicyBuilder().store(store(federation)).build_client_verifier()
    with pytest.raises(x509.verification.VerificationError):
        client.verify(cert(federation / "DE" / "server.pem"), [])
    server = PolicyBuilder().store(store(federation)).build_server_verifier(DNSName("gateway-de"))
    with pytest.raises(x509.verification.VerificationError):
        server.verify(cert(federation / "DE" / "client.pem"), [])


def test_signing_chain_verifies_as_a_document_verifier_checks_it(federation, stranger) -> None:
    # The signer is not a TLS client: Web PKI rules for the CA, none demanded of the leaf
    # (its key usage and EKU are checked in test_leaf_usages).
    verifier = (
        PolicyBuilder()
        .store(store(federation))
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=ExtensionPolicy.permit_all()
        )
        .build_client_verifier()
    )
    chain = keys.load_signing_identity(federation, "DE").certificate_chain
    assert verifier.verify(chain[0], chain[1:]).chain == chain
    with pytest.raises(x509.verification.VerificationError):
        verifier.verify(cert(stranger / "DE" / "signing.pem"), [])


def test_ca_is_a_p384_signing_only_ca(federation: Path) -> None:
    ca = cert(federation / "ca.pem")
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage).value
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    assert ca.issuer == ca.subject
    ca.verify_directly_issued_by(ca)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    assert ca.public_key().curve.name == "secp384r1"  # type: ignore[union-attr]
    lifetime = ca.not_valid_after_utc - ca.not_valid_before_utc
    assert timedelta(days=3640) < lifetime < timedelta(days=3670)


@pytest.mark.parametrize(
    ("name", "usage"),
    [
        ("server.pem", ExtendedKeyUsageOID.SERVER_AUTH),
        ("client.pem", ExtendedKeyUsageOID.CLIENT_AUTH),
        ("signing.pem", pki.DOCUMENT_SIGNING),
    ],
)
def test_leaf_usages(federation: Path, name: str, usage: x509.ObjectIdentifier) -> None:
    leaf = cert(federation / "DE" / name)
    leaf.verify_directly_issued_by(cert(federation / "ca.pem"))
    constraints = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
    key_usage = leaf.extensions.get_extension_for_class(x509.KeyUsage)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert not constraints.ca
    assert key_usage.critical
    assert key_usage.value.digital_signature
    assert not key_usage.value.key_cert_sign
    assert list(eku) == [usage]
    assert leaf.public_key().curve.name == "secp384r1"  # type: ignore[union-attr]
    assert leaf.not_valid_before_utc <= datetime.now(UTC) < leaf.not_valid_after_utc


def test_server_sans_hold_defaults_and_hosts(federation: Path) -> None:
    san = cert(federation / "DE" / "server.pem").extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert san.value.get_values_for_type(x509.DNSName) == ["localhost", "gateway-de"]
    assert [str(ip) for ip in san.value.get_values_for_type(x509.IPAddress)] == [
        "127.0.0.1",
        "10.0.0.2",
    ]
    fr = cert(federation / "FR" / "server.pem").extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert fr.value.get_values_for_type(x509.DNSName) == ["localhost"]


@pytest.mark.parametrize("bad", ["*.example.org", "http://gateway-de", "gate way", "-de", ""])
def test_bad_host_names_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BadRequest, match="DNS name or an IP address"):
        pki.init_pki(tmp_path, ["DE"], {"DE": [bad]})
    assert not any(tmp_path.iterdir())


def test_hosts_for_a_country_not_initialised_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="IT is not one of the countries"):
        pki.init_pki(tmp_path, ["DE"], {"IT": ["gateway-it"]})


def test_country_codes_cannot_escape_the_folder(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="two upper-case letters"):
        pki.init_pki(tmp_path, ["../x"])
    with pytest.raises(BadRequest):
        keys.load_signing_identity(tmp_path, "..")


# --- files -----------------------------------------------------------------------------------


def test_private_keys_are_0600_even_with_an_open_umask(tmp_path: Path) -> None:
    previous = os.umask(0)  # the mode must come from the create call, not from the umask
    try:
        pki.init_pki(tmp_path, ["DE"])
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    for name in KEY_FILES:
        assert stat.S_IMODE((tmp_path / "DE" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "DE" / "server.pem").stat().st_mode) == 0o644
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temporary files left


def test_private_keys_are_unencrypted_pkcs8(federation: Path) -> None:
    text = (federation / "DE" / "signing.key").read_text()
    assert text.startswith("-----BEGIN PRIVATE KEY-----")


def test_existing_keys_are_refused_and_nothing_is_written(tmp_path: Path) -> None:
    pki.init_pki(tmp_path, ["DE"])
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    with pytest.raises(Conflict, match=r"DE/server\.key exists: --force"):
        pki.init_pki(tmp_path, ["FR", "DE"])
    assert not (tmp_path / "FR").exists()
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_force_replaces_country_keys_and_keeps_the_ca(tmp_path: Path) -> None:
    first = pki.init_pki(tmp_path, ["DE"])[0]
    ca, server_key = (tmp_path / "ca.pem").read_bytes(), (tmp_path / "DE/server.key").read_bytes()
    second = pki.init_pki(tmp_path, ["DE"], force=True)[0]
    assert second.signing_kid != first.signing_kid
    assert (tmp_path / "DE/server.key").read_bytes() != server_key
    assert (tmp_path / "ca.pem").read_bytes() == ca
    cert(tmp_path / "DE/server.pem").verify_directly_issued_by(cert(tmp_path / "ca.pem"))


def test_a_country_added_later_chains_to_the_same_ca(tmp_path: Path) -> None:
    pki.init_pki(tmp_path, ["DE"])
    pki.init_pki(tmp_path, ["IT"])
    ca = cert(tmp_path / "ca.pem")
    for country in ("DE", "IT"):
        cert(tmp_path / country / "client.pem").verify_directly_issued_by(ca)


def test_half_a_ca_is_refused(tmp_path: Path) -> None:
    pki.init_pki(tmp_path, ["DE"])
    (tmp_path / "ca.key").unlink()
    with pytest.raises(Conflict, match=r"ca\.pem exists without .*ca\.key"):
        pki.init_pki(tmp_path, ["FR"])


# --- signing identity, rotation and the JWKS --------------------------------------------------


def test_signing_identity_signs_what_the_jwks_verifies(federation: Path) -> None:
    identity = keys.load_signing_identity(federation, "DE")
    assert identity.certificate_chain == [
        cert(federation / "DE" / "signing.pem"),
        cert(federation / "ca.pem"),
    ]
    private = ECKey.import_key(identity.private_key)
    token = jws.serialize_compact(
        {"alg": "ES384", "kid": identity.kid}, b"payload", private, algorithms=["ES384"]
    )
    public = KeySet.import_key_set(keys.public_jwks(federation, "DE"))  # type: ignore[arg-type]
    verified = jws.deserialize_compact(token, public, algorithms=["ES384"])
    assert verified.payload == b"payload"


def test_kid_is_the_rfc7638_thumbprint(federation: Path) -> None:
    identity = keys.load_signing_identity(federation, "DE")
    independent = ECKey.import_key(identity.private_key.public_key()).thumbprint()
    assert identity.kid == independent
    [entry] = keys.public_jwks(federation, "DE")["keys"]
    assert entry["kid"] == independent


def test_jwks_publishes_public_members_only(federation: Path) -> None:
    [entry] = keys.public_jwks(federation, "FR")["keys"]
    assert set(entry) == {"kty", "crv", "x", "y", "kid", "alg", "use", "x5c"}
    assert (entry["kty"], entry["crv"], entry["alg"], entry["use"]) == (
        "EC",
        "P-384",
        "ES384",
        "sig",
    )
    assert not ECKey.import_key(entry).is_private


def test_jwks_x5c_is_the_signing_chain_in_standard_base64(federation: Path) -> None:
    [entry] = keys.public_jwks(federation, "DE")["keys"]
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in entry["x5c"]]
    assert chain == [cert(federation / "DE" / "signing.pem"), cert(federation / "ca.pem")]


def test_rotation_keeps_the_previous_key_in_the_jwks(tmp_path: Path) -> None:
    before = pki.init_pki(tmp_path, ["DE"])[0].signing_kid
    rotation = pki.rotate_signing_key(tmp_path, "DE")
    assert rotation.previous_kid == before
    assert rotation.kid != before
    assert keys.load_signing_identity(tmp_path, "DE").kid == rotation.kid
    kids = [k["kid"] for k in keys.public_jwks(tmp_path, "DE")["keys"]]
    assert kids == [rotation.kid, before]
    moved = tmp_path / "DE" / "previous" / f"{before}.key"
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    again = pki.rotate_signing_key(tmp_path, "DE")
    assert next(k["kid"] for k in keys.public_jwks(tmp_path, "DE")["keys"]) == again.kid
    assert len(keys.public_jwks(tmp_path, "DE")["keys"]) == 3


def test_expired_previous_keys_leave_the_jwks(tmp_path: Path) -> None:
    pki.init_pki(tmp_path, ["DE"])
    rotation = pki.rotate_signing_key(tmp_path, "DE")
    later = datetime.now(UTC) + pki.LEAF_LIFETIME + timedelta(days=1)
    kids = [k["kid"] for k in keys.public_jwks(tmp_path, "DE", now=later)["keys"]]
    assert kids == [rotation.kid]  # the current key is always published


def test_rotation_without_keys_names_the_missing_file(tmp_path: Path) -> None:
    pki.init_pki(tmp_path, ["DE"])
    with pytest.raises(Unavailable, match=r"FR/signing\.pem not found"):
        pki.rotate_signing_key(tmp_path, "FR")


def test_missing_files_are_unavailable_and_named(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match=r"ca\.pem not found \(run `gateway pki init`\)"):
        keys.load_ca(tmp_path)
    pki.init_pki(tmp_path, ["DE"])
    (tmp_path / "DE" / "signing.key").unlink()
    with pytest.raises(Unavailable, match=r"DE/signing\.key not found"):
        keys.load_signing_identity(tmp_path, "DE")
    with pytest.raises(Unavailable, match=r"IT/signing\.pem not found"):
        keys.public_jwks(tmp_path, "IT")


def test_a_broken_key_is_reported_without_its_content(tmp_path: Path) -> None:
    pki.init_pki(tmp_path, ["DE"])
    secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LW1hdGVyaWFs\n-----END PRIVATE KEY-----\n"
    (tmp_path / "DE" / "signing.key").write_text(secret)
    with pytest.raises(Unavailable) as caught:
        keys.load_signing_identity(tmp_path, "DE")
    assert caught.value.message.endswith("signing.key: not an unencrypted PEM private key")
    assert "c2Vjc" not in caught.value.message


def test_a_key_from_another_pair_is_refused(tmp_path: Path, stranger: Path) -> None:
    pki.init_pki(tmp_path, ["DE"])
    (tmp_path / "DE" / "signing.key").write_bytes((stranger / "DE" / "signing.key").read_bytes())
    with pytest.raises(Unavailable, match="does not belong to"):
        keys.load_signing_identity(tmp_path, "DE")


# --- a real mutual TLS handshake -------------------------------------------------------------


def server_context(pki_dir: Path, country: str = "DE") -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki_dir / country / "server.pem", pki_dir / country / "server.key")
    context.load_verify_locations(pki_dir / "ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED  # mTLS: no client certificate, no connection
    return context


def client_context(trusted_ca: Path, identity: Path | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=trusted_ca / "ca.pem")
    if identity is not None:
        context.load_cert_chain(identity / "client.pem", identity / "client.key")
    return context


@pytest.fixture
def tls_server(federation: Path) -> Iterator[dict[str, Any]]:
    """A one-connection mTLS echo server in a thread; records the peer or the failure."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    outcome: dict[str, Any] = {"port": listener.getsockname()[1]}
    context = server_context(federation)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            with context.wrap_socket(connection, server_side=True) as tls:
                outcome["peer"] = tls.getpeercert()
                tls.sendall(tls.recv(16).upper())
        except (OSError, ssl.SSLError) as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield outcome
    thread.join(timeout=10)
    listener.close()


def talk(port: int, context: ssl.SSLContext, hostname: str = "localhost") -> bytes:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        tls.sendall(b"hello")
        return tls.recv(16)


@pytest.mark.parametrize("hostname", ["localhost", "127.0.0.1"])
def test_mutual_tls_between_federation_certificates(tls_server, federation: Path, hostname):
    reply = talk(tls_server["port"], client_context(federation, federation / "FR"), hostname)
    assert reply == b"HELLO"
    subject = dict(pair[0] for pair in tls_server["peer"]["subject"])
    assert subject["countryName"] == "FR"
    assert subject["commonName"] == "gateway-fr"


def test_a_client_certificate_of_another_ca_is_refused(tls_server, federation, stranger):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        # TLS 1.3 finishes the client's side first; the refusal arrives on the first read.
        assert talk(tls_server["port"], client_context(federation, stranger / "DE")) != b"HELLO"
    thread_error = wait_for(tls_server, "error")
    assert isinstance(thread_error, ssl.SSLError)
    assert "peer" not in tls_server


def test_a_client_without_certificate_is_refused(tls_server, federation: Path) -> None:
    with pytest.raises((ssl.SSLError, ConnectionError)):
        talk(tls_server["port"], client_context(federation, None))
    assert isinstance(wait_for(tls_server, "error"), ssl.SSLError)


def test_a_server_of_another_ca_is_refused_by_the_client(federation: Path, stranger: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    context = server_context(stranger)

    def serve() -> None:
        connection, _ = listener.accept()
        try:
            context.wrap_socket(connection, server_side=True).close()
        except (OSError, ssl.SSLError):
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            talk(listener.getsockname()[1], client_context(federation, federation / "DE"))
    finally:
        thread.join(timeout=10)
        listener.close()


def wait_for(outcome: dict[str, Any], key: str) -> Any:
    for _ in range(100):
        if key in outcome:
            return outcome[key]
        threading.Event().wait(0.05)
    raise AssertionError(f"the server thread never recorded {key!r}: {outcome}")
