"""A real nginx (non-root, in the foreground) serving ``deploy/nginx/gateway.conf.template``.

The template is what operators install; this module renders it and wraps it in the smallest
main configuration that runs without root: pid, logs and temporary files under one folder.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "nginx" / "gateway.conf.template"
STARTUP_SECONDS = 20
_PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


def require_nginx() -> str:
    """The nginx binary; skip when it is absent outside CI, fail in CI (``.ci/run`` installs
    it)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI needs nginx: .ci/run installs it with apt-get")
    pytest.skip("nginx is not installed (apt-get install nginx); CI installs it")


def render(template: str, values: Mapping[str, str]) -> str:
    """``${NAME}`` placeholders replaced, as ``envsubst`` does for the names it is given;
    a placeholder without a value is an error, never left for nginx to misread."""
    missing = sorted(set(_PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError(f"no value for {', '.join(missing)}")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def main_config(prefix: Path, site: Path) -> str:
    # As root the master would hand the workers to "nobody", who cannot open the test's
    # folders or the gateway's 0660 socket; they stay with the user running the tests.
    user = ""
    if os.geteuid() == 0:
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    temporary = "\n".join(
        f"    {kind}_temp_path {prefix / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    access_log {prefix / "access.log"};
{temporary}
    include {site};
}}
"""


@contextmanager
def nginx_process(prefix: Path, values: Mapping[str, str], port: int) -> Iterator[Path]:
    """nginx with the rendered template (``values`` fill its placeholders; it must listen on
    ``port``) until the block ends; yields its folder (``error.log``, ``access.log``)."""
    binary = require_nginx()
    prefix.mkdir(parents=True, exist_ok=True)
    site = prefix / "gateway.conf"
    site.write_text(render(TEMPLATE.read_text(), values))
    config = prefix / "nginx.conf"
    config.write_text(main_config(prefix, site))
    command = [binary, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(config)]
    process = subprocess.Popen(
        [*command, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_listening(process, port, prefix)
        yield prefix
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_listening(process: subprocess.Popen[str], port: int, prefix: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = process.stderr.read() if process.stderr else ""
            log = prefix / "error.log"
            said += log.read_text() if log.exists() else ""
            raise AssertionError(f"nginx exited with {process.returncode}: {said}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nginx did not listen on {port} within {STARTUP_SECONDS} s")
