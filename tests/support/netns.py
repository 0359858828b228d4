"""Hosts of their own for the multi-host federation test: one Linux network namespace per
member state, each joined by a veth pair to a bridge in the test's own namespace.

Each namespace has its own loopback, its own address on the bridge's subnet and nothing
else: a gateway there reaches its peers only over the bridge, by their addresses, as separate
hosts would. Creating namespaces needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); everything is
removed when the block ends, also on failure. Names carry the test process's id, so two runs
on one machine do not collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

SUBNET = "10.77.{}"  # a /24 per test process, under 10.77/16


@dataclass(frozen=True, slots=True)
class Host:
    name: str  # the namespace
    address: str

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside this host's namespace."""
        return ["ip", "netns", "exec", self.name, *argv]


def require_namespaces() -> None:
    """Skip (with the reason) where namespaces cannot be made; under CI=true, fail instead."""
    reason = _why_not()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the multi-host test: {reason}")
    pytest.skip(reason)


@contextmanager
def hosts(labels: Sequence[str]) -> Iterator[dict[str, Host]]:
    """A namespace per label (``DE`` ...), on one bridge; yields label -> Host."""
    tag = os.getpid() % 10_000
    subnet = SUBNET.format(tag % 250 + 1)
    bridge = f"gwbr{tag}"
    made: list[str] = []
    try:
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        found: dict[str, Host] = {}
        for number, label in enumerate(labels, start=11):
            host = Host(f"gw{tag}{label.lower()}", f"{subnet}.{number}")
            _ip("netns", "add", host.name)
            made.append(host.name)
            outside, inside = f"gw{tag}h{number}", f"gw{tag}n{number}"
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", host.name)
            _ip("-n", host.name, "addr", "add", f"{host.address}/24", "dev", inside)
            _ip("-n", host.name, "link", "set", inside, "up")
            _ip("-n", host.name, "link", "set", "lo", "up")
            _ip("link", "set", outside, "master", bridge)
            _ip("link", "set", outside, "up")
            found[label] = host
        yield found
    finally:
        for name in made:  # the veth pairs go with their namespace
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
        subprocess.run(["ip", "link", "del", bridge], check=False, capture_output=True)


def _ip(*argv: str) -> None:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(argv)}: {done.stderr.strip()}")


def _why_not() -> str | None:
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    probe = f"gwprobe{os.getpid() % 10_000}"
    done = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None
