"""The passport brokers file: what it may say, and one clear line for what it must not."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import OctKey

from gateway.auth.passport_brokers import (
    DEFAULT_MAX_AUTHZ_TTL,
    BrokersFileError,
    load_passport_trust,
)
from tests.support.passports import BROKER_URL, DAC_URL, Issuer, write_brokers


@pytest.fixture(scope="module")
def broker() -> Issuer:
    return Issuer.rsa(BROKER_URL, "broker-2026")


@pytest.fixture(scope="module")
def dac() -> Issuer:
    return Issuer.ec(DAC_URL, "dac-1")


def written(tmp_path: Path, document: Any, name: str = "brokers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document) if name.endswith(".json") else yaml.safe_dump(document))
    return path


def problem(path: Path) -> str:
    with pytest.raises(BrokersFileError) as caught:
        load_passport_trust(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_issuers_with_jwks_files_and_options(tmp_path: Path, broker: Issuer, dac: Issuer):
    dac.sources = [DAC_URL]
    try:
        trust = load_passport_trust(write_brokers(tmp_path, broker, dac, max_authz_ttl="30d"))
    finally:
        dac.sources = None
    assert set(trust.issuers) == {BROKER_URL, DAC_URL}
    assert trust.max_authz_ttl == timedelta(days=30)
    assert trust.issuers[BROKER_URL].visa_sources is None
    assert trust.issuers[DAC_URL].visa_sources == frozenset({DAC_URL})
    assert trust.issuers[BROKER_URL].key_for("broker-2026", "RS256") is not None
    assert trust.issuers[BROKER_URL].key_for("broker-2026", "RS384") is not None
    assert trust.issuers[BROKER_URL].key_for("broker-2026", "ES256") is None
    assert trust.issuers[DAC_URL].key_for("dac-1", "ES256") is not None
    assert trust.issuers[DAC_URL].key_for("dac-1", "ES384") is None  # a P-256 key
    assert trust.issuers[DAC_URL].key_for("broker-2026", "ES256") is None


def test_a_plain_list_with_inline_jwks_as_json(tmp_path: Path, broker: Issuer) -> None:
    path = written(tmp_path, [{"issuer": BROKER_URL, "jwks": broker.jwks()}], "brokers.json")
    trust = load_passport_trust(path)
    assert list(trust.issuers) == [BROKER_URL]
    assert trust.max_authz_ttl == DEFAULT_MAX_AUTHZ_TTL


def test_a_key_pinned_to_one_algorithm(tmp_path: Path, broker: Issuer) -> None:
    jwks = {"keys": [{**broker.key.as_dict(private=False), "alg": "RS384"}]}
    trust = load_passport_trust(written(tmp_path, [{"issuer": BROKER_URL, "jwks": jwks}]))
    assert trust.issuers[BROKER_URL].key_for("broker-2026", "RS256") is None
    assert trust.issuers[BROKER_URL].key_for("broker-2026", "RS384") is not None


@pytest.mark.parametrize("ttl", [3600, "3600", "60m", "1h", "1d"])
def test_max_authz_ttl_spellings(tmp_path: Path, broker: Issuer, ttl: object) -> None:
    entries = [{"issuer": BROKER_URL, "jwks": broker.jwks()}]
    trust = load_passport_trust(written(tmp_path, {"issuers": entries, "max_authz_ttl": ttl}))
    assert trust.max_authz_ttl in (timedelta(hours=1), timedelta(days=1))


def b64int(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def with_keys(*keys: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"issuer": BROKER_URL, "jwks": {"keys": list(keys)}}]


def bad_documents(broker: Issuer) -> list[tuple[Any, str]]:
    public = broker.key.as_dict(private=False)
    entry = {"issuer": BROKER_URL, "jwks": broker.jwks()}
    bad_point = {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA", "kid": "p"}
    secret = OctKey.generate_key(parameters={"kid": "o"}).as_dict()
    edwards = {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AA"}
    weak = rsa.generate_private_key(65537, 1024)  # noqa: S505 (the weak key under test)
    numbers = weak.public_key().public_numbers()
    small = {"kty": "RSA", "kid": "small", "n": b64int(numbers.n), "e": b64int(numbers.e)}
    return [
        ("just text", "expected a list of issuers"),
        ({"brokers": []}, "expected a list of issuers"),
        ([], "no issuers are listed"),
        ([entry, entry], "listed twice"),
        ({"issuers": [entry], "max_authz_ttl": "forever"}, "max_authz_ttl"),
        ({"issuers": [entry], "max_authz_ttl": 0}, "max_authz_ttl"),
        ({"issuers": [entry], "max_authz_ttl": True}, "max_authz_ttl"),
        ({"issuers": [entry], "trust_everyone": True}, "unknown settings trust_everyone"),
        (["https://broker.example"], "issuer 1: expected a mapping"),
        ([{"jwks": broker.jwks()}], "'issuer' must be a URL"),
        ([{"issuer": "x" * 256, "jwks": broker.jwks()}], "'issuer' must be a URL"),
        ([{**entry, "jku": "https://x"}], "unknown fields jku"),
        ([{**entry, "visa_sources": "https://x"}], "'visa_sources' must be a list"),
        ([{"issuer": BROKER_URL}], "'jwks' must be a JWKS"),
        (with_keys(), "'jwks' must be a JWKS"),
        (with_keys({**public, "kid": None}), "needs a 'kid'"),
        (with_keys(public, public), "two keys share the kid 'broker-2026'"),
        (with_keys(broker.key.as_dict(private=True)), "holds private key material"),
        (with_keys(secret), "holds private key material"),
        (with_keys({**public, "use": "enc"}), "is not for RS256"),
        (with_keys({**public, "alg": "HS256"}), "is not for RS256"),
        (with_keys({**public, "n": "!!"}), "under 2048 bits"),
        (with_keys(small), "under 2048 bits"),
        (with_keys(bad_point), "cannot be read"),
        (with_keys(edwards), "must be RSA or EC P-256/P-384"),
        ([{"issuer": BROKER_URL, "jwks": "missing.json"}], "cannot read jwks"),
    ]


def test_broken_files_are_one_clear_line(tmp_path: Path, broker: Issuer) -> None:
    for number, (document, message) in enumerate(bad_documents(broker)):
        path = written(tmp_path, document, f"brokers-{number}.yaml")
        assert message in problem(path), document


def test_unreadable_or_unparsable_files(tmp_path: Path) -> None:
    assert "cannot read" in problem(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("issuers: [\n")
    assert "not valid YAML or JSON" in problem(broken)
    broken_json = tmp_path / "broken.json"
    broken_json.write_text('{"issuers": ')
    assert "not valid YAML or JSON" in problem(broken_json)
    jwks_text = tmp_path / "text.jwks"
    jwks_text.write_text("not json")
    listed = written(tmp_path, [{"issuer": BROKER_URL, "jwks": "text.jwks"}])
    assert "is not JSON" in problem(listed)
