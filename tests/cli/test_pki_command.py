"""``gateway pki init`` and ``gateway pki trust-list`` as an operator runs them: exit codes,
one-line errors, what lands where."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from gateway import cli
from gateway.auth import keys
from gateway.federation.trust_list import load_trust_list

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def gateway(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Run:
    """``gateway ARGS...`` in-process with GATEWAY_PKI_DIR in tmp_path: (exit, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)  # no stray .env, and a relative default stays in tmp_path
    monkeypatch.setenv("GATEWAY_PKI_DIR", str(tmp_path / "certs"))
    monkeypatch.setenv("GATEWAY_COUNTRY", "ES")

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(args))
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def one_line_error(code: int, err: str) -> str:
    assert code == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gateway: ")
    assert "Traceback" not in err
    return lines[0]


def test_defaults_cover_the_federation_and_the_configured_country(gateway: Run, tmp_path):
    code, out, err = gateway("pki", "init")
    assert code == 0, err
    certs = tmp_path / "certs"
    rows = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in rows] == ["DE", "FR", "IT", "ES"]
    for country, folder, kid in rows:
        assert Path(folder) == certs / country
        assert keys.load_signing_identity(certs, country).kid == kid
    assert "never commit" in err


def test_countries_hosts_and_out(gateway: Run, tmp_path: Path) -> None:
    out_dir = tmp_path / "elsewhere"
    code, out, err = gateway(
        "pki", "init", "--countries", "de,fr", "--host", "DE=gateway-de",
        "--host", "DE=10.1.2.3", "--out", str(out_dir),
    )  # fmt: skip
    assert code == 0, err
    assert [line.split("\t")[0] for line in out.splitlines()] == ["DE", "FR"]
    assert not (tmp_path / "certs").exists()
    server = x509.load_pem_x509_certificate((out_dir / "DE" / "server.pem").read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "gateway-de" in san.get_values_for_type(x509.DNSName)
    assert "10.1.2.3" in [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]


def test_existing_keys_are_refused_then_forced(gateway: Run, tmp_path: Path) -> None:
    assert gateway("pki", "init", "--countries", "DE")[0] == 0
    key = tmp_path / "certs" / "DE" / "signing.key"
    before = key.read_bytes()
    code, out, err = gateway("pki", "init", "--countries", "DE")
    assert "--force" in one_line_error(code, err)
    assert out == ""
    assert key.read_bytes() == before
    code, out, err = gateway("pki", "init", "--countries", "DE", "--force")
    assert code == 0, err
    assert key.read_bytes() != before


def test_rotate_prints_new_and_previous_kid(gateway: Run, tmp_path: Path) -> None:
    _, out, _ = gateway("pki", "init", "--countries", "DE,FR")
    first = dict(line.split("\t")[::2] for line in out.splitlines())
    code, out, err = gateway("pki", "init", "--rotate", "de")
    assert code == 0, err
    country, kid, previous = out.strip().split("\t")
    assert (country, previous) == ("DE", first["DE"])
    assert kid != previous
    published = [k["kid"] for k in keys.public_jwks(tmp_path / "certs", "DE")["keys"]]
    assert published == [kid, previous]
    assert keys.load_signing_identity(tmp_path / "certs", "FR").kid == first["FR"]


def test_rotate_without_keys_names_the_file(gateway: Run) -> None:
    code, _, err = gateway("pki", "init", "--rotate", "IT")
    assert "ca.pem not found" in one_line_error(code, err)


def test_a_host_for_another_country_is_refused(gateway: Run, tmp_path: Path) -> None:
    code, _, err = gateway("pki", "init", "--countries", "DE", "--host", "FR=gateway-fr")
    assert "FR is not one of the countries" in one_line_error(code, err)
    assert not (tmp_path / "certs").exists()


def test_a_bad_host_name_is_refused(gateway: Run) -> None:
    code, _, err = gateway("pki", "init", "--countries", "DE", "--host", "DE=*.example.org")
    assert "DNS name or an IP address" in one_line_error(code, err)


@pytest.mark.parametrize(
    "args",
    [
        ["--countries", "DEU"],
        ["--countries", ","],
        ["--host", "DE"],
        ["--host", "DE="],
        ["--rotate", "D1"],
        ["--rotate", "DE", "--force"],
        ["--rotate", "DE", "--countries", "DE"],
    ],
)
def test_wrong_usage_exits_2(gateway: Run, tmp_path: Path, args: list[str]) -> None:
    code, out, err = gateway("pki", "init", *args)
    assert code == 2
    assert out == ""
    assert "usage:" in err
    assert not (tmp_path / "certs").exists()


def test_help(gateway: Run) -> None:
    code, out, _ = gateway("pki", "init", "--help")
    assert code == 0
    assert "--rotate" in out
    assert "GATEWAY_PKI_DIR" in out


def test_trust_list_names_each_peer_with_its_keys(gateway: Run, tmp_path: Path) -> None:
    assert gateway("pki", "init", "--countries", "ES,FR,IT")[0] == 0
    out = tmp_path / "config" / "trust-list.yaml"
    out.parent.mkdir()
    code, printed, err = gateway(
        "pki",
        "trust-list",
        "--peer",
        "FR=https://fr.gateway.example:8442/",
        "--peer",
        "it=https://it.gateway.example",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert printed == ""
    written = yaml.safe_load(out.read_text())
    assert [entry["ca_cert"] for entry in written] == ["../certs/ca.pem", "../certs/ca.pem"]
    assert written[1]["jwks"] == keys.public_jwks(tmp_path / "certs", "IT")
    # ES's gateway can start with it: the file reads back as its peers.
    trust = load_trust_list(out, "ES")
    assert [(p.country, p.base_url) for p in trust] == [
        ("FR", "https://fr.gateway.example:8442"),
        ("IT", "https://it.gateway.example"),
    ]
    france = trust.peer("FR")
    assert france is not None
    assert france.jwks == keys.public_jwks(tmp_path / "certs", "FR")


def test_trust_list_on_stdout_finds_the_ca_from_the_current_folder(gateway: Run) -> None:
    assert gateway("pki", "init", "--countries", "ES,DE")[0] == 0
    code, printed, err = gateway("pki", "trust-list", "--peer", "DE=https://de.example")
    assert code == 0, err
    assert [entry["ca_cert"] for entry in yaml.safe_load(printed)] == ["certs/ca.pem"]


@pytest.mark.parametrize(
    ("peers", "reason"),
    [
        (["ES=https://es.example"], "ES is this gateway's own country"),
        (["FR=https://a.example", "FR=https://b.example"], "FR named more than once"),
        (["FR=http://fr.example"], "FR base_url: Value error, must be an https:// URL"),
        (["DE=https://de.example"], "certs/DE/signing.pem not found"),
    ],
)
def test_trust_list_refusals_are_one_line(
    gateway: Run, tmp_path: Path, peers: list[str], reason: str
) -> None:
    assert gateway("pki", "init", "--countries", "ES,FR")[0] == 0
    out = tmp_path / "trust-list.yaml"
    args = [part for peer in peers for part in ("--peer", peer)]
    code, _, err = gateway("pki", "trust-list", *args, "--out", str(out))
    assert reason in one_line_error(code, err)
    assert not out.exists()


@pytest.mark.parametrize("args", [[], ["--peer", "FR"], ["--peer", "FR="], ["--peer", "F=x"]])
def test_trust_list_wrong_usage_exits_2(gateway: Run, args: list[str]) -> None:
    code, out, err = gateway("pki", "trust-list", *args)
    assert code == 2
    assert out == ""
    assert "usage:" in err
