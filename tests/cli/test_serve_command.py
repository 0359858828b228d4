"""``gateway serve --uds``: a unix socket only its owner and group can reach, a stale one
replaced, a live one or another file refused; and a bad GATEWAY_TRUSTED_PROXIES stops the
start in one line."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cli.test_ingest_command import command, one_clear_line
from tests.support.server import free_port, gateway_process

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(database_url: str) -> dict[str, str]:
    return {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_BASE_URL": "https://gateway.example.eu",
        "GATEWAY_LOG_LEVEL": "WARNING",
    }


def serve(environment: dict[str, str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("serve", *args),
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_serves_on_a_0660_socket_replacing_a_stale_one(environment, tmp_path) -> None:
    path = tmp_path / "gateway.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as gone:
        gone.bind(str(path))  # a socket file left by a gateway that died
    with gateway_process(environment, uds=path) as base:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        with httpx.Client(transport=httpx.HTTPTransport(uds=str(path))) as client:
            assert client.get(f"{base}/health").status_code == 200


def test_a_socket_another_server_listens_on_is_refused(environment, tmp_path) -> None:
    path = tmp_path / "gateway.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as live:
        live.bind(str(path))
        live.listen()
        line = one_clear_line(serve(environment, "--uds", path))
    assert "another server is listening there" in line


def test_a_path_that_is_not_a_socket_is_left_alone(environment, tmp_path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("keep me")
    assert "is not a socket" in one_clear_line(serve(environment, "--uds", path))
    assert path.read_text() == "keep me"


@pytest.mark.parametrize("where", [["--port", "9000"], ["--host", "127.0.0.1"]])
def test_uds_excludes_host_and_port(environment, tmp_path, where) -> None:
    result = serve(environment, "--uds", tmp_path / "g.sock", *where)
    assert result.returncode == 2
    assert "--uds" in result.stderr


def test_a_bad_trusted_proxy_entry_stops_serve_in_one_line(environment) -> None:
    bad = {**environment, "GATEWAY_TRUSTED_PROXIES": "127.0.0.2 localhost"}
    line = one_clear_line(serve(bad, "--port", str(free_port())))
    assert "GATEWAY_TRUSTED_PROXIES" in line
    assert "'localhost'" in line
