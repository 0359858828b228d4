"""A real gateway process (``python -m gateway serve``) on a free loopback port or a unix
socket."""

from __future__ import annotations

import os
import socket
import ssl
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
def gateway_process(
    environment: Mapping[str, str], uds: Path | None = None, *, tls_ca: Path | None = None
) -> Iterator[str]:
    """Serve the gateway with ``environment`` (GATEWAY_* settings) and yield its base URL;
    stop it afterwards. Fails with the server's stderr if it does not come up. With ``uds``
    it serves on that unix socket (``--uds``): reach it with ``httpx.HTTPTransport(uds=...)``.
    With ``tls_ca`` it serves HTTPS (``--tls``), checked against that CA while it starts."""
    with served_gateway(environment, uds, tls_ca=tls_ca) as (base, _process):
        yield base


@contextmanager
def served_gateway(
    environment: Mapping[str, str], uds: Path | None = None, *, tls_ca: Path | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``gateway_process`` that also yields the process, for tests that signal or inspect it
    (kill -9, its threads and open files)."""
    port = free_port()
    env = {**os.environ, **environment, "GATEWAY_PORT": str(port), "GATEWAY_HOST": "127.0.0.1"}
    where = ["--uds", str(uds)] if uds is not None else []
    if tls_ca is not None:
        where.append("--tls")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", *where],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    scheme = "https" if tls_ca is not None else "http"
    base = f"{scheme}://127.0.0.1:{port}" if uds is None else "http://gateway"
    verify = ssl.create_default_context(cafile=tls_ca) if tls_ca is not None else True
    try:
        _wait_until_up(process, base, uds, verify)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_up(
    process: subprocess.Popen[str], base: str, uds: Path | None, verify: ssl.SSLContext | bool
) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    transport = httpx.HTTPTransport(uds=str(uds)) if uds is not None else None
    with httpx.Client(transport=transport, timeout=1, verify=verify) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                error = process.stderr.read() if process.stderr else ""
                raise AssertionError(f"gateway exited with {process.returncode}: {error}")
            try:
                if _listening(uds) and client.get(f"{base}/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise AssertionError(f"gateway did not answer on {base} within {STARTUP_SECONDS} s")


def _listening(uds: Path | None) -> bool:
    """Whether the unix socket accepts connections yet (httpcore leaves the socket of a
    failed unix connect unclosed, a ResourceWarning, so it is only asked once this holds)."""
    if uds is None:
        return True
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(uds))
        except OSError:
            return False
    return True


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
