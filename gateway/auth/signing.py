"""Signed patient summaries: a detached JWS (ES384, ``x5c`` chain) in ``Bundle.signature``.

The signed content is the RFC 8785 canonical JSON of the Bundle without its ``signature``
(``reference/crossborder-security.md`` §6). The JWS is plain RFC 7515 with a detached payload:
the payload is the base64url of the canonical bytes and is left out of the compact form, which
is ``header..signature``; ``Signature.data`` holds the base64 of that ASCII string. RFC 7797
(``b64: false``) and any ``crit`` header are refused: nothing here needs them, and each is one
more way for two implementations to disagree on what was signed.

``Signature.who`` names the signer as a Device (the gateway software holding the key, a seal,
not a person), identified by the key id; the signing time is also the protected ``sigT``
header (ETSI JAdES), so ``when`` is covered by the signature and checked against it.

Verification takes the exact bytes received: fhir.resources re-serialisation is not lossless,
so the canonical form is always computed from the parsed bytes, never from a model.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey
from joserfc.registry import HeaderParameter

from gateway.auth.canonical_json import NotIJSON, canonicalize, parse_object

__all__ = [
    "ALGORITHM",
    "COMMITMENT_SOURCE",
    "SIG_FORMAT",
    "SignatureInvalid",
    "VerifiedSignature",
    "sign_bundle",
    "sign_bundle_bytes",
    "verify_bundle",
]

ALGORITHM = "ES384"
SIG_FORMAT = "application/jose"
#: ASTM E1762 commitment type "Source": the gateway vouches for the document as its source.
COMMITMENT_SOURCE = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.5",
    "display": "Source Signature",
}
#: The identifier system of ``Signature.who``: the value is the signing key's id.
SIGNING_KEY_SYSTEM = "urn:eu-health-gateway:signing-key"
_MAX_CHAIN = 5  # leaf, intermediates, and a root that some senders include

# joserfc's defaults (512-byte header) are sized for tokens; an x5c chain of two P-384
# certificates is about 1.5 KB. Only ES384 is ever accepted: the algorithm is pinned here,
# never taken from the header.
_REGISTRY = jws.JWSRegistry(
    header_registry={"sigT": HeaderParameter("Signing time (ETSI JAdES)", "str")},
    algorithms=[ALGORITHM],
)
_REGISTRY.max_header_length = 16 * 1024


class SignatureInvalid(ValueError):
    """A signed document that does not verify.

    ``reason`` is a short code (``duplicate_key``, ``no_signature``, ``malformed_signature``,
    ``algorithm``, ``bad_signature``, ``untrusted_chain``, ``certificate_expired``,
    ``key_usage``, ...); the message says what failed and never quotes document content.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a valid signature proves: who signed (the leaf certificate) and when."""

    signer: str  # the leaf certificate's subject common name
    subject: str  # the full subject, RFC 4514
    kid: str
    when: str
    certificate: x509.Certificate
    document: dict[str, Any]  # the parsed Bundle, signature included


def sign_bundle(
    bundle: dict[str, Any],
    private_key: ec.EllipticCurvePrivateKey,
    chain: list[x509.Certificate],
    kid: str,
    when: str,
) -> dict[str, Any]:
    """A copy of ``bundle`` carrying a detached ES384 JWS over its canonical JSON.

    ``chain`` starts with the certificate of ``private_key``; ``when`` is a FHIR instant.
    Any existing ``signature`` is replaced (it is never part of the signed content).

    :raises ValueError: the key is not P-384 or does not match the leaf, or the Bundle is
        not I-JSON (a lone surrogate, a non-finite number).
    """
    _check_signer(private_key, chain)
    content = {k: v for k, v in bundle.items() if k != "signature"}
    header = {
        "alg": ALGORITHM,
        "kid": kid,
        "x5c": [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in chain],
        "sigT": when,
    }
    key = ECKey.import_key(private_key)
    compact = jws.serialize_compact(header, canonicalize(content), key, registry=_REGISTRY)
    detached = jws.detach_content(compact)
    signed = copy.copy(bundle)
    signed["signature"] = {
        "type": [COMMITMENT_SOURCE],
        "when": when,
        "who": _who(kid, chain[0]),
        "sigFormat": SIG_FORMAT,
        "data": base64.b64encode(detached.encode("ascii")).decode("ascii"),
    }
    return signed


def sign_bundle_bytes(
    data: bytes,
    private_key: ec.EllipticCurvePrivateKey,
    chain: list[x509.Certificate],
    kid: str,
    when: str,
) -> bytes:
    """:func:`sign_bundle` over serialised JSON: refuses duplicate keys, returns orjson bytes.

    :raises ValueError: as :func:`sign_bundle`; :class:`NotIJSON` for duplicate keys.
    """
    signed = sign_bundle(parse_object(data), private_key, chain, kid, when)
    return orjson.dumps(signed)


def verify_bundle(
    data: bytes, trust_anchors: list[x509.Certificate], now: datetime | None = None
) -> VerifiedSignature:
    """Check the signature of the Bundle in ``data`` (the exact bytes received).

    :param trust_anchors: CA certificates the chain must end in.
    :param now: the time certificates must be valid at (default: the current time).
    :raises SignatureInvalid: with the reason, never quoting document content.
    """
    moment = now or datetime.now(UTC)
    document = _parse(data)
    signature = _signature_element(document)
    header, compact = _split_jws(signature["data"])
    chain = _chain(header)
    _check_validity(chain[0], moment)
    _check_key_usage(chain[0])
    _check_chain(chain, trust_anchors, moment)
    content = {k: v for k, v in document.items() if k != "signature"}
    _check_jws(compact, _canonical(content), chain[0])
    if header.get("sigT") != signature.get("when"):
        raise SignatureInvalid("when_mismatch", "Signature.when differs from the signed time")
    return VerifiedSignature(
        signer=_common_name(chain[0]),
        subject=chain[0].subject.rfc4514_string(),
        kid=str(header["kid"]),
        when=str(header["sigT"]),
        certificate=chain[0],
        document=document,
    )


def _check_signer(private_key: Any, chain: Sequence[x509.Certificate]) -> None:
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP384R1
    ):
        raise ValueError("the signing key must be an EC P-384 private key (ES384)")
    if not chain or chain[0].public_key() != private_key.public_key():
        raise ValueError("the first certificate of the chain must be the signing key's")


def _who(kid: str, leaf: x509.Certificate) -> dict[str, Any]:
    return {
        "type": "Device",
        "identifier": {"system": SIGNING_KEY_SYSTEM, "value": kid},
        "display": _common_name(leaf),
    }


def _parse(data: bytes) -> dict[str, Any]:
    try:
        return parse_object(data)
    except NotIJSON as exc:
        raise SignatureInvalid(exc.reason, str(exc)) from None


def _canonical(content: dict[str, Any]) -> bytes:
    try:
        return canonicalize(content)
    except NotIJSON as exc:
        raise SignatureInvalid(exc.reason, str(exc)) from None


def _signature_element(document: dict[str, Any]) -> dict[str, Any]:
    """``Bundle.signature``, checked for the fields this profile needs."""
    signature = document.get("signature")
    if signature is None:
        raise SignatureInvalid("no_signature", "the document has no signature")
    if not isinstance(signature, dict):
        raise SignatureInvalid("malformed_signature", "Bundle.signature is not an object")
    if signature.get("sigFormat") != SIG_FORMAT:
        raise SignatureInvalid("malformed_signature", f"Signature.sigFormat is not {SIG_FORMAT}")
    if not isinstance(signature.get("data"), str):
        raise SignatureInvalid("malformed_signature", "Signature.data is missing")
    if not isinstance(signature.get("when"), str):
        raise SignatureInvalid("malformed_signature", "Signature.when is missing")
    return signature


def _split_jws(data: str) -> tuple[dict[str, Any], str]:
    """The protected header and the compact detached JWS in ``Signature.data``.

    The header is read here, before joserfc, to refuse anything but plain ES384 with a clear
    reason; joserfc then checks it again with the algorithm pinned.
    """
    try:
        compact = base64.b64decode(data, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise SignatureInvalid("malformed_signature", "Signature.data is not base64") from None
    parts = compact.split(".")
    if len(parts) != 3 or not parts[0] or parts[1] or not parts[2]:
        raise SignatureInvalid("malformed_signature", "Signature.data is not a detached JWS")
    header = _header(parts[0])
    if header.get("alg") != ALGORITHM:
        raise SignatureInvalid("algorithm", f"the JWS algorithm is not {ALGORITHM}")
    if "crit" in header or "b64" in header:
        raise SignatureInvalid("malformed_signature", "the JWS header uses crit or b64")
    if not isinstance(header.get("kid"), str) or not isinstance(header.get("sigT"), str):
        raise SignatureInvalid("malformed_signature", "the JWS header lacks kid or sigT")
    return header, compact


def _header(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return parse_object(raw)
    except (binascii.Error, ValueError):
        raise SignatureInvalid("malformed_signature", "the JWS header is not JSON") from None


def _chain(header: dict[str, Any]) -> list[x509.Certificate]:
    encoded = header.get("x5c")
    if not isinstance(encoded, list) or not 1 <= len(encoded) <= _MAX_CHAIN:
        raise SignatureInvalid("malformed_signature", "the JWS header has no usable x5c chain")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in encoded]
    except (TypeError, ValueError):
        raise SignatureInvalid("malformed_signature", "an x5c certificate is unreadable") from None


def _check_validity(leaf: x509.Certificate, moment: datetime) -> None:
    if not leaf.not_valid_before_utc <= moment <= leaf.not_valid_after_utc:
        raise SignatureInvalid(
            "certificate_expired", "the signing certificate is not valid at this time"
        )


def _check_key_usage(leaf: x509.Certificate) -> None:
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is None or not usage.digital_signature:
        raise SignatureInvalid("key_usage", "the signing certificate is not for digital signatures")
    leaf_key = leaf.public_key()
    if not isinstance(leaf_key, ec.EllipticCurvePublicKey) or not isinstance(
        leaf_key.curve, ec.SECP384R1
    ):
        raise SignatureInvalid("key_usage", "the signing certificate does not hold a P-384 key")


def _check_chain(
    chain: list[x509.Certificate], anchors: list[x509.Certificate], moment: datetime
) -> None:
    """The leaf chains to one of ``anchors`` (RFC 5280 path building in cryptography).

    CA certificates get the Web PKI CA rules (basic constraints, keyCertSign); the leaf is a
    document signer, not a TLS client, so no extended key usage or SAN is demanded of it: its
    key usage is checked by :func:`_check_key_usage`.
    """
    if not anchors:
        raise SignatureInvalid("untrusted_chain", "no trust anchors are configured")
    verifier = (
        PolicyBuilder()
        .store(Store(anchors))
        .time(moment)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=ExtensionPolicy.permit_all(),
        )
        .build_client_verifier()
    )
    try:
        verifier.verify(chain[0], chain[1:])
    except x509.verification.VerificationError:
        raise SignatureInvalid(
            "untrusted_chain", "the signing certificate does not chain to a trusted CA"
        ) from None


def _check_jws(compact: str, content: bytes, leaf: x509.Certificate) -> None:
    key = ECKey.import_key(leaf.public_key())  # type: ignore[arg-type]
    try:
        jws.deserialize_compact(compact, key, registry=_REGISTRY, payload=content)
    except (JoseError, ValueError):
        raise SignatureInvalid(
            "bad_signature", "the signature does not match the document"
        ) from None


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if names else certificate.subject.rfc4514_string()
    return value if isinstance(value, str) else value.decode()
