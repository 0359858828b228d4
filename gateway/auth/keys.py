"""Reading the gateway's keys and certificates, and publishing the public ones as a JWKS.

The files are laid out by ``gateway pki init`` (``gateway.auth.pki``) under ``GATEWAY_PKI_DIR``::

    ca.pem  ca.key                          the federation development CA
    <CC>/server.pem  server.key             TLS server (serverAuth)
    <CC>/client.pem  client.key             TLS client towards peers (clientAuth)
    <CC>/signing.pem signing.key            document signing (ES384, current key)
    <CC>/previous/<kid>.pem  <kid>.key      signing keys rotated out, still published

Everything here is a pure function of the folder: no cache, no globals; the caller decides
when to read again (at start-up, after a rotation).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from gateway.errors import BadRequest, Unavailable

CA_CERT = "ca.pem"
CA_KEY = "ca.key"
SERVER_CERT, SERVER_KEY = "server.pem", "server.key"
CLIENT_CERT, CLIENT_KEY = "client.pem", "client.key"
SIGNING_CERT, SIGNING_KEY = "signing.pem", "signing.key"
PREVIOUS = "previous"

SIGNING_ALG = "ES384"
CURVE_NAME = "P-384"  # the JOSE name of ec.SECP384R1
_COORDINATE_BYTES = 48  # P-384 coordinates are 384 bits
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True, slots=True)
class SigningIdentity:
    """What the signer needs: the key, the ``x5c`` chain (signing certificate first, then the
    CA) and the key id the JWKS publishes it under."""

    private_key: ec.EllipticCurvePrivateKey
    certificate_chain: list[x509.Certificate]
    kid: str


def country_dir(pki_dir: Path, country: str) -> Path:
    """The folder of one country's keys; refuses anything but two upper-case letters, so a
    country code can never point outside ``pki_dir``."""
    if not _COUNTRY.match(country):
        raise BadRequest(f"country {country!r}: expected two upper-case letters such as DE")
    return pki_dir / country


def load_ca(pki_dir: Path) -> x509.Certificate:
    """The federation CA certificate (the trust anchor for TLS and ``x5c`` chains)."""
    return load_certificate(pki_dir / CA_CERT)


def load_signing_identity(pki_dir: Path, country: str) -> SigningIdentity:
    """The current document-signing key of ``country`` with its certificate chain."""
    folder = country_dir(pki_dir, country)
    certificate = load_certificate(folder / SIGNING_CERT)
    private_key = load_ec_private_key(folder / SIGNING_KEY)
    if private_key.public_key() != certificate.public_key():
        raise Unavailable(
            f"{folder / SIGNING_KEY} does not belong to {folder / SIGNING_CERT} "
            "(run `gateway pki init --rotate` to make a new pair)"
        )
    return SigningIdentity(
        private_key=private_key,
        certificate_chain=[certificate, load_ca(pki_dir)],
        kid=thumbprint(public_jwk(_ec_public_key(certificate, folder / SIGNING_CERT))),
    )


def public_jwks(pki_dir: Path, country: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The JWKS of ``country``'s signing keys: the current one first, then the rotated ones
    whose certificates are still valid, so documents signed before a rotation still verify.
    Only public members, each with ``kid``, ``alg``, ``use`` and the ``x5c`` chain."""
    folder = country_dir(pki_dir, country)
    ca = load_ca(pki_dir)
    moment = now or datetime.now(UTC)
    keys = [_jwk_entry(load_certificate(folder / SIGNING_CERT), ca, folder / SIGNING_CERT)]
    for path in previous_certificates(folder):
        certificate = load_certificate(path)
        if certificate.not_valid_after_utc > moment:
            keys.append(_jwk_entry(certificate, ca, path))
    return {"keys": keys}


def previous_certificates(folder: Path) -> list[Path]:
    """Rotated-out signing certificates of one country folder, in a stable order."""
    previous = folder / PREVIOUS
    return sorted(previous.glob("*.pem")) if previous.is_dir() else []


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The RFC 7518 JWK of a P-384 public key (required members only)."""
    numbers = key.public_numbers()
    return {
        "kty": "EC",
        "crv": CURVE_NAME,
        "x": _b64url(numbers.x.to_bytes(_COORDINATE_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(_COORDINATE_BYTES, "big")),
    }


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256): the required members in lexicographic order, no
    whitespace. Used as ``kid``, so the id follows from the key and cannot be reused."""
    required = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def certificate_kid(certificate: x509.Certificate, where: Path) -> str:
    """The ``kid`` of the key a signing certificate carries."""
    return thumbprint(public_jwk(_ec_public_key(certificate, where)))


def load_certificate(path: Path) -> x509.Certificate:
    """One PEM certificate; a missing or unreadable file is ``Unavailable`` naming it."""
    data = _read(path)
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise Unavailable(f"{path}: not a PEM certificate") from None


def load_ec_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """One unencrypted PEM EC private key (P-384)."""
    data = _read(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        # The library's message may describe the key material; say only where and what.
        raise Unavailable(f"{path}: not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP384R1):
        raise Unavailable(f"{path}: expected an EC P-384 private key")
    return key


def _jwk_entry(certificate: x509.Certificate, ca: x509.Certificate, where: Path) -> dict[str, Any]:
    jwk: dict[str, Any] = public_jwk(_ec_public_key(certificate, where))
    jwk["kid"] = thumbprint(jwk)
    jwk["alg"] = SIGNING_ALG
    jwk["use"] = "sig"
    # x5c is standard base64 of DER (RFC 7517 §4.7), not base64url.
    jwk["x5c"] = [_der_b64(certificate), _der_b64(ca)]
    return jwk


def _ec_public_key(certificate: x509.Certificate, where: Path) -> ec.EllipticCurvePublicKey:
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP384R1):
        raise Unavailable(f"{where}: expected an EC P-384 certificate")
    return key


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise Unavailable(f"{path} not found (run `gateway pki init`)") from None
    except OSError as exc:
        raise Unavailable(f"{path}: {exc.strerror or exc}") from None


def _der_b64(certificate: x509.Certificate) -> str:
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
