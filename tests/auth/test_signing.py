"""Signed patient summaries: RFC 8785 vectors, the sign/verify round trip, and every tamper.

Keys and certificates are made here in memory (the PKI module is tested on its own); nothing
is written outside tmp_path.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from gateway.auth.canonical_json import NotIJSON, canonicalize, parse_object
from gateway.auth.signing import (
    COMMITMENT_SOURCE,
    SignatureInvalid,
    sign_bundle,
    sign_bundle_bytes,
    verify_bundle,
)
from gateway.fhir.ips import build_document
from tests.fhir.records import full_record

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
WHEN = "2026-03-01T12:00:00Z"


@dataclass(frozen=True)
class Signer:
    key: ec.EllipticCurvePrivateKey
    chain: list[x509.Certificate]
    ca: x509.Certificate


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _usage(*, sign: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(
    cn: str = "Federation dev CA", *, now: dt.datetime = NOW
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .sign(key, hashes.SHA384())
    )
    return key, cert


def make_signer(
    *,
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None = None,
    digital_signature: bool = True,
    valid_days: tuple[int, int] = (-1, 365),
    cn: str = "DE gateway document signer",
    now: dt.datetime = NOW,
) -> Signer:
    ca_key, ca_cert = ca or make_ca(now=now)
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=valid_days[0]))
        .not_valid_after(now + dt.timedelta(days=valid_days[1]))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=digital_signature), critical=True)
        .sign(ca_key, hashes.SHA384())
    )
    return Signer(key, [cert, ca_cert], ca_cert)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return make_signer()


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return build_document(
        full_record(),
        document_id="8a3c1e52-4f0b-4c7e-9d7e-2a8e3f1b6c01",
        timestamp="2026-03-01T11:59:00Z",
        country="DE",
    )


def signed_bytes(bundle: dict[str, Any], signer: Signer) -> bytes:
    return orjson.dumps(sign_bundle(bundle, signer.key, signer.chain, "de-sign-1", WHEN))


def reason(data: bytes, anchors: list[x509.Certificate], now: dt.datetime = NOW) -> str:
    with pytest.raises(SignatureInvalid) as caught:
        verify_bundle(data, anchors, now)
    return caught.value.reason


# --- RFC 8785 through jcs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 8785 §3.2.2.3 number serialisation (ECMAScript Number.prototype.toString)
        (1e-7, b"1e-7"),
        (-0.0, b"0"),
        (1e21, b"1e+21"),
        (1e20, b"100000000000000000000"),
        (333333333.3333333, b"333333333.3333333"),
        (4.50, b"4.5"),
        (2e-3, b"0.002"),
        (0.000001, b"0.000001"),
        (9007199254740991, b"9007199254740991"),
    ],
)
def test_jcs_numbers_follow_rfc_8785(value, expected):
    assert canonicalize(value) == expected


def test_jcs_sorts_keys_by_utf16_code_units_rfc_8785_example():
    # RFC 8785 §3.2.3: the sort is on UTF-16 code units, so U+1F600 (surrogates D83D DE00)
    # sorts before U+FB33 although its code point is larger.
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = list(json.loads(canonicalize(value)))
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_jcs_rfc_8785_structures_example():
    value = json.loads(
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        '"literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode()
    assert canonicalize(value) == expected


def test_parse_refuses_duplicate_keys_at_any_depth_without_naming_them():
    with pytest.raises(NotIJSON) as caught:
        parse_object(b'{"a": {"secret-name": 1, "secret-name": 2}}')
    assert caught.value.reason == "duplicate_key"
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("data", [b"[1]", b"{", b'{"a": NaN}', b'{"a": 9007199254740993}', b"\xff"])
def test_parse_refuses_what_is_not_i_json(data):
    with pytest.raises(NotIJSON):
        parse_object(data)


# --- round trip --------------------------------------------------------------------------


def test_sign_then_verify_round_trip(bundle, signer):
    signed = sign_bundle(bundle, signer.key, signer.chain, "de-sign-1", WHEN)
    assert "signature" not in bundle  # a new dict; the input is untouched
    signature = signed["signature"]
    assert signature["type"] == [COMMITMENT_SOURCE]
    assert signature["sigFormat"] == "application/jose"
    assert signature["when"] == WHEN
    assert signature["who"]["type"] == "Device"
    assert signature["who"]["identifier"]["value"] == "de-sign-1"
    compact = base64.b64decode(signature["data"]).decode("ascii")
    header, payload, sig = compact.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==="))["alg"] == "ES384"
    assert payload == ""  # detached
    assert sig

    verified = verify_bundle(orjson.dumps(signed), [signer.ca], NOW)
    assert verified.signer == "DE gateway document signer"
    assert verified.when == WHEN
    assert verified.kid == "de-sign-1"
    assert verified.document["id"] == bundle["id"]


def test_any_serialisation_of_the_same_content_verifies(bundle, signer):
    signed = sign_bundle(bundle, signer.key, signer.chain, "de-sign-1", WHEN)
    pretty = json.dumps(signed, indent=3, ensure_ascii=True).encode()
    reordered = json.dumps(dict(reversed(list(signed.items())))).encode()
    assert verify_bundle(pretty, [signer.ca], NOW).signer
    assert verify_bundle(reordered, [signer.ca], NOW).signer


def test_sign_bundle_bytes_refuses_duplicate_keys_and_returns_orjson(bundle, signer):
    data = orjson.dumps(bundle)
    signed = sign_bundle_bytes(data, signer.key, signer.chain, "de-sign-1", WHEN)
    assert verify_bundle(signed, [signer.ca], NOW).kid == "de-sign-1"
    with pytest.raises(NotIJSON):
        sign_bundle_bytes(b'{"id": "a", "id": "b"}', signer.key, signer.chain, "k", WHEN)


def test_signing_needs_the_matching_p384_key(bundle, signer):
    other = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ValueError, match="first certificate"):
        sign_bundle(bundle, other, signer.chain, "k", WHEN)
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(ValueError, match="P-384"):
        sign_bundle(bundle, p256, signer.chain, "k", WHEN)


# --- tampering ---------------------------------------------------------------------------


def _tamper(data: bytes, change: Any) -> bytes:
    document = json.loads(data)
    change(document)
    return json.dumps(document).encode()


def _set_value(document: dict[str, Any]) -> None:
    document["entry"][1]["resource"]["birthDate"] = "1970-01-02"


def _add_entry(document: dict[str, Any]) -> None:
    document["entry"].append({"fullUrl": "urn:uuid:0", "resource": {"resourceType": "Basic"}})


def _drop_signature(document: dict[str, Any]) -> None:
    del document["signature"]


def _change_when(document: dict[str, Any]) -> None:
    document["signature"]["when"] = "2030-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set_value, "bad_signature"),
        (_add_entry, "bad_signature"),
        (_drop_signature, "no_signature"),
        (_change_when, "when_mismatch"),
    ],
)
def test_document_tampering_is_refused(bundle, signer, change, expected):
    data = signed_bytes(bundle, signer)
    assert reason(_tamper(data, change), [signer.ca]) == expected


def test_a_changed_byte_in_a_string_is_refused(bundle, signer):
    data = signed_bytes(bundle, signer)
    tampered = data.replace(b'"type":"document"', b'"type":"documenT"', 1)
    assert tampered != data
    assert reason(tampered, [signer.ca]) == "bad_signature"


def test_duplicate_keys_are_refused_before_verifying(bundle, signer):
    data = signed_bytes(bundle, signer)
    # A second "type" after the first: json would keep the last one silently.
    tampered = data.replace(b'"type":"document"', b'"type":"document","type":"collection"', 1)
    assert reason(tampered, [signer.ca]) == "duplicate_key"


def _with_header(data: bytes, **changes: Any) -> bytes:
    """The document with its JWS header rewritten (the signature bytes kept)."""
    document = json.loads(data)
    compact = base64.b64decode(document["signature"]["data"]).decode()
    head, _, sig = compact.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    header.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del header[key]
    new_head = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    document["signature"]["data"] = base64.b64encode(f"{new_head}..{sig}".encode()).decode()
    return json.dumps(document).encode()


@pytest.mark.parametrize("alg", ["none", "None", "HS384", "ES256", "RS384", "ES512"])
def test_any_algorithm_but_es384_is_refused(bundle, signer, alg):
    data = signed_bytes(bundle, signer)
    assert reason(_with_header(data, alg=alg), [signer.ca]) == "algorithm"


def test_none_with_an_empty_signature_is_refused(bundle, signer):
    document = json.loads(signed_bytes(bundle, signer))
    head = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    document["signature"]["data"] = base64.b64encode(f"{head}..".encode()).decode()
    assert reason(json.dumps(document).encode(), [signer.ca]) == "malformed_signature"


@pytest.mark.parametrize("extra", [{"crit": ["b64"], "b64": False}, {"crit": ["exp"]}])
def test_crit_and_b64_are_refused(bundle, signer, extra):
    data = signed_bytes(bundle, signer)
    assert reason(_with_header(data, **extra), [signer.ca]) == "malformed_signature"


def test_a_changed_protected_header_breaks_the_signature(bundle, signer):
    data = signed_bytes(bundle, signer)
    assert reason(_with_header(data, kid="other-key"), [signer.ca]) == "bad_signature"


def test_a_chain_swapped_for_another_trusted_signer_is_refused(bundle, signer):
    # Same CA, another leaf: the chain is trusted but its key did not make the signature.
    ca_key = make_ca()
    first = make_signer(ca=ca_key)
    second = make_signer(ca=ca_key)
    data = signed_bytes(bundle, first)
    x5c = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in second.chain]
    assert reason(_with_header(data, x5c=x5c), [first.ca]) == "bad_signature"


@pytest.mark.parametrize(
    "data",
    [
        "not base64!",
        base64.b64encode(b"only.two").decode(),
        base64.b64encode(b"a.b.c.d").decode(),
        base64.b64encode(b"head.payload.sig").decode(),  # not detached
    ],
)
def test_malformed_signature_data_is_refused(bundle, signer, data):
    document = json.loads(signed_bytes(bundle, signer))
    document["signature"]["data"] = data
    assert reason(json.dumps(document).encode(), [signer.ca]) == "malformed_signature"


def test_a_truncated_jws_is_refused(bundle, signer):
    document = json.loads(signed_bytes(bundle, signer))
    compact = base64.b64decode(document["signature"]["data"]).decode()
    document["signature"]["data"] = base64.b64encode(compact[:-10].encode()).decode()
    assert reason(json.dumps(document).encode(), [signer.ca]) == "bad_signature"


def test_a_zero_signature_is_refused(bundle, signer):
    # CVE-2022-21449 class: r = s = 0 must never verify.
    document = json.loads(signed_bytes(bundle, signer))
    head = base64.b64decode(document["signature"]["data"]).decode().split(".")[0]
    zero = base64.urlsafe_b64encode(bytes(96)).rstrip(b"=").decode()
    document["signature"]["data"] = base64.b64encode(f"{head}..{zero}".encode()).decode()
    assert reason(json.dumps(document).encode(), [signer.ca]) == "bad_signature"


@pytest.mark.parametrize(
    "signature",
    [
        "a string",
        {"sigFormat": "application/pkcs7-signature", "data": "AA==", "when": WHEN},
        {"sigFormat": "application/jose", "when": WHEN},
    ],
)
def test_a_malformed_signature_element_is_refused(bundle, signer, signature):
    document = json.loads(signed_bytes(bundle, signer))
    document["signature"] = signature
    assert reason(json.dumps(document).encode(), [signer.ca]) == "malformed_signature"


# --- certificates ------------------------------------------------------------------------


def test_a_foreign_ca_is_refused(bundle, signer):
    _, foreign = make_ca("Some other CA")
    assert reason(signed_bytes(bundle, signer), [foreign]) == "untrusted_chain"


def test_no_trust_anchors_is_refused(bundle, signer):
    assert reason(signed_bytes(bundle, signer), []) == "untrusted_chain"


def test_a_self_signed_leaf_is_refused(bundle, signer):
    # A leaf that is its own issuer, trusted by nobody configured.
    self_key, self_ca = make_ca("DE gateway document signer")
    rogue = Signer(self_key, [self_ca], self_ca)
    data = signed_bytes(bundle, rogue)
    assert reason(data, [signer.ca]) in {"key_usage", "untrusted_chain"}


def test_an_expired_leaf_is_refused(bundle):
    expired = make_signer(valid_days=(-400, -1))
    assert reason(signed_bytes(bundle, expired), [expired.ca]) == "certificate_expired"


def test_a_leaf_not_yet_valid_is_refused(bundle):
    future = make_signer(valid_days=(1, 400))
    assert reason(signed_bytes(bundle, future), [future.ca]) == "certificate_expired"


def test_a_leaf_without_digital_signature_is_refused(bundle):
    no_usage = make_signer(digital_signature=False)
    assert reason(signed_bytes(bundle, no_usage), [no_usage.ca]) == "key_usage"


def test_the_chain_is_checked_at_the_given_time(bundle, signer):
    data = signed_bytes(bundle, signer)
    later = NOW + dt.timedelta(days=366)
    assert reason(data, [signer.ca], later) == "certificate_expired"


def test_an_intermediate_ca_chains_to_the_root(bundle):
    root_key, root = make_ca("Root")
    mid_key = ec.generate_private_key(ec.SECP384R1())
    mid = (
        x509.CertificateBuilder()
        .subject_name(_name("Intermediate"))
        .issuer_name(root.subject)
        .public_key(mid_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=400))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .sign(root_key, hashes.SHA384())
    )
    leaf = make_signer(ca=(mid_key, mid))
    data = signed_bytes(bundle, leaf)
    assert verify_bundle(data, [root], NOW).signer == "DE gateway document signer"
    assert reason(data, [make_ca()[1]]) == "untrusted_chain"


def test_reasons_never_quote_document_content(bundle, signer):
    data = signed_bytes(bundle, signer)
    family = full_record().patient.names[0].family
    assert family is not None
    tampered = _tamper(data, _set_value)
    with pytest.raises(SignatureInvalid) as caught:
        verify_bundle(tampered, [signer.ca], NOW)
    assert family not in str(caught.value)
    assert "1970" not in str(caught.value)


# --- performance -------------------------------------------------------------------------


def test_sign_and_verify_a_100_kb_bundle_performance_figure(bundle, signer, capsys):
    """Not a timed gate: prints the figure (-s shows it); fails only if absurdly slow."""
    big = dict(bundle)
    big["entry"] = list(bundle["entry"])
    while len(orjson.dumps(big)) < 100_000:
        big["entry"] = big["entry"] + bundle["entry"][1:]
    size = len(orjson.dumps(big))
    rounds = 20
    start = time.perf_counter()
    for _ in range(rounds):
        data = orjson.dumps(sign_bundle(big, signer.key, signer.chain, "de-sign-1", WHEN))
        verify_bundle(data, [signer.ca], NOW)
    per_second = rounds / (time.perf_counter() - start)
    with capsys.disabled():
        print(f"\nsign+verify of a {size // 1000} KB Bundle: {per_second:.0f}/s")
    assert per_second > 2
