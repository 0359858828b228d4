"""A real gateway process (``python -m gateway serve``) on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

STARTUP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gateway_process(environment: Mapping[str, str]) -> Iterator[str]:
    """Serve the gateway with ``environment`` (GATEWAY_* settings) and yield its base URL;
    stop it afterwards. Fails with the server's stderr if it does not come up."""
    port = free_port()
    env = {**os.environ, **environment, "GATEWAY_PORT": str(port), "GATEWAY_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(process, base)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_up(process: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read() if process.stderr else ""
            raise AssertionError(f"gateway exited with {process.returncode}: {error}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"gateway did not answer on {base} within {STARTUP_SECONDS} s")


def node_token(environment: Mapping[str, str], base: str, key_folder: Path) -> str:
    """A national node's access token from the running gateway at ``base``, got as an operator
    would: ``gateway clients add --generate-key``, then ``gateway token``."""
    env = {**os.environ, **environment}
    gateway = [sys.executable, "-m", "gateway"]
    scopes = "system/Patient.rs system/Bundle.c system/AuditEvent.rs system/Consent.rs"
    subprocess.run(
        [*gateway, "clients", "add", "node", "--generate-key", str(key_folder), "--scopes", scopes],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    key = str(key_folder / "node.key")
    issued = subprocess.run(
        [*gateway, "token", "--client", "node", "--key", key, "--url", f"{base}/oauth/token"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return issued.stdout.strip()
