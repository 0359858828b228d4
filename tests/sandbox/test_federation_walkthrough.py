"""``python -m sandbox.federation``, the walkthrough ``make federation`` runs, on free ports and
in a temporary workdir: every step behaves as narrated, and no gateway outlives it."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from sandbox.federation import prepare
from tests.support.server import free_port

REPO = Path(__file__).resolve().parents[2]

# What each step must show, in this order.
NARRATED = [
    "Step 1: FR gets an Italian citizen's summary and verifies IT's signature",
    "=> FR answered 200: IT's signed summary",
    "=> signature verified here too (gateway verify): valid: signed by gateway-it document signing",
    "Step 2: IT's consent portal revokes consent: FR's next request is refused",
    "=> IT stored it: consent revoked",
    "=> access refused: FR answered 403 (access to this patient's data is not permitted)",
    "Step 3: a summary tampered with on the wire is refused by the receiver",
    "=> tampered on the wire: the proxy deleted benzylpenicillin from her summary",
    "=> FR refused the document: 502 (IT: the document's signature is refused",
    "=> gateway verify refuses it too: gateway: ",
    "Step 4: IT is killed: the Beacon network still answers, with DE and FR",
    "=> partial answer: info names IT as missing",
    "Every step behaved as narrated.",
]


def sandbox(*args: str | Path) -> subprocess.CompletedProcess[str]:
    # The caller's GATEWAY_* settings (a PostgreSQL test database, say) are not the sandbox's.
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "sandbox.federation", *map(str, args)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_every_step_behaves_as_narrated_and_every_gateway_stops(tmp_path: Path) -> None:
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    layout = dict(zip(("DE", "FR", "IT"), sorted(ports), strict=True))
    workdir = tmp_path / "federation"
    placement = [part for cc, port in layout.items() for part in ("--port", f"{cc}={port}")]
    result = sandbox("--workdir", workdir, *placement)
    assert result.returncode == 0, result.stdout + result.stderr
    positions = [result.stdout.find(line) for line in NARRATED]
    assert -1 not in positions, [line for line in NARRATED if line not in result.stdout]
    assert positions == sorted(positions)
    answered = re.search(
        r"=> answered in ([\d.]+) s: (\d+) variants, counted by DE and FR", result.stdout
    )
    assert answered is not None, result.stdout
    assert float(answered[1]) < 7
    assert int(answered[2]) > 0
    assert not [port for port in layout.values() if listening(port)]
    # What the steps showed stays for the student to look at; the next run may wipe it.
    assert (workdir / "summary-it.json").is_file()
    assert (workdir / "summary-tampered.json").is_file()
    assert (workdir / ".sandbox-federation").is_file()


def test_a_workdir_the_sandbox_did_not_make_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    result = sandbox("--workdir", tmp_path)
    assert result.returncode == 1
    assert "is not empty and not a sandbox workdir" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_its_own_workdir_is_wiped_for_the_next_run(tmp_path: Path) -> None:
    workdir = tmp_path / "federation"
    prepare(workdir)
    (workdir / "DE").mkdir()
    (workdir / "DE" / "gateway.db").write_text("from the last run")
    prepare(workdir)
    assert [p.name for p in workdir.iterdir()] == [".sandbox-federation"]
