"""The JOSE attack corpus (``reference/crossborder-security.md`` §7) against the real app:
client assertions at ``/oauth/token`` and bearer tokens at ``/fhir``. Every refusal has the
status and error format of its surface, never a 500, and leaves a security alert in the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import ECKey, RSAKey

from gateway.app import create_app
from gateway.auth.access_tokens import TOKEN_LIFETIME_SECONDS
from gateway.auth.keys import load_signing_identity
from gateway.auth.pki import init_pki
from gateway.settings import Settings
from tests.api.test_audit_log import audit_verify
from tests.support.attacks import oauth_error, outcome, security_alerts
from tests.support.jose import b64url, forge, part, resign, segments
from tests.support.oauth import ALL_SCOPES, ClientKey, iua, register, token_form, token_url

SEARCH = ("/fhir/Patient", {"identifier": "https://example.org/sid|1"})
OTHER_NODE = "https://fr.gateway.example/oauth/token"

Build = Callable[[ClientKey, str], str]


@pytest.fixture
def node() -> ClientKey:
    return ClientKey(client_id="node-fr", country="FR", purposes=("TREAT",))


@pytest.fixture
def http(settings: Settings, node: ClientKey) -> Iterator[TestClient]:
    register(settings, node)
    with TestClient(create_app(settings)) as client:
        yield client


def claims_of(node: ClientKey, url: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": node.client_id,
        "sub": node.client_id,
        "aud": url,
        "iat": now,
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def assertion(
    node: ClientKey, url: str, header: dict[str, Any] | None = None, **changes: Any
) -> str:
    """The node's assertion with header members and claims changed (None removes one),
    signed with the node's key under its registered algorithm."""
    head = {"alg": node.algorithm, "typ": "JWT", "kid": node.kid, **(header or {})}
    head = {name: value for name, value in head.items() if value is not None}
    return forge(head, claims_of(node, url, **changes), node.key, node.algorithm)


def ask(http: TestClient, token: str, scope: str | None = None) -> Any:
    response = http.post("/oauth/token", data=token_form(token, scope))
    assert response.status_code < 500, response.text
    return response


def granted(http: TestClient, node: ClientKey, settings: Settings, **changes: Any) -> str:
    response = ask(http, assertion(node, token_url(settings), **changes))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def last_alert(settings: Settings) -> dict[str, Any]:
    alerts = security_alerts(settings)
    assert alerts, "a refusal must leave a security alert"
    return alerts[-1]


def reshape(token: str, how: str) -> str:
    head, body, signature = token.split(".")
    return {
        "two-parts": f"{head}.{body}",
        "four-parts": f"{head}.{body}.{signature}.{signature}",
        "padded": f"{head}.{body}.{signature}==",
        "standard-base64": f"{head}.{body}.{signature}".replace("-", "+").replace("_", "/") + "+/",
        "zero-signature": f"{head}.{body}.{b64url(bytes(96))}",
        "short-signature": f"{head}.{body}.{b64url(bytes(64))}",
        "empty-signature": f"{head}.{body}.",
        "spaces": f" {head}.{body}.{signature}",
    }[how]


# --- client assertions at /oauth/token --------------------------------------------------------


def _signed_by(key: ECKey, kid: str = "key-1") -> Build:
    def build(node: ClientKey, url: str) -> str:
        head = {"alg": "ES384", "typ": "JWT", "kid": kid}
        return forge(head, claims_of(node, url), key, "ES384")

    return build


def _with_duplicate_sub(claims: dict[str, Any]) -> bytes:
    """The claims as JSON with a second ``sub`` naming another client (Python keeps the last)."""
    text = json.dumps(claims)
    return (text[:-1] + ', "sub": "node-de"}').encode()


def _now() -> int:
    return int(time.time())


REFUSED: dict[str, tuple[Build, str, bool]] = {
    # name: (build, what the error_description says, whether the client was named)
    "alg-none": (
        lambda n, u: forge({"alg": "none", "typ": "JWT", "kid": n.kid}, claims_of(n, u), None, ""),
        "url-safe base64",
        False,
    ),
    "alg-None": (lambda n, u: assertion(n, u, {"alg": "None"}), "must be signed with", True),
    "alg-NONE": (lambda n, u: assertion(n, u, {"alg": "NONE"}), "must be signed with", True),
    "alg-HS256": (lambda n, u: assertion(n, u, {"alg": "HS256"}), "must be signed with", True),
    "kid-path-traversal": (
        lambda n, u: assertion(n, u, {"kid": "../../../../../etc/passwd"}),
        "no single registered key",
        True,
    ),
    "kid-sql": (
        lambda n, u: assertion(n, u, {"kid": "x' UNION SELECT jwks FROM oauth_clients --"}),
        "no single registered key",
        True,
    ),
    "kid-unknown": (lambda n, u: assertion(n, u, {"kid": "key-2"}), "no single registered", True),
    "kid-missing": (lambda n, u: assertion(n, u, {"kid": None}), "needs a kid", True),
    "jku-elsewhere": (
        lambda n, u: assertion(n, u, {"jku": "https://attacker.example/jwks.json"}),
        "jku",
        False,
    ),
    "x5u-elsewhere": (
        lambda n, u: assertion(n, u, {"x5u": "http://169.254.169.254/latest/meta-data/"}),
        "x5u",
        False,
    ),
    "embedded-jwk": (
        lambda n, u: assertion(n, u, {"jwk": n.key.as_dict(private=False)}),
        "jwk",
        False,
    ),
    "crit": (lambda n, u: assertion(n, u, {"crit": ["exp"]}), "crit", False),
    "b64-false": (lambda n, u: assertion(n, u, {"b64": False, "crit": ["b64"]}), "b64", False),
    "typ-access-token": (lambda n, u: assertion(n, u, {"typ": "at+jwt"}), "typ must be JWT", True),
    "expired": (lambda n, u: assertion(n, u, exp=_now() - 10, iat=_now() - 250), "expired", True),
    "nbf-in-the-future": (lambda n, u: assertion(n, u, nbf=_now() + 3600), "nbf", True),
    "iat-in-the-future": (lambda n, u: assertion(n, u, iat=_now() + 3600), "iat", True),
    "exp-too-far-ahead": (
        lambda n, u: assertion(n, u, exp=_now() + 600),
        "more than five minutes",
        True,
    ),
    "exp-missing": (lambda n, u: assertion(n, u, exp=None), "needs exp", True),
    "jti-missing": (lambda n, u: assertion(n, u, jti=None), "needs a jti", True),
    "aud-other-node": (lambda n, u: assertion(n, u, aud=OTHER_NODE), "aud", True),
    "aud-array-with-other-node": (
        lambda n, u: assertion(n, u, aud=[u, OTHER_NODE]),
        "aud",
        True,
    ),
    "aud-missing": (lambda n, u: assertion(n, u, aud=None), "aud", True),
    "iss-not-sub": (lambda n, u: assertion(n, u, sub="node-it"), "iss and sub", True),
    "iss-missing": (lambda n, u: assertion(n, u, iss=None), "needs iss", False),
    "duplicate-header-key": (
        lambda n, u: forge(
            b'{"alg":"ES384","typ":"JWT","kid":"key-1","kid":"key-2"}',
            claims_of(n, u),
            n.key,
            "ES384",
        ),
        "duplicate JSON key",
        False,
    ),
    "duplicate-payload-key": (
        lambda n, u: forge(
            {"alg": "ES384", "typ": "JWT", "kid": n.kid},
            _with_duplicate_sub(claims_of(n, u)),
            n.key,
            "ES384",
        ),
        "duplicate JSON key",
        False,
    ),
    "oversized": (lambda n, u: assertion(n, u, pad="x" * 9000), "longer than", False),
    "leading-space": (lambda n, u: reshape(assertion(n, u), "spaces"), "url-safe", False),
    "empty-signature": (lambda n, u: reshape(assertion(n, u), "empty-signature"), "url-", False),
    "two-parts": (lambda n, u: reshape(assertion(n, u), "two-parts"), "three", False),
    "four-parts": (lambda n, u: reshape(assertion(n, u), "four-parts"), "three", False),
    "padded": (lambda n, u: reshape(assertion(n, u), "padded"), "url-safe", False),
    "standard-base64": (lambda n, u: reshape(assertion(n, u), "standard-base64"), "url-", False),
    "zero-ecdsa-signature": (
        lambda n, u: reshape(assertion(n, u), "zero-signature"),
        "does not verify",
        True,
    ),
    "short-ecdsa-signature": (
        lambda n, u: reshape(assertion(n, u), "short-signature"),
        "does not verify",
        True,
    ),
    "another-key-same-kid": (_signed_by(ECKey.generate_key("P-384")), "does not verify", True),
    "unknown-purpose": (
        lambda n, u: assertion(n, u, **iua("SHOPPING")),
        "not a purpose this gateway honours",
        True,
    ),
    "forged-audit-subject": (
        lambda n, u: assertion(n, u, **iua("TREAT", subject_id="Dr. X\nforged: audit line")),
        "subject_id",
        True,
    ),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_assertion_is_invalid_client_and_a_security_alert(http, settings, node, case):
    build, says, named = REFUSED[case]
    response = ask(http, build(node, token_url(settings)))
    description = oauth_error(response, 401, "invalid_client")
    assert says in description
    alert = last_alert(settings)
    assert alert["outcome"] == "4"
    assert alert["outcomeDesc"] == f"token request refused: {description}"
    assert alert["agent"][0]["who"]["display"] == ("node-fr" if named else "unauthenticated")
    assert "access_token" not in response.text


def test_hs256_signed_with_the_rsa_clients_public_key_is_refused(settings):
    rsa = ClientKey(client_id="node-rsa", algorithm="RS384", key=RSAKey.generate_key(2048))
    register(settings, rsa)
    pem = rsa.key.as_pem(private=False)
    with TestClient(create_app(settings)) as http:
        signing_input = (
            f"{part({'alg': 'HS256', 'typ': 'JWT', 'kid': rsa.kid})}."
            f"{part(claims_of(rsa, token_url(settings)))}"
        )
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        response = ask(http, f"{signing_input}.{b64url(mac)}")
        assert "must be signed with RS384" in oauth_error(response, 401, "invalid_client")
    assert "must be signed with RS384" in last_alert(settings)["outcomeDesc"]


KEY_MAKERS: dict[str, Callable[[], ECKey | RSAKey]] = {
    "RS384": lambda: RSAKey.generate_key(2048),
    "ES384": lambda: ECKey.generate_key("P-384"),
    "RS256": lambda: RSAKey.generate_key(2048),
    "ES256": lambda: ECKey.generate_key("P-256"),
}


@pytest.mark.parametrize(
    ("algorithm", "wrong"),
    [("RS384", "ES384"), ("ES384", "RS384"), ("RS256", "RS384"), ("ES256", "ES384")],
)
def test_each_smart_and_ga4gh_algorithm_passes_when_registered(settings, algorithm, wrong):
    client = ClientKey(
        client_id=f"node-{algorithm.lower()}", algorithm=algorithm, key=KEY_MAKERS[algorithm]()
    )
    register(settings, client)
    with TestClient(create_app(settings)) as http:
        token = granted(http, client, settings)
        assert segments(token)[0]["alg"] == "ES384"  # the gateway signs its own tokens
        found = http.get(SEARCH[0], params=SEARCH[1], headers={"Authorization": f"Bearer {token}"})
        assert found.status_code == 200, found.text
        assert found.json()["total"] == 0
        # An assertion in another algorithm, under this client's name and kid, fails.
        impostor = ClientKey(client_id=client.client_id, algorithm=wrong, key=KEY_MAKERS[wrong]())
        response = ask(http, assertion(impostor, token_url(settings)))
        assert f"must be signed with {algorithm}" in oauth_error(response, 401, "invalid_client")


def test_a_jwks_with_two_keys_under_one_kid_is_refused_as_ambiguous(settings):
    twin = {**ECKey.generate_key("P-384").as_dict(private=False), "kid": "key-1"}
    client = ClientKey(client_id="node-twins", extra_keys=(twin,))
    register(settings, client)
    with TestClient(create_app(settings)) as http:
        response = ask(http, assertion(client, token_url(settings)))
        assert "no single registered key" in oauth_error(response, 401, "invalid_client")
    assert last_alert(settings)["agent"][0]["who"]["display"] == "node-twins"


def test_an_unknown_client_is_invalid_client(http, settings):
    stranger = ClientKey(client_id="node-nowhere")
    response = ask(http, assertion(stranger, token_url(settings)))
    assert oauth_error(response, 401, "invalid_client") == "unknown client"
    assert last_alert(settings)["outcomeDesc"] == "token request refused: unknown client"


@pytest.mark.parametrize(
    "issuer", ["node\x00fr", "node-fr\n", "nöde-fr", "node fr\t", "node-\ud800"]
)
def test_a_client_id_with_control_or_odd_characters_is_invalid_client(http, settings, node, issuer):
    """Even where the database cannot hold such text (PostgreSQL refuses NUL)."""
    response = ask(http, assertion(node, token_url(settings), iss=issuer, sub=issuer))
    oauth_error(response, 401, "invalid_client")
    assert last_alert(settings)["outcomeDesc"].startswith("token request refused")


@pytest.mark.parametrize("jti", ["a\x00b", "\ud800", "x" * 300])
def test_a_jti_the_database_cannot_hold_is_invalid_client(http, settings, node, jti):
    response = ask(http, assertion(node, token_url(settings), jti=jti))
    assert "jti" in oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize("subject", ["Dr. \ud800", "Dr. \x00", "Dr.\u2028X"])
def test_a_requester_the_audit_log_cannot_hold_gets_no_token(http, settings, node, subject):
    """The IUA subject goes into every audit record of the token's use."""
    response = ask(http, assertion(node, token_url(settings), **iua("TREAT", subject_id=subject)))
    assert "subject_id" in oauth_error(response, 401, "invalid_client")


# --- replay -----------------------------------------------------------------------------------


def test_a_replayed_assertion_is_refused(http, settings, node):
    once = assertion(node, token_url(settings))
    assert ask(http, once).status_code == 200
    again = ask(http, once)
    assert "used before" in oauth_error(again, 401, "invalid_client")
    assert "used before" in last_alert(settings)["outcomeDesc"]


def test_a_replay_after_a_restart_or_at_another_instance_is_refused(settings, node):
    register(settings, node)
    first, second, third = (assertion(node, token_url(settings)) for _ in range(3))
    with TestClient(create_app(settings)) as http:
        assert ask(http, first).status_code == 200
    with TestClient(create_app(settings)) as restarted:
        assert "used before" in oauth_error(ask(restarted, first), 401, "invalid_client")
    # Two instances serving at once over one database share the replay store.
    with (
        TestClient(create_app(settings)) as one,
        TestClient(create_app(settings)) as other,
    ):
        assert ask(one, second).status_code == 200
        assert "used before" in oauth_error(ask(other, second), 401, "invalid_client")
        assert ask(other, third).status_code == 200
        assert "used before" in oauth_error(ask(one, third), 401, "invalid_client")


# --- the form itself --------------------------------------------------------------------------


def test_token_requests_that_are_not_client_credentials_forms_get_rfc_6749_errors(
    http, settings, node
):
    good = assertion(node, token_url(settings))
    form = token_form(good)
    checks = [
        ({**form, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({**form, "grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ({**form, "client_assertion_type": "urn:other"}, 401, "invalid_client"),
        ({k: v for k, v in form.items() if k != "client_assertion"}, 401, "invalid_client"),
        ({**form, "client_assertion": ""}, 401, "invalid_client"),
    ]
    for data, status, error in checks:
        oauth_error(http.post("/oauth/token", data=data), status, error)
    as_json = http.post("/oauth/token", json=form)
    oauth_error(as_json, 400, "invalid_request")
    repeated = "&".join(f"{k}={v}" for k, v in form.items()) + "&grant_type=client_credentials"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    oauth_error(
        http.post("/oauth/token", content=repeated, headers=headers), 400, "invalid_request"
    )
    latin = "grant_type=client_credentials&scope=caf\xe9".encode("latin-1")
    oauth_error(http.post("/oauth/token", content=latin, headers=headers), 400, "invalid_request")


def test_a_huge_token_request_is_refused_in_the_oauth_format(http):
    body = b"grant_type=client_credentials&client_assertion=" + b"A" * (1 << 20)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    response = http.post("/oauth/token", content=body, headers=headers)
    assert "over" in oauth_error(response, 400, "invalid_request")


# --- purposes and scopes at the token endpoint ------------------------------------------------


def test_a_purpose_the_client_is_not_registered_for_is_refused(http, settings, node):
    response = ask(http, assertion(node, token_url(settings), **iua("HRESCH")))
    assert "HRESCH" in oauth_error(response, 400, "invalid_grant")
    assert last_alert(settings)["agent"][0]["who"]["display"] == "node-fr"


def test_the_token_carries_the_registered_country_whatever_the_assertion_says(http, settings, node):
    token = granted(http, node, settings, country="DE", client_id="node-de")
    _, claims = segments(token)
    assert claims["country"] == "FR"
    assert claims["client_id"] == claims["sub"] == "node-fr"


def test_scope_escalation_grants_only_what_the_registration_covers(settings):
    reader = ClientKey(client_id="reader", scopes="system/Patient.rs")
    register(settings, reader)
    with TestClient(create_app(settings)) as http:
        url = token_url(settings)
        wide = ask(
            http,
            assertion(reader, url),
            scope="system/Patient.rs system/Bundle.c system/*.cruds patient/*.*",
        )
        assert wide.status_code == 200, wide.text
        assert wide.json()["scope"] == "system/Patient.rs"
        token = wide.json()["access_token"]
        assert segments(token)[1]["scope"] == "system/Patient.rs"
        pushed = http.post(
            "/national/records",
            params={"profile": "be-cancer-registry-csv"},
            content=b"x",
            headers={"Authorization": f"Bearer {token}"},
        )
        outcome(pushed, 403)
        none = ask(http, assertion(reader, url), scope="system/Bundle.c system/*.rs")
        oauth_error(none, 400, "invalid_scope")
        unasked = ask(http, assertion(reader, url))
        assert unasked.json()["scope"] == "system/Patient.rs"


# --- bearer tokens at the resource server -----------------------------------------------------


@pytest.fixture
def keyed(settings: Settings, tmp_path: Path) -> Settings:
    """A gateway with its own keys (and a FR gateway's beside them, under the same CA)."""
    pki = tmp_path / "pki"
    init_pki(pki, ["DE", "FR"])
    return settings.model_copy(update={"pki_dir": pki})


def gateway_key(settings: Settings, country: str = "DE") -> tuple[ECKey, str]:
    identity = load_signing_identity(settings.pki_dir, country)
    return ECKey.import_key(identity.private_key), identity.kid


def access_claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = settings.public_base_url
    body: dict[str, Any] = {
        "sub": "node-fr",
        "client_id": "node-fr",
        "scope": ALL_SCOPES,
        "country": "FR",
        "extensions": iua("TREAT")["extensions"],
        "iss": base,
        "aud": base,
        "iat": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "jti": uuid.uuid4().hex,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def minted(
    settings: Settings,
    header: dict[str, Any] | None = None,
    *,
    gateway: str = "DE",
    kid: str | None = None,
    **changes: Any,
) -> str:
    """An access token signed with a gateway's real key: the refusal is the rule's."""
    key, own_kid = gateway_key(settings, gateway)
    head = {"alg": "ES384", "typ": "at+jwt", "kid": kid or own_kid, **(header or {})}
    head = {name: value for name, value in head.items() if value is not None}
    return forge(head, access_claims(settings, **changes), key, "ES384")


Mint = Callable[[Settings, str], str]
BEARER_REFUSED: dict[str, tuple[Mint, str]] = {
    "typ-missing": (lambda s, t: minted(s, {"typ": None}), "not an access token"),
    "typ-JWT": (lambda s, t: minted(s, {"typ": "JWT"}), "not an access token"),
    "typ-id_token": (lambda s, t: minted(s, {"typ": "id_token"}), "not an access token"),
    "other-gateway": (lambda s, t: minted(s, gateway="FR"), "current key"),
    "other-gateway-claiming-our-kid": (
        lambda s, t: minted(s, gateway="FR", kid=gateway_key(s)[1]),
        "does not verify",
    ),
    "expired": (
        lambda s, t: minted(s, iat=_now() - 400, exp=_now() - 100),
        "expired",
    ),
    "lifetime-too-long": (lambda s, t: minted(s, exp=_now() + 3600), "lifetime"),
    "aud-other-node": (
        lambda s, t: minted(s, aud="https://fr.gateway.example"),
        "another server",
    ),
    "aud-array-with-us": (
        lambda s, t: minted(s, aud=[s.public_base_url, "https://fr.gateway.example"]),
        "another server",
    ),
    "iss-other-node": (lambda s, t: minted(s, iss="https://fr.gateway.example"), "another server"),
    "no-purpose": (lambda s, t: minted(s, extensions=None), "purpose or country"),
    "no-country": (lambda s, t: minted(s, country=None), "purpose or country"),
    "alg-none": (
        lambda s, t: forge({"alg": "none", "typ": "at+jwt"}, access_claims(s), None, ""),
        "url-safe base64",
    ),
    "alg-none-with-signature": (
        lambda s, t: resign(t, gateway_key(s)[0], "ES384", alg="none"),
        "must be signed with ES384",
    ),
    "jwk-header": (
        lambda s, t: resign(t, gateway_key(s)[0], "ES384", jwk={"kty": "EC"}),
        "jwk",
    ),
    "tampered-scope": (
        lambda s, t: ".".join(
            (
                t.split(".")[0],
                part({**segments(t)[1], "scope": "system/*.cruds"}),
                t.split(".")[2],
            )
        ),
        "does not verify",
    ),
    "duplicate-claim": (
        lambda s, t: forge(
            {"alg": "ES384", "typ": "at+jwt", "kid": gateway_key(s)[1]},
            b'{"scope":"system/Bundle.c","scope":"system/*.cruds"}',
            gateway_key(s)[0],
            "ES384",
        ),
        "duplicate JSON key",
    ),
    "oversized": (lambda s, t: minted(s, pad="x" * 9000), "longer than"),
    "two-parts": (lambda s, t: reshape(t, "two-parts"), "three"),
    "four-parts": (lambda s, t: reshape(t, "four-parts"), "three"),
    "padded": (lambda s, t: reshape(t, "padded"), "url-safe"),
    "standard-base64": (lambda s, t: reshape(t, "standard-base64"), "url-safe"),
    "zero-signature": (lambda s, t: reshape(t, "zero-signature"), "does not verify"),
    "short-signature": (lambda s, t: reshape(t, "short-signature"), "does not verify"),
}


@pytest.mark.parametrize("case", BEARER_REFUSED)
def test_a_bad_bearer_token_is_401_invalid_token_and_a_security_alert(keyed, case):
    node = ClientKey(client_id="node-fr", country="FR")
    register(keyed, node)
    with TestClient(create_app(keyed)) as http:
        real = granted(http, node, keyed)
        ok = http.get(SEARCH[0], params=SEARCH[1], headers={"Authorization": f"Bearer {real}"})
        assert ok.status_code == 200
        build, says = BEARER_REFUSED[case]
        token = build(keyed, real)
        response = http.get(
            SEARCH[0], params=SEARCH[1], headers={"Authorization": f"Bearer {token}"}
        )
    body = outcome(response, 401)
    assert says in body["issue"][0]["diagnostics"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="gateway", error="invalid_token"')
    alert = last_alert(keyed)
    assert alert["outcomeDesc"].startswith("access token refused: ")
    assert says in alert["outcomeDesc"]


def test_a_minted_token_with_every_claim_right_is_accepted(keyed):
    """The forging helper is honest: what the cases above change is all that is wrong."""
    with TestClient(create_app(keyed)) as http:
        token = minted(keyed)
        ok = http.get(SEARCH[0], params=SEARCH[1], headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200, ok.text


def test_the_client_assertion_itself_is_no_bearer_token(http, settings, node):
    own = assertion(node, token_url(settings))
    response = http.get(SEARCH[0], params=SEARCH[1], headers={"Authorization": f"Bearer {own}"})
    assert "not an access token" in outcome(response, 401)["issue"][0]["diagnostics"]


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer ", "Basic bm9kZTpzZWNyZXQ=", "Token abc"]
)
def test_no_bearer_token_is_401_with_a_challenge(http, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = http.get(SEARCH[0], params=SEARCH[1], headers=headers)
    outcome(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="gateway"'


def test_a_valid_token_lacking_the_scope_is_403_insufficient_scope(settings):
    pusher = ClientKey(client_id="pusher", scopes="system/Bundle.c")
    register(settings, pusher)
    with TestClient(create_app(settings)) as http:
        token = granted(http, pusher, settings)
        headers = {"Authorization": f"Bearer {token}"}
        response = http.get(SEARCH[0], params=SEARCH[1], headers=headers)
        outcome(response, 403)
        assert response.headers["www-authenticate"] == (
            'Bearer realm="gateway", error="insufficient_scope", scope="system/Patient.s"'
        )
        read = http.get("/fhir/Patient/anything/$summary", headers=headers)
        outcome(read, 403)
        assert 'scope="system/Patient.r"' in read.headers["www-authenticate"]
    alert = last_alert(settings)
    assert alert["outcomeDesc"] == "insufficient scope: needs system/Patient.r"
    assert alert["agent"][0]["who"]["display"] == "pusher"


def test_introspection_needs_a_token_and_shows_only_this_gateways_active_tokens(keyed):
    node = ClientKey(client_id="node-fr", country="FR")
    register(keyed, node)
    with TestClient(create_app(keyed)) as http:
        token = granted(http, node, keyed)
        form = {"token": token}
        outcome_401 = http.post("/oauth/introspect", data=form)
        assert outcome_401.status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        active = http.post("/oauth/introspect", data=form, headers=headers).json()
        assert active["active"] is True
        assert active["client_id"] == "node-fr"
        for other in (minted(keyed, gateway="FR"), minted(keyed, {"typ": "JWT"}), "x.y.z"):
            answer = http.post("/oauth/introspect", data={"token": other}, headers=headers)
            assert answer.json() == {"active": False}


def test_the_alerts_of_a_barrage_keep_the_audit_chain_whole(http, settings, node):
    """Refusals in quick succession are each an alert, chained like every other record:
    ``gateway audit verify`` holds, and no alert lands in a patient's access log."""
    url = token_url(settings)
    for build, _, _ in list(REFUSED.values())[:12]:
        assert ask(http, build(node, url)).status_code in (400, 401)
    result = audit_verify(settings.database_url)
    assert result.returncode == 0, result.stderr
    alerts = security_alerts(settings)
    assert len(alerts) == 12
    assert result.stdout.strip() == "audit chain: 12 records hold"
    assert all("entity" not in alert for alert in alerts)
