"""``gateway clients add|list|remove`` and ``gateway token`` as an operator runs them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.auth.client_keys import load_client_key, sign_assertion
from tests.cli.test_ingest_command import gateway, one_clear_line

SCOPES = "system/Patient.rs system/Bundle.c"


def rows(database_url: str) -> dict[str, list[str]]:
    listed = gateway(database_url, "clients", "list")
    assert listed.returncode == 0, listed.stderr
    return {line.split("\t")[0]: line.split("\t")[1:] for line in listed.stdout.splitlines()[1:]}


def test_a_client_is_added_with_a_new_key_listed_and_removed(database_url: str, tmp_path: Path):
    keys = tmp_path / "clients"
    added = gateway(
        database_url, "clients", "add", "node-fr", "--generate-key", keys, "--scopes", SCOPES,
        "--country", "FR",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    private = keys / "node-fr.key"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    public = json.loads((keys / "node-fr.jwks.json").read_text())
    assert "d" not in public["keys"][0]  # only the public half is published
    assert rows(database_url) == {"node-fr": ["FR", "ES384", "TREAT ETREAT", SCOPES]}

    # The key file signs assertions the registered JWKS verifies.
    key, kid, algorithm = load_client_key(private)
    assertion = sign_assertion(key, kid, algorithm, "node-fr", "https://gw.example/oauth/token")
    registered = ECKey.import_key(public["keys"][0])
    assert jwt.decode(assertion, registered, algorithms=["ES384"]).claims["iss"] == "node-fr"

    assert gateway(database_url, "clients", "remove", "node-fr").returncode == 0
    assert rows(database_url) == {}
    gone = gateway(database_url, "clients", "remove", "node-fr")
    assert "no client node-fr is registered" in one_clear_line(gone)


def test_a_kept_key_is_registered_again_after_a_database_reset(database_url: str, tmp_path: Path):
    keys = tmp_path / "clients"
    first = gateway(database_url, "clients", "add", "n", "--generate-key", keys, "--scopes", SCOPES)
    assert first.returncode == 0, first.stderr
    before = (keys / "n.key").read_bytes()
    assert gateway(database_url, "clients", "remove", "n").returncode == 0
    again = gateway(database_url, "clients", "add", "n", "--generate-key", keys, "--scopes", SCOPES)
    assert again.returncode == 0, again.stderr
    assert (keys / "n.key").read_bytes() == before


def test_registration_refuses_bad_input_with_one_line(database_url: str, tmp_path: Path):
    keys = tmp_path / "clients"
    ok = gateway(database_url, "clients", "add", "n", "--generate-key", keys, "--scopes", SCOPES)
    assert ok.returncode == 0, ok.stderr
    jwks = keys / "n.jwks.json"
    taken = gateway(database_url, "clients", "add", "n", "--jwks", jwks, "--scopes", SCOPES)
    assert "registered already" in one_clear_line(taken)
    bad_scope = gateway(database_url, "clients", "add", "m", "--jwks", jwks, "--scopes", "all")
    assert "SMART v2 scopes" in one_clear_line(bad_scope)
    wrong_alg = gateway(
        database_url, "clients", "add", "m", "--jwks", jwks, "--scopes", SCOPES, "--alg", "RS384"
    )
    assert "no key in the JWKS can verify RS384" in one_clear_line(wrong_alg)
    private = json.loads((keys / "n.key").read_text())
    leaked = tmp_path / "leaked.json"
    leaked.write_text(json.dumps({"keys": [private]}))
    refused = gateway(database_url, "clients", "add", "m", "--jwks", leaked, "--scopes", SCOPES)
    assert "public keys only" in one_clear_line(refused)
    purpose = gateway(
        database_url, "clients", "add", "m", "--jwks", jwks, "--scopes", SCOPES,
        "--purposes", "MARKETING",
    )  # fmt: skip
    assert "purposes must be among" in one_clear_line(purpose)
    bad_id = gateway(database_url, "clients", "add", "bad id!", "--jwks", jwks, "--scopes", SCOPES)
    assert "a client id is" in one_clear_line(bad_id)
    assert list(rows(database_url)) == ["n"]


def test_token_says_in_one_line_when_the_gateway_is_not_there(database_url: str, tmp_path: Path):
    keys = tmp_path / "clients"
    gateway(database_url, "clients", "add", "n", "--generate-key", keys, "--scopes", SCOPES)
    missing = gateway(
        database_url, "token", "--client", "n", "--key", keys / "n.key",
        "--url", "http://127.0.0.1:9/oauth/token",
    )  # fmt: skip
    assert "cannot reach http://127.0.0.1:9/oauth/token" in one_clear_line(missing)
    not_a_key = tmp_path / "nothing.key"
    not_a_key.write_text("hello")
    unreadable = gateway(database_url, "token", "--client", "n", "--key", not_a_key)
    assert "not a private EC or RSA key" in one_clear_line(unreadable)
