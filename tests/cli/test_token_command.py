"""``gateway token`` with a client certificate: what it refuses before any request is sent.
Getting a bound token over mutual TLS is in ``tests/api/test_mtls_nginx.py``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gateway.auth import pki
from tests.cli.test_ingest_command import command, one_clear_line


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki")
    pki.init_pki(out, ["FR", "IT"])
    return out


def token(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # Nothing listens on the URL: every case here must stop before a request is sent.
    base = ["token", "--client", "node-fr", "--key", "node-fr.key", "--url", "https://127.0.0.1:9/"]
    return subprocess.run(
        command(*base, *args),
        env={**os.environ, "GATEWAY_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cert_key_needs_cert(certs: Path) -> None:
    result = token("--cert-key", certs / "FR" / "client.key")
    assert result.returncode == 2
    assert "--cert-key needs --cert" in result.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--cert", "missing.pem", "--cert-key", "missing.key"], "--cert missing.pem"),
        (["--cert", "{FR}/client.pem", "--cert-key", "{IT}/client.key"], "--cert "),
        (["--ca", "{FR}/client.key"], "--ca "),
    ],
    ids=["missing certificate", "key of another certificate", "CA file not a certificate"],
)
def test_unusable_tls_files_are_one_clear_line(certs: Path, args: list[str], said: str) -> None:
    filled = [a.format(FR=certs / "FR", IT=certs / "IT") for a in args]
    line = one_clear_line(token(*filled))
    assert said in line
    assert "cannot" in line or "not a readable" in line
