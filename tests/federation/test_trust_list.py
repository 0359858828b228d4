"""The trust list file: peers read with their CA and keys, and every malformed file refused
with one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gateway.auth.keys import public_jwks
from gateway.auth.pki import init_pki
from gateway.errors import BadRequest
from gateway.federation.trust_list import PEER_SCOPES, load_trust_list


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    init_pki(folder, ["DE", "FR", "IT"])
    return folder


def write(folder: Path, content: object, name: str = "trust-list.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(content) if name.endswith(".yaml") else json.dumps(content))
    return path


def peer(pki: Path, cc: str, **changes: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "country": cc,
        "base_url": f"https://{cc.lower()}.gateway.test:8443/",
        "ca_cert": str(pki / "ca.pem"),
        "jwks": public_jwks(pki, cc),
    }
    entry.update(changes)
    return entry


def test_peers_are_read_with_their_ca_and_keys_and_become_oauth_clients(pki, tmp_path):
    (tmp_path / "fr.jwks.json").write_text(json.dumps(public_jwks(pki, "FR")))
    listed = [peer(pki, "IT"), peer(pki, "FR", jwks="fr.jwks.json")]
    trust = load_trust_list(write(tmp_path, {"peers": listed}), "DE")
    assert [p.country for p in trust] == ["IT", "FR"]
    italy = trust.peer("IT")
    assert italy is not None
    assert italy.base_url == "https://it.gateway.test:8443"  # no trailing slash
    assert italy.anchors[0].subject == italy.anchors[0].issuer  # the federation CA
    client = trust.client("eu.ehds.gateway.fr")
    assert client is not None
    assert (client.country, client.algorithm, client.scopes) == ("FR", "ES384", PEER_SCOPES)
    assert client.jwks == public_jwks(pki, "FR")
    assert trust.is_peer("eu.ehds.gateway.it")
    assert not trust.is_peer("eu.ehds.gateway.de")
    assert trust.peer("NL") is None


def test_a_plain_json_list_is_a_trust_list_too(pki, tmp_path):
    trust = load_trust_list(write(tmp_path, [peer(pki, "FR")], "trust.json"), "DE")
    assert len(trust) == 1


def test_no_trust_list_configured_means_no_peers():
    assert len(load_trust_list(None, "DE")) == 0


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ({"peers": "FR"}, "expected a list of peers"),
        ([{"country": "FR"}], "peer 0.base_url: Field required"),
        ([{"country": "FR", "base_url": "https://x", "ca_cert": 7, "jwks": {}}], "0.ca_cert"),
        ("IT", "expected a list of peers"),
    ],
)
def test_a_malformed_file_is_refused_with_one_line(tmp_path, content, says):
    with pytest.raises(BadRequest, match=says):
        load_trust_list(write(tmp_path, content), "DE")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"base_url": "http://fr.gateway.test"}, "must be an https:// URL"),
        ({"base_url": "https://fr.gateway.test/?x=1"}, "must be an https:// URL"),
        ({"country": "fr"}, "peer 0.country"),
        ({"ca_cert": "missing.pem"}, "FR ca_cert .*missing.pem"),
        ({"jwks": {"keys": []}}, "FR jwks must be a JWK set"),
        ({"jwks": "absent.json"}, "FR jwks absent.json"),
        ({"unexpected": 1}, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_peer_entry_is_refused_and_named(pki, tmp_path, changes, says):
    with pytest.raises(BadRequest, match=says):
        load_trust_list(write(tmp_path, [peer(pki, "FR", **changes)]), "DE")


def test_a_ca_file_that_is_no_certificate_is_refused(pki, tmp_path):
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(BadRequest, match="not a PEM certificate"):
        load_trust_list(write(tmp_path, [peer(pki, "FR", ca_cert="junk.pem")]), "DE")


def test_its_own_country_or_a_country_twice_is_refused(pki, tmp_path):
    with pytest.raises(BadRequest, match="own country DE"):
        load_trust_list(write(tmp_path, [peer(pki, "DE")]), "DE")
    with pytest.raises(BadRequest, match="lists FR more than once"):
        load_trust_list(write(tmp_path, [peer(pki, "FR"), peer(pki, "FR")]), "DE")


def test_a_missing_or_unparsable_file_is_refused(tmp_path):
    with pytest.raises(BadRequest, match="cannot read it"):
        load_trust_list(tmp_path / "nowhere.yaml", "DE")
    (tmp_path / "broken.yaml").write_text("peers: [unclosed")
    with pytest.raises(BadRequest, match="not YAML or JSON"):
        load_trust_list(tmp_path / "broken.yaml", "DE")
