"""One member state's gateway in the sandbox: its folder, its configuration, the ``gateway``
commands that set it up, and its server process.

Each gateway is configured only through ``GATEWAY_*`` variables (README "Configuration"), the
same ones an operator sets; the sandbox writes them to ``<workdir>/<CC>/gateway.env`` too, so
that anyone can run ``gateway`` commands against that member state by hand. Every command runs
in the member state's own folder with the caller's ``GATEWAY_*`` variables removed: a ``.env``
file or a variable left in the shell cannot change the walkthrough.
"""

from __future__ import annotations

import base64
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from sandbox.layout import HOST, base_url

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 60
# Seconds a whole call from one gateway to another may take (GATEWAY_PEER_TIMEOUT): the Beacon
# network answers within it even when a member state is down.
PEER_TIMEOUT = 5
# What a national node may do at its own gateway (the same scopes as `make run`'s demo-node).
NODE_SCOPES = "system/Patient.rs system/DiagnosticReport.rs system/Observation.rs system/Bundle.c"


class SetupFailed(Exception):
    """The sandbox could not be set up or started; the message says what and where."""


class MemberState:
    """The gateway of ``country``, public at ``https://<host>:<port>``, with its files in
    ``<workdir>/<country>`` and the federation's keys in ``<workdir>/pki``. ``prefix`` runs its
    server somewhere else than here: ``ip netns exec NAME`` puts it on a host of its own (the
    multi-host test); the ``gateway`` commands that set it up only touch its files."""

    def __init__(
        self,
        country: str,
        port: int,
        workdir: Path,
        host: str = HOST,
        prefix: Sequence[str] = (),
    ) -> None:
        self.country = country
        self.port = port
        self.host = host
        self.prefix = tuple(prefix)
        self.base_url = base_url(port, host)
        self.folder = workdir / country
        self.pki = workdir / "pki"
        self.ca = self.pki / "ca.pem"
        self.node = f"node-{country.lower()}"
        self.node_key = self.folder / "keys" / f"{self.node}.key"
        # The consent portal's webhook secret, new for every run (Standard Webhooks format).
        self.webhook_secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        self._process: subprocess.Popen[bytes] | None = None
        self._listening = port

    def environment(self) -> dict[str, str]:
        return {
            "GATEWAY_COUNTRY": self.country,
            "GATEWAY_HOST": self.host,
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_BASE_URL": self.base_url,
            "GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{self.folder / 'gateway.db'}",
            "GATEWAY_PKI_DIR": str(self.pki),
            "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
            "GATEWAY_TRUST_LIST": str(self.folder / "trust-list.yaml"),
            "GATEWAY_WEBHOOK_SECRETS": self.webhook_secret,
            "GATEWAY_PEER_TIMEOUT": str(PEER_TIMEOUT),
            "GATEWAY_LOG_LEVEL": "WARNING",
        }

    def write_environment(self) -> Path:
        """``gateway.env``: source it (``set -a; . FILE; set +a``) to act as this state."""
        path = self.folder / "gateway.env"
        path.touch(mode=0o600)  # it holds the webhook secret
        path.write_text("".join(f"{k}={v}\n" for k, v in self.environment().items()))
        return path

    def gateway(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        """Run ``gateway ARGS`` as this member state; whatever its exit code."""
        return subprocess.run(
            [sys.executable, "-m", "gateway", *map(str, args)],
            cwd=self.folder,
            env=self._process_environment(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def must(self, *args: str | Path) -> str:
        """Run ``gateway ARGS`` as this member state and return its output; raise on failure."""
        done = self.gateway(*args)
        if done.returncode != 0:
            said = done.stderr.strip().splitlines()[-1:] or ["(nothing on stderr)"]
            what = " ".join(map(str, args[:2]))
            raise SetupFailed(f"{self.country}: gateway {what}: {said[0]}")
        return done.stdout

    def start(self, port: int | None = None) -> None:
        """Serve HTTPS and wait until it answers (see :meth:`launch`)."""
        self.launch(port)
        self.wait_until_up()

    def launch(self, port: int | None = None) -> None:
        """Serve HTTPS in the background, on ``port`` instead of its own when given (its public
        URL stays the same: something else then stands at that address). Its log goes to
        ``gateway.log``."""
        listen = self.port if port is None else port
        self._listening = listen
        log = (self.folder / "gateway.log").open("ab")
        self._process = subprocess.Popen(
            [
                *self.prefix,
                sys.executable,
                "-m",
                "gateway",
                "serve",
                "--tls",
                "--port",
                str(listen),
            ],
            cwd=self.folder,
            env=self._process_environment(),
            stdout=log,
            stderr=log,
        )
        log.close()  # the child holds its own copy

    def terminate(self) -> None:
        """Tell the server to stop, as an operator would (SIGTERM); :meth:`stop` waits."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait for it; SIGKILL if it lingers."""
        if self._process is None:
            return
        self.terminate()
        process, self._process = self._process, None
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """End the server at once (SIGKILL): no goodbye to anyone, as in a crash."""
        if self._process is None:
            return
        process, self._process = self._process, None
        process.send_signal(signal.SIGKILL)
        process.wait()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _process_environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        return {**inherited, **self.environment()}

    def wait_until_up(self) -> None:
        port = self._listening
        context = ssl.create_default_context(cafile=self.ca)
        deadline = time.monotonic() + STARTUP_SECONDS
        with httpx.Client(verify=context, timeout=2) as client:
            while time.monotonic() < deadline:
                if self._process is None or self._process.poll() is not None:
                    raise SetupFailed(f"{self.country}: gateway serve stopped: {self._last_log()}")
                try:
                    if client.get(f"{base_url(port, self.host)}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise SetupFailed(f"{self.country}: no answer on port {port} in {STARTUP_SECONDS} s")

    def _last_log(self) -> str:
        lines = (self.folder / "gateway.log").read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(its log is empty)"
