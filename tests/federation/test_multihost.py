"""Three member states on three hosts: each gateway in a Linux network namespace of its own,
reaching its peers only over a bridge, at their addresses, with certificates made for those
addresses (``gateway pki init --host CC=ADDRESS``), its own SQLite database and real TLS.
The scenarios are the walkthrough's (``make federation``): FR gets an Italian citizen's summary
and verifies IT's signature; IT's portal revokes and FR's next request is refused; a summary
tampered with on the wire (a proxy in IT's namespace holding IT's TLS key) is refused by FR;
IT is killed and DE's Beacon network still answers in time with DE and FR.

Namespaces need root: the test skips with the reason elsewhere, and fails under ``CI=true``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.federation import run
from sandbox.gateways import MemberState
from tests.sandbox.test_federation_walkthrough import NARRATED
from tests.support.netns import Host, hosts, require_namespaces

PORT = 8443  # every member state on the same port: they are different hosts


@pytest.fixture
def member_hosts() -> Iterator[dict[str, Host]]:
    require_namespaces()
    with hosts(("DE", "FR", "IT")) as found:
        yield found


def test_three_member_states_on_three_hosts_behave_as_narrated(
    member_hosts: dict[str, Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "federation"
    members = {
        country: MemberState(country, PORT, workdir, host.address, host.command())
        for country, host in member_hosts.items()
    }
    try:
        code = run(members, workdir, keep=False)
        said = capsys.readouterr().out
        assert code == 0, said
        positions = [said.find(line) for line in NARRATED]
        assert -1 not in positions, [line for line in NARRATED if line not in said]
        assert positions == sorted(positions)
        # DE and FR still serve, each from inside its own namespace; IT was killed.
        for country in ("DE", "FR"):
            assert _processes_in(member_hosts[country]), f"no process in {country}'s namespace"
        assert not _processes_in(member_hosts["IT"])
        assert "https://127.0.0.1" not in said  # nobody was reached on the loopback
    finally:
        for member in members.values():
            member.stop()
    assert not any(_processes_in(host) for host in member_hosts.values())


def _processes_in(host: Host) -> list[str]:
    listed = subprocess.run(
        ["ip", "netns", "pids", host.name], capture_output=True, text=True, check=False
    )
    return listed.stdout.split()
