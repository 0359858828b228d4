"""The federation's development PKI: a CA, and per country TLS and document-signing keys.

``gateway pki init`` calls :func:`init_pki` and :func:`rotate_signing_key`; the layout they
write is described in ``gateway.auth.keys``, which reads it back. All keys are EC P-384 and
certificates are signed with ECDSA-SHA384, so one curve serves TLS and ES384 signatures.

These are development credentials: private keys are unencrypted PKCS#8 PEM, written 0600 from
the first byte (created with that mode, never ``chmod``-ed afterwards, so no other user can
open them in between). An existing CA is reused, so a country added later chains to the same
root as its peers; delete the folder to start a new federation.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ObjectIdentifier
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.auth import keys
from gateway.errors import BadRequest, Conflict, Unavailable

CA_LIFETIME = timedelta(days=3652)
LEAF_LIFETIME = timedelta(days=730)
# Certificates start a few minutes in the past so that a peer whose clock is slightly behind
# does not see them as "not yet valid" right after `pki init`.
BACKDATE = timedelta(minutes=5)
ORGANIZATION = "EHDS gateway federation (development)"
# RFC 9336 id-kp-documentSigning: a TLS key cannot pass for a document-signing key.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
DEFAULT_HOSTS = ("localhost", "127.0.0.1")

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


@dataclass(frozen=True, slots=True)
class Authority:
    """The federation CA: its certificate and the key that issues every other certificate."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey


@dataclass(frozen=True, slots=True)
class CountryKeys:
    """What ``init_pki`` made for one country."""

    country: str
    folder: Path
    signing_kid: str


@dataclass(frozen=True, slots=True)
class Rotation:
    """A signing-key rotation: the key moved to ``previous/`` and the new current one."""

    country: str
    previous_kid: str
    kid: str


def init_pki(
    out: Path,
    countries: Sequence[str],
    hosts: Mapping[str, Sequence[str]] | None = None,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> list[CountryKeys]:
    """Create (or reuse) the CA under ``out`` and fresh TLS server, TLS client and signing
    keys for each country. ``hosts`` adds subject alternative names (DNS names or IP
    addresses) to a country's server certificate. Existing country keys are refused unless
    ``force``; nothing is written when anything is refused."""
    extra_hosts = {cc: [subject_alt_name(h) for h in names] for cc, names in (hosts or {}).items()}
    unknown = sorted(set(extra_hosts) - set(countries))
    if unknown:
        raise BadRequest(f"--host {unknown[0]}=...: {unknown[0]} is not one of the countries")
    folders = [keys.country_dir(out, cc) for cc in countries]
    if not force:
        _refuse_existing(folders)
    moment = now or datetime.now(UTC)
    authority = _authority(out, moment)
    made = []
    for country, folder in zip(countries, folders, strict=True):
        _issue_tls(authority, folder, country, extra_hosts.get(country, []), moment)
        kid = _issue_signing(authority, folder, country, moment)
        made.append(CountryKeys(country=country, folder=folder, signing_kid=kid))
    return made


def rotate_signing_key(out: Path, country: str, *, now: datetime | None = None) -> Rotation:
    """Move ``country``'s signing key and certificate to ``previous/<kid>.*`` and issue a new
    pair. The JWKS keeps publishing the old public key until its certificate expires, so
    documents signed before the rotation still verify."""
    folder = keys.country_dir(out, country)
    authority = _load_authority(out)
    current = keys.load_certificate(folder / keys.SIGNING_CERT)
    previous_kid = keys.certificate_kid(current, folder / keys.SIGNING_CERT)
    if not (folder / keys.SIGNING_KEY).is_file():
        raise Unavailable(f"{folder / keys.SIGNING_KEY} not found: nothing to rotate")
    previous = folder / keys.PREVIOUS
    previous.mkdir(exist_ok=True)
    # A rename keeps the key file's 0600 mode and never copies the key material.
    os.replace(folder / keys.SIGNING_CERT, previous / f"{previous_kid}.pem")
    os.replace(folder / keys.SIGNING_KEY, previous / f"{previous_kid}.key")
    kid = _issue_signing(authority, folder, country, now or datetime.now(UTC))
    return Rotation(country=country, previous_kid=previous_kid, kid=kid)


def subject_alt_name(value: str) -> x509.GeneralName:
    """An IP address or a DNS name for a server certificate's SAN; anything else (wildcards,
    URLs, spaces) is refused rather than written into a certificate."""
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        pass
    if not _DNS_NAME.match(value):
        raise BadRequest(f"--host {value!r}: expected a DNS name or an IP address")
    return x509.DNSName(value.lower())


def _refuse_existing(folders: Sequence[Path]) -> None:
    names = [keys.SERVER_KEY, keys.CLIENT_KEY, keys.SIGNING_KEY]
    names += [keys.SERVER_CERT, keys.CLIENT_CERT, keys.SIGNING_CERT]
    for folder in folders:
        for name in names:
            if (folder / name).exists():
                raise Conflict(
                    f"{folder / name} exists: --force replaces the keys of "
                    f"{folder.name}, --rotate {folder.name} rotates only its signing key"
                )


def _authority(out: Path, now: datetime) -> Authority:
    """The existing CA when both of its files are there, a new one when neither is."""
    cert, key = out / keys.CA_CERT, out / keys.CA_KEY
    if cert.exists() and key.exists():
        return _load_authority(out)
    if cert.exists() or key.exists():
        present, missing = (cert, key) if cert.exists() else (key, cert)
        raise Conflict(f"{present} exists without {missing}: remove it or restore the pair")
    out.mkdir(parents=True, exist_ok=True)
    private_key = ec.generate_private_key(ec.SECP384R1())
    certificate = _ca_certificate(private_key, now)
    _write_key(key, private_key)
    _write_certificate(cert, certificate)
    return Authority(certificate=certificate, private_key=private_key)


def _load_authority(out: Path) -> Authority:
    certificate = keys.load_ca(out)
    private_key = keys.load_ec_private_key(out / keys.CA_KEY)
    if private_key.public_key() != certificate.public_key():
        raise Unavailable(f"{out / keys.CA_KEY} does not belong to {out / keys.CA_CERT}")
    return Authority(certificate=certificate, private_key=private_key)


def _ca_certificate(private_key: ec.EllipticCurvePrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, "EHDS federation development CA"),
        ]
    )
    public_key = private_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_LIFETIME)
        # path_length=0: the CA issues end-entity certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    return builder.sign(private_key, hashes.SHA384())


def _issue_tls(
    authority: Authority,
    folder: Path,
    country: str,
    extra_hosts: Sequence[x509.GeneralName],
    now: datetime,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = _unique([subject_alt_name(h) for h in DEFAULT_HOSTS] + list(extra_hosts))
    server = _leaf_builder(authority, _subject(country, f"gateway-{country.lower()}"), now)
    server = server.add_extension(x509.SubjectAlternativeName(names), critical=False)
    _issue(
        authority,
        server,
        folder,
        keys.SERVER_CERT,
        keys.SERVER_KEY,
        ExtendedKeyUsageOID.SERVER_AUTH,
    )
    # The client certificate names the country's gateway in its subject (C= is what peers
    # read the sending country from) and in a DNS SAN, which RFC 5280 path validators expect.
    client = _leaf_builder(authority, _subject(country, f"gateway-{country.lower()}"), now)
    client = client.add_extension(
        x509.SubjectAlternativeName([x509.DNSName(f"gateway-{country.lower()}")]), critical=False
    )
    _issue(
        authority,
        client,
        folder,
        keys.CLIENT_CERT,
        keys.CLIENT_KEY,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    )


def _issue_signing(authority: Authority, folder: Path, country: str, now: datetime) -> str:
    """A new document-signing pair in ``folder``; returns its ``kid``."""
    folder.mkdir(parents=True, exist_ok=True)
    subject = _subject(country, f"gateway-{country.lower()} document signing")
    builder = _leaf_builder(authority, subject, now)
    certificate = _issue(
        authority, builder, folder, keys.SIGNING_CERT, keys.SIGNING_KEY, DOCUMENT_SIGNING
    )
    return keys.certificate_kid(certificate, folder / keys.SIGNING_CERT)


def _issue(
    authority: Authority,
    builder: x509.CertificateBuilder,
    folder: Path,
    cert_name: str,
    key_name: str,
    usage: ObjectIdentifier,
) -> x509.Certificate:
    """Generate a key, sign the certificate for it and write both."""
    private_key = ec.generate_private_key(ec.SECP384R1())
    public_key = private_key.public_key()
    certificate = (
        builder.public_key(public_key)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .sign(authority.private_key, hashes.SHA384())
    )
    _write_key(folder / key_name, private_key)
    _write_certificate(folder / cert_name, certificate)
    return certificate


def _leaf_builder(
    authority: Authority, subject: x509.Name, now: datetime
) -> x509.CertificateBuilder:
    """The extensions every end-entity certificate shares: not a CA, signs with its key only."""
    ca = authority.certificate
    # A leaf never outlives its issuer: a path with an expired CA fails anyway.
    not_after = min(now + LEAF_LIFETIME, ca.not_valid_after_utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.subject)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )


def _subject(country: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(
    *, digital_signature: bool = False, key_cert_sign: bool = False, crl_sign: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _unique(names: Sequence[x509.GeneralName]) -> list[x509.GeneralName]:
    seen: list[x509.GeneralName] = []
    for name in names:
        if name not in seen:
            seen.append(name)
    return seen


def _write_key(path: Path, private_key: ec.EllipticCurvePrivateKey) -> None:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),  # development keys; production keys come from an HSM/KMS
    )
    _write_file(path, pem, 0o600)


def _write_certificate(path: Path, certificate: x509.Certificate) -> None:
    _write_file(path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    """Write through a new temporary file created with ``mode`` and renamed over ``path``: the
    key is never readable by others, and a failure never leaves half a PEM file behind."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        handle = os.open(temporary, flags, mode)
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise Unavailable(f"{path}: {exc.strerror or exc}") from None
