"""``gateway verify`` as an operator runs it: a real process, one line out, exit 0/1/2."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from gateway.auth.signing import sign_bundle
from gateway.fhir.ips import build_document
from tests.auth.test_signing import Signer, make_ca, make_signer
from tests.cli.test_ingest_command import command, one_clear_line
from tests.fhir.records import full_record

WHEN = "2026-03-01T12:00:00Z"


def verify(*args: str | Path, pki_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_LOG_LEVEL": "WARNING"}
    if pki_dir is not None:
        env["GATEWAY_PKI_DIR"] = str(pki_dir)
    return subprocess.run(
        command("verify", *args), env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def signer() -> Signer:
    # The command checks certificates at the current time.
    return make_signer(now=dt.datetime.now(dt.UTC))


@pytest.fixture
def ca_pem(tmp_path: Path, signer: Signer) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(signer.ca.public_bytes(Encoding.PEM))
    return path


@pytest.fixture
def signed(tmp_path: Path, signer: Signer) -> Path:
    bundle = build_document(
        full_record(),
        document_id="8a3c1e52-4f0b-4c7e-9d7e-2a8e3f1b6c01",
        timestamp="2026-03-01T11:59:00Z",
        country="DE",
    )
    path = tmp_path / "summary.json"
    document = sign_bundle(bundle, signer.key, signer.chain, "de-sign-1", WHEN)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    return path


def _rewrite(path: Path, change: Any) -> None:
    document = json.loads(path.read_bytes())
    change(document)
    path.write_text(json.dumps(document))


def test_a_valid_document_prints_one_line_and_exits_0(signed, ca_pem):
    result = verify(signed, "--ca", ca_pem)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"valid: signed by DE gateway document signer at {WHEN}\n"
    assert result.stderr == ""


def test_the_ca_defaults_to_the_pki_dir(signed, ca_pem):
    result = verify(signed, pki_dir=ca_pem.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("valid: signed by ")


def test_a_changed_document_is_one_line_without_content_and_exit_1(signed, ca_pem):
    family = full_record().patient.names[0].family
    _rewrite(signed, lambda d: d["entry"][1]["resource"].update(birthDate="1970-01-02"))
    line = one_clear_line(verify(signed, "--ca", ca_pem))
    assert "does not match" in line
    assert "1970" not in line
    assert family is None or family not in line


def test_an_unsigned_document_is_refused(signed, ca_pem):
    _rewrite(signed, lambda d: d.pop("signature"))
    assert "no signature" in one_clear_line(verify(signed, "--ca", ca_pem))


def test_a_foreign_ca_is_refused(signed, tmp_path):
    _, foreign = make_ca("Some other CA", now=dt.datetime.now(dt.UTC))
    other = tmp_path / "other.pem"
    other.write_bytes(foreign.public_bytes(Encoding.PEM))
    assert "trusted CA" in one_clear_line(verify(signed, "--ca", other))


def test_duplicate_keys_are_refused(signed, ca_pem):
    signed.write_bytes(signed.read_bytes().replace(b"{", b'{"id": "x", ', 1))
    assert "duplicate" in one_clear_line(verify(signed, "--ca", ca_pem))


def test_a_missing_file_or_ca_is_one_line(signed, tmp_path, ca_pem):
    assert "ca.pem" in one_clear_line(verify(signed, pki_dir=tmp_path / "nowhere"))
    assert "missing.json" in one_clear_line(verify(tmp_path / "missing.json", "--ca", ca_pem))
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    assert "not a PEM" in one_clear_line(verify(signed, "--ca", not_pem))


def test_help_and_wrong_usage(signed):
    assert verify("--help").returncode == 0
    assert verify().returncode == 2
