"""Passport and visa verification: the passport part of the attack corpus
(``reference/crossborder-security.md`` §7), and the tokens that must pass.

Issuers and their keys are made here; the brokers file trusting them is written to tmp_path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws, jwt
from joserfc.registry import HeaderParameter

from gateway.auth.passport_brokers import PassportTrust, load_passport_trust
from gateway.auth.passports import (
    MAX_PASSPORT_BYTES,
    PassportRefused,
    verify_passport,
)
from gateway.domain.access import REGISTERED_ACCESS, Visa, access_of
from tests.support.passports import (
    ATTACKER_URL,
    BROKER_URL,
    DAC_URL,
    SUBJECT,
    Issuer,
    grant_visa,
    passport_token,
    registered_visas,
    visa_token,
    write_brokers,
)

DATASETS = "https://gateway.example.eu/beacon/datasets/"
SECRET = DATASETS + "secret"


@pytest.fixture(scope="module")
def broker() -> Issuer:
    return Issuer.rsa(BROKER_URL, "broker-2026")


@pytest.fixture(scope="module")
def dac() -> Issuer:
    return Issuer.ec(DAC_URL, "dac-1")


@pytest.fixture(scope="module")
def attacker() -> Issuer:
    """Not in the brokers file; it reuses the broker's kid to look like it."""
    return Issuer.rsa(ATTACKER_URL, "broker-2026")


@pytest.fixture
def trust(tmp_path: Path, broker: Issuer, dac: Issuer) -> PassportTrust:
    return load_passport_trust(write_brokers(tmp_path, broker, dac))


def refused(token: str, trust: PassportTrust) -> str:
    with pytest.raises(PassportRefused) as caught:
        verify_passport(token, trust)
    assert not token or token not in caught.value.message
    return caught.value.reason


def dropped(broker: Issuer, visa: str, trust: PassportTrust) -> tuple[str, ...]:
    """Why ``visa`` was dropped from an otherwise valid passport (and that it grants nothing)."""
    passport = verify_passport(passport_token(broker, [visa]), trust)
    assert passport.visas == ()
    return passport.dropped


def b64(part: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


# --- what passes -------------------------------------------------------------------------------


def test_a_registered_researcher_with_a_grant(broker: Issuer, dac: Issuer, trust: PassportTrust):
    token = passport_token(broker, [*registered_visas(broker), grant_visa(dac, SECRET)])
    passport = verify_passport(token, trust)
    assert (passport.issuer, passport.subject, passport.dropped) == (BROKER_URL, SUBJECT, ())
    assert passport.visas == (
        Visa("AcceptedTermsAndPolicies", REGISTERED_ACCESS, DAC_URL, "self"),
        Visa("ResearcherStatus", REGISTERED_ACCESS, DAC_URL, "so"),
        Visa("ControlledAccessGrants", SECRET, DAC_URL, "dac"),
    )
    access = access_of(passport.visas, DATASETS)
    assert access.registered
    assert access.datasets == frozenset({"secret"})


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "ES256", "ES384"])
def test_every_allowed_algorithm_passes(tmp_path: Path, algorithm: str) -> None:
    make = Issuer.rsa if algorithm.startswith("RS") else Issuer.ec
    issuer = make(BROKER_URL, "k1", algorithm)
    trust = load_passport_trust(write_brokers(tmp_path, issuer))
    passport = verify_passport(passport_token(issuer, registered_visas(issuer)), trust)
    assert len(passport.visas) == 2


@pytest.mark.parametrize("typ", [None, "JWT"])  # the spec's own example visa says JWT
def test_a_visa_without_typ_passes(
    broker: Issuer, dac: Issuer, trust: PassportTrust, typ: str | None
) -> None:
    token = passport_token(broker, [grant_visa(dac, SECRET, typ=typ)])
    assert len(verify_passport(token, trust).visas) == 1


def test_researcher_status_needs_no_by(broker: Issuer, trust: PassportTrust) -> None:
    visa = visa_token(broker, "ResearcherStatus", REGISTERED_ACCESS, by=None)
    assert verify_passport(passport_token(broker, [visa]), trust).visas[0].by is None


def test_a_jku_header_is_ignored_not_fetched(broker: Issuer, trust: PassportTrust) -> None:
    # Signed with the configured key: passes, and the URL (nothing listens there) is not used.
    token = passport_token(broker, [], jku="http://127.0.0.1:9/jwks.json")
    assert verify_passport(token, trust).subject == SUBJECT


def test_an_iat_slightly_ahead_is_clock_skew(broker: Issuer, trust: PassportTrust) -> None:
    token = passport_token(broker, [], claims={"iat": int(time.time()) + 30})
    assert verify_passport(token, trust).subject == SUBJECT


# --- passports that are refused ------------------------------------------------------------


def test_untrusted_issuer(attacker: Issuer, trust: PassportTrust) -> None:
    assert refused(passport_token(attacker, []), trust) == "untrusted_issuer"


def test_a_jku_pointing_elsewhere_does_not_bring_a_key(
    broker: Issuer, attacker: Issuer, trust: PassportTrust
) -> None:
    # The attacker claims the broker's iss and kid and points jku at its own JWKS.
    forged = replace(attacker, url=BROKER_URL)
    token = passport_token(forged, registered_visas(forged), jku=ATTACKER_URL + "/jwks.json")
    assert refused(token, trust) == "bad_signature"


def test_an_embedded_jwk_is_not_used(attacker: Issuer, trust: PassportTrust) -> None:
    forged = replace(attacker, url=BROKER_URL)
    token = passport_token(forged, [], jwk=attacker.key.as_dict(private=False))
    assert refused(token, trust) == "bad_signature"


@pytest.mark.parametrize("kid", ["unknown", "../../etc/passwd", "' OR 1=1 --", "dac-1"])
def test_an_unknown_kid_is_refused(broker: Issuer, trust: PassportTrust, kid: str) -> None:
    # dac-1 exists, but in another issuer's JWKS: keys are chosen from the token's iss only.
    assert refused(passport_token(broker, [], kid=kid), trust) == "unknown_key"


def test_a_key_of_the_wrong_type_for_the_algorithm(broker: Issuer, trust: PassportTrust):
    token = passport_token(broker, [])
    _, payload, signature = token.split(".")
    forged = f"{b64({'alg': 'ES256', 'kid': broker.kid, 'typ': 'vnd.ga4gh.passport+jwt'})}"
    assert refused(f"{forged}.{payload}.{signature}", trust) == "unknown_key"


@pytest.mark.parametrize(
    "typ", [None, "JWT", "vnd.ga4gh.visa+jwt", "at+jwt", "VND.GA4GH.PASSPORT+JWT"]
)
def test_wrong_passport_typ(broker: Issuer, trust: PassportTrust, typ: str | None) -> None:
    assert refused(passport_token(broker, [], typ=typ), trust) == "type"


def test_alg_none(broker: Issuer, trust: PassportTrust) -> None:
    token = passport_token(broker, registered_visas(broker))
    _, payload, _ = token.split(".")
    for alg in ("none", "None", "NONE"):
        header = b64({"alg": alg, "typ": "vnd.ga4gh.passport+jwt", "kid": broker.kid})
        assert refused(f"{header}.{payload}.", trust) == "malformed"
        assert refused(f"{header}.{payload}.c2ln", trust) == "algorithm"


def test_hs256_signed_with_the_public_key(broker: Issuer, trust: PassportTrust) -> None:
    # The key-confusion attack: the broker's public key PEM used as an HMAC secret (joserfc
    # itself refuses to build such a key, so the MAC is computed by hand).
    secret = broker.key.as_pem(private=False)
    payload = passport_token(broker, registered_visas(broker)).split(".")[1]
    header = b64({"alg": "HS256", "kid": broker.kid, "typ": "vnd.ga4gh.passport+jwt"})
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    signature = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    assert refused(f"{header}.{payload}.{signature}", trust) == "algorithm"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 1}, "expired"),
        ({"exp": None}, "claims"),
        ({"iat": None}, "claims"),
        ({"sub": None}, "claims"),
        ({"sub": ""}, "claims"),
        ({"iat": int(time.time()) + 3600}, "claims"),
        ({"nbf": int(time.time()) + 3600}, "claims"),
        ({"exp": "tomorrow"}, "claims"),
        ({"ga4gh_passport_v1": None}, "malformed"),
        ({"ga4gh_passport_v1": [{"type": "ResearcherStatus"}]}, "malformed"),
    ],
)
def test_passport_claims(broker: Issuer, trust: PassportTrust, claims: dict[str, Any], reason: str):
    present = {k: v for k, v in claims.items() if v is not None}
    token = passport_token(broker, [], claims=present)
    if len(present) < len(claims):  # drop the claim altogether
        payload = token.split(".")[1]
        body = json.loads(base64.urlsafe_b64decode(payload + "=="))
        for name in set(claims) - set(present):
            body.pop(name, None)
        token = broker.sign(body, "vnd.ga4gh.passport+jwt")
    assert refused(token, trust) == reason


def test_a_tampered_payload(broker: Issuer, trust: PassportTrust) -> None:
    token = passport_token(broker, [])
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))
    body["ga4gh_passport_v1"] = registered_visas(broker)
    assert refused(f"{header}.{b64(body)}.{signature}", trust) == "bad_signature"


def test_ecdsa_signatures_of_zeros_or_the_wrong_length(dac: Issuer, tmp_path: Path) -> None:
    trust = load_passport_trust(write_brokers(tmp_path, dac))
    token = passport_token(dac, [])
    header, payload, _ = token.split(".")
    zeros = base64.urlsafe_b64encode(bytes(64)).rstrip(b"=").decode()
    short = base64.urlsafe_b64encode(bytes(10)).rstrip(b"=").decode()
    assert refused(f"{header}.{payload}.{zeros}", trust) == "bad_signature"
    assert refused(f"{header}.{payload}.{short}", trust) == "bad_signature"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "a.b.c.d.e",
        "..",
        "!!!.@@@.###",
        b64({"alg": "RS256"})[:-3] + ".e30.c2ln",  # a header cut short
        base64.urlsafe_b64encode(b"[1,2]").decode() + ".e30.c2ln",
        b64({"alg": "RS256"}) + "." + base64.urlsafe_b64encode(b"not json").decode() + ".c2ln",
    ],
)
def test_malformed_tokens(trust: PassportTrust, token: str) -> None:
    assert refused(token, trust) in {"malformed", "algorithm", "type", "unknown_key"}


def test_duplicate_keys_are_refused(broker: Issuer, trust: PassportTrust) -> None:
    token = passport_token(broker, [])
    header, _, signature = token.split(".")
    payload = base64.urlsafe_b64encode(
        f'{{"iss": "{ATTACKER_URL}", "iss": "{BROKER_URL}", "sub": "x"}}'.encode()
    ).decode()
    assert refused(f"{header}.{payload.rstrip('=')}.{signature}", trust) == "malformed"


@pytest.mark.parametrize("crit", [["exp"], 5, None, [1]])
def test_a_crit_header_is_refused(broker: Issuer, trust: PassportTrust, crit: object) -> None:
    # A critical header parameter the gateway does not understand must fail the token.
    registry = jws.JWSRegistry(
        header_registry={"exp": HeaderParameter("expiry", "int")}, algorithms=["RS256"]
    )
    claims = json.loads(base64.urlsafe_b64decode(passport_token(broker, []).split(".")[1] + "=="))
    header = {"alg": "RS256", "kid": broker.kid, "typ": "vnd.ga4gh.passport+jwt"}
    token = jwt.encode({**header, "crit": ["exp"], "exp": 1}, claims, broker.key, registry=registry)
    if crit != ["exp"]:  # a malformed crit, which joserfc itself would not write
        _, payload, signature = token.split(".")
        token = f"{b64({**header, 'crit': crit})}.{payload}.{signature}"
    assert refused(token, trust) == "malformed"


def test_oversized_passports(broker: Issuer, trust: PassportTrust) -> None:
    token = passport_token(broker, ["x" * MAX_PASSPORT_BYTES])
    assert refused(token, trust) == "too_large"


# --- visas that are dropped ----------------------------------------------------------------


def test_a_visa_with_a_bad_signature_does_not_count(broker: Issuer, trust: PassportTrust):
    terms, status = registered_visas(broker)
    header, payload, signature = status.split(".")
    bad = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    passport = verify_passport(passport_token(broker, [terms, bad]), trust)
    assert passport.dropped == ("bad_signature",)
    assert not access_of(passport.visas, DATASETS).registered


def test_a_visa_from_an_untrusted_issuer_does_not_count(
    broker: Issuer, attacker: Issuer, trust: PassportTrust
) -> None:
    assert dropped(broker, grant_visa(attacker, SECRET), trust) == ("untrusted_issuer",)


def test_a_visa_whose_jku_points_elsewhere(
    broker: Issuer, attacker: Issuer, trust: PassportTrust
) -> None:
    forged = replace(attacker, url=DAC_URL)
    visa = grant_visa(forged, SECRET, jku=ATTACKER_URL + "/jwks.json")
    assert dropped(broker, visa, trust) == ("unknown_key",)  # no dac key has the broker's kid


def test_visa_conditions_are_not_evaluated(broker: Issuer, dac: Issuer, trust: PassportTrust):
    conditions = [[{"type": "AffiliationAndRole", "value": "const:faculty@uni.example"}]]
    for value in (conditions, [], None):
        visa = grant_visa(dac, SECRET, extra={"conditions": value})
        assert dropped(broker, visa, trust) == ("conditions",)


@pytest.mark.parametrize("kind", ["AcceptedTermsAndPolicies", "ControlledAccessGrants"])
def test_a_missing_by(broker: Issuer, dac: Issuer, trust: PassportTrust, kind: str) -> None:
    assert dropped(broker, visa_token(dac, kind, SECRET, by=None), trust) == ("missing_by",)


@pytest.mark.parametrize("by", ["self", "peer", "DAC", "committee", "", ["dac"], {"dac": 1}, 1])
def test_a_grant_needs_the_authority_of_a_dac(
    broker: Issuer, dac: Issuer, trust: PassportTrust, by: object
) -> None:
    assert dropped(broker, grant_visa(dac, SECRET, by=by), trust) == ("authority",)


def test_an_unlinked_subject(broker: Issuer, dac: Issuer, trust: PassportTrust) -> None:
    visa = grant_visa(dac, SECRET, subject="someone-else")
    assert dropped(broker, visa, trust) == ("unlinked_subject",)


def test_an_expired_visa(broker: Issuer, dac: Issuer, trust: PassportTrust) -> None:
    visa = grant_visa(dac, SECRET, exp=int(time.time()) - 1)
    assert dropped(broker, visa, trust) == ("expired",)


def test_a_too_old_assertion(tmp_path: Path, broker: Issuer, dac: Issuer) -> None:
    trust = load_passport_trust(write_brokers(tmp_path, broker, dac, max_authz_ttl="1h"))
    assert trust.max_authz_ttl == timedelta(hours=1)
    now = int(time.time())
    old = grant_visa(dac, SECRET, asserted=now - 7200)
    fresh = grant_visa(dac, SECRET, asserted=now - 600)
    passport = verify_passport(passport_token(broker, [old, fresh]), trust)
    assert passport.dropped == ("expired",)
    assert len(passport.visas) == 1


def test_the_default_max_authz_ttl_is_a_year(broker: Issuer, dac: Issuer, trust: PassportTrust):
    now = int(time.time())
    year = 365 * 86400
    assert dropped(broker, grant_visa(dac, SECRET, asserted=now - year - 60), trust) == ("expired",)
    visa = grant_visa(dac, SECRET, asserted=now - year + 3600)
    assert len(verify_passport(passport_token(broker, [visa]), trust).visas) == 1


def test_expiry_is_checked_at_the_time_given(broker: Issuer, dac: Issuer, trust: PassportTrust):
    passport = passport_token(broker, [grant_visa(dac, SECRET, exp=int(time.time()) + 100)])
    later = datetime.now(UTC) + timedelta(seconds=300)
    with pytest.raises(PassportRefused):  # the passport itself lives 600 s
        verify_passport(passport, trust, later + timedelta(seconds=600))
    assert verify_passport(passport, trust, later).dropped == ("expired",)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"typ": "at+jwt"}, "type"),
        ({"typ": "vnd.ga4gh.passport+jwt"}, "type"),
        ({"asserted": "yesterday"}, "malformed"),
        ({"asserted": True}, "malformed"),
        ({"asserted": int(time.time()) + 3600}, "claims"),
        ({"source": "https://unknown.example"}, "untrusted_source"),
        ({"claims": {"ga4gh_visa_v1": None}}, "malformed"),
        ({"claims": {"ga4gh_visa_v1": "ControlledAccessGrants"}}, "malformed"),
        ({"claims": {"exp": None}}, "claims"),
    ],
)
def test_other_visa_defects(tmp_path: Path, broker: Issuer, options: dict[str, Any], reason: str):
    dac = Issuer.ec(DAC_URL, "dac-2")
    dac.sources = [DAC_URL]
    trust = load_passport_trust(write_brokers(tmp_path, broker, dac))
    assert dropped(broker, grant_visa(dac, SECRET, **options), trust) == (reason,)


def test_overlong_values_do_not_count(broker: Issuer, dac: Issuer, trust: PassportTrust) -> None:
    long_url = SECRET + "x" * 256
    assert dropped(broker, grant_visa(dac, long_url), trust) == ("malformed",)
    assert dropped(broker, grant_visa(dac, SECRET, source=DAC_URL + "/" + "x" * 255), trust) == (
        "malformed",
    )
