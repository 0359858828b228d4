"""``make federation``: three member states' gateways on this machine, and a walkthrough, step
by step, of what the federation promises.

    python -m sandbox.federation [--keep-running] [--workdir DIR] [--port CC=PORT ...]

Set-up: one development CA for the federation, and for each of DE, FR and IT its own database,
keys, trust list (naming the other two), the synthetic Beacon cohort and a national node; IT
also holds the patient summary of an Italian citizen. Then the three gateways serve HTTPS on
127.0.0.1 (``sandbox/layout.py``), and the walkthrough runs:

1. FR's node asks FR for the Italian citizen's summary; FR fetches it from IT over mutual TLS;
   the signature is checked here, independently.
2. IT's consent portal sends ``consent.revoked``; FR's next request is refused.
3. A proxy holding IT's TLS key edits the summary on its way; FR refuses the document.
4. IT is killed; DE's Beacon network still answers in time, from DE and FR, naming IT missing.

Exit 0 when every step behaved as narrated; 1 naming the step that did not, or what could not be
set up. Every process it started is stopped in any case. The workdir (``var/federation``) is
the sandbox's own: the next run wipes it and starts clean; any other folder is never removed.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import signal
import socket
import ssl
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from sandbox.gateways import NODE_SCOPES, PEER_TIMEOUT, MemberState, SetupFailed
from sandbox.layout import HOST, PORTS, base_url
from sandbox.tamper import SUMMARY_PATH, TamperingProxy

WORKDIR = Path("var/federation")
MARKER = ".sandbox-federation"  # says a folder is the sandbox's own, to wipe on the next run
ITALIAN_RECORD = Path(__file__).resolve().parent / "data" / "it-citizen.xml"
CITIZEN = "GIULIA BIANCHI"  # synthetic: an invented person with a made-up codice fiscale
IDENTIFIER = "http://hl7.it/sid/codiceFiscale|BNCGLI85M41F205B"
BEACON_QUERY = {"geneId": "BRCA2"}


class StepFailed(Exception):
    """A step did not behave as narrated; the message says what came instead."""


@dataclass
class Federation:
    members: Mapping[str, MemberState]
    workdir: Path
    http: httpx.Client  # trusts the federation's CA; presents no client certificate
    tokens: dict[str, str] = field(default_factory=dict)

    def node_token(self, member: MemberState) -> str:
        """An access token for ``member``'s national node, as an operator gets one."""
        if member.country not in self.tokens:
            issued = member.gateway(
                "token", "--client", member.node, "--key", member.node_key, "--ca", member.ca
            )
            expect(issued.returncode == 0, f"gateway token: {issued.stderr.strip()}")
            self.tokens[member.country] = issued.stdout.strip()
        return self.tokens[member.country]

    def ask_summary(self, member: MemberState) -> httpx.Response:
        """``member``'s node asks its own gateway for the Italian citizen's summary."""
        return self.http.get(
            f"{member.base_url}{SUMMARY_PATH}",
            params={"identifier": IDENTIFIER},
            headers={"Authorization": f"Bearer {self.node_token(member)}"},
        )

    def portal(self, member: MemberState, kind: str) -> None:
        """``member``'s consent portal records the citizen's decision ``kind`` and tells the
        gateway in a signed webhook (Standard Webhooks: an HMAC over id, time and body)."""
        system, value = IDENTIFIER.split("|")
        moment = datetime.now(UTC)
        event = {
            "type": kind,
            "timestamp": moment.isoformat(),
            "data": {"citizen": {"system": system, "value": value}},
        }
        body = json.dumps(event).encode()
        webhook_id = f"msg_{kind}_{int(moment.timestamp() * 1000)}"
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": Webhook(member.webhook_secret).sign(
                webhook_id, moment, body.decode()
            ),
            "content-type": "application/json",
        }
        answer = self.http.post(f"{member.base_url}/consent/events", content=body, headers=headers)
        expect(
            answer.status_code == 200 and answer.json() == {"status": "stored"},
            f"{member.country}'s /consent/events answered {answer.status_code}: {answer.text}",
        )


# --- the walkthrough -----------------------------------------------------------------------


def summary_across_the_border(federation: Federation) -> None:
    fr, it = federation.members["FR"], federation.members["IT"]
    say(f"FR's national node gets an access token from FR (gateway token --client {fr.node}),")
    say(f"then asks FR for the patient summary of {CITIZEN}, an Italian citizen:")
    say(f"  GET {fr.base_url}{SUMMARY_PATH}?identifier={IDENTIFIER}")
    say("FR holds nothing about her. The identifier system is Italy's, so FR asks IT's gateway,")
    say("over mutual TLS, with a token IT issued to FR's gateway on behalf of FR's node.")
    answer = federation.ask_summary(fr)
    expect(answer.status_code == 200, f"FR answered {answer.status_code}: {diagnostics(answer)}")
    saved = federation.workdir / "summary-it.json"
    saved.write_bytes(answer.content)
    entries = len(answer.json().get("entry", []))
    shows(f"FR answered 200: IT's signed summary ({entries} entries), saved as {saved}")
    checked = fr.gateway("verify", saved, "--ca", it.ca)
    expect(
        checked.returncode == 0 and "gateway-it" in checked.stdout,
        f"gateway verify: {checked.stdout.strip()} {checked.stderr.strip()}",
    )
    shows(f"signature verified here too (gateway verify): {checked.stdout.strip()}")


def revoked_consent(federation: Federation) -> None:
    fr, it = federation.members["FR"], federation.members["IT"]
    say(f"{CITIZEN} revokes her consent at the Italian consent portal. The portal tells IT's")
    say("gateway with a signed webhook: POST /consent/events, type consent.revoked.")
    federation.portal(it, "consent.revoked")
    shows("IT stored it: consent revoked, in force from the very next request")
    say("FR's node asks FR again, exactly as before.")
    answer = federation.ask_summary(fr)
    expect(
        answer.status_code == 403,
        f"FR answered {answer.status_code} where IT's refusal (403) was due",
    )
    shows(f"access refused: FR answered {answer.status_code} ({diagnostics(answer)})")
    say("IT's consent engine refused, and FR passed the refusal on: a 403 that never says why")
    say("(a revocation, a purpose or country not granted, a default all read the same).")


def tampered_summary(federation: Federation) -> None:
    fr, it = federation.members["FR"], federation.members["IT"]
    say(f"{CITIZEN} changes her mind: the portal sends consent.granted.")
    federation.portal(it, "consent.granted")
    say(f"Now a proxy that holds IT's TLS server key takes IT's address (port {it.port}) and")
    say("IT moves behind it. FR's trust list is unchanged, the TLS handshake succeeds; the")
    say("proxy deletes the allergies from every summary passing through.")
    evidence = federation.workdir / "summary-tampered.json"
    backstage = free_port()
    it.stop()
    it.start(port=backstage)
    try:
        tls = (it.pki / "IT" / "server.pem", it.pki / "IT" / "server.key", it.ca)
        upstream = base_url(backstage, it.host)
        listen = (it.host, it.port)
        with TamperingProxy(listen, upstream, tls, evidence, it.prefix) as proxy:
            answer = federation.ask_summary(fr)
    finally:
        it.stop()
        it.start()  # IT back at its own address, for the next step
    expect(bool(proxy.deleted), f"no summary passed the proxy (FR answered {answer.status_code})")
    shows(f"tampered on the wire: the proxy deleted {', '.join(proxy.deleted)} from her summary")
    expect(
        answer.status_code == 502 and "signature" in diagnostics(answer),
        f"FR answered {answer.status_code} ({diagnostics(answer)}) where 502 was due",
    )
    shows(f"FR refused the document: 502 ({diagnostics(answer)})")
    checked = fr.gateway("verify", evidence, "--ca", it.ca)
    expect(checked.returncode == 1, f"gateway verify accepted the tampered file {evidence}")
    shows(f"gateway verify refuses it too: {checked.stderr.strip()}")


def partial_beacon_network(federation: Federation) -> None:
    de, it = federation.members["DE"], federation.members["IT"]
    say("IT's gateway dies: SIGKILL, no goodbye to anyone.")
    it.kill()
    query = "&".join(f"{k}={v}" for k, v in BEACON_QUERY.items())
    say(
        f"A researcher asks DE's Beacon network (anonymous): GET /beacon-network/g_variants?{query}"
    )
    say(f"DE asks its own store, FR and IT at once, and waits at most {PEER_TIMEOUT} s for each.")
    started = time.monotonic()
    answer = federation.http.get(f"{de.base_url}/beacon-network/g_variants", params=BEACON_QUERY)
    elapsed = time.monotonic() - started
    expect(answer.status_code == 200, f"DE answered {answer.status_code}: {answer.text[:300]}")
    document = answer.json()
    info = document.get("info") or {}
    members = {m.get("country"): m for m in info.get("members", []) if isinstance(m, dict)}
    statuses = {country: member.get("status") for country, member in members.items()}
    expect(elapsed < PEER_TIMEOUT + 2, f"the answer took {elapsed:.1f} s")
    expect(
        statuses == {"DE": "answered", "FR": "answered", "IT": "missing"},
        f"members {statuses} where DE and FR answered and IT missing were due",
    )
    expect(info.get("partial") is True, f"info.partial is {info.get('partial')!r}, not true")
    count = (document.get("responseSummary") or {}).get("numTotalResults")
    shows(f"answered in {elapsed:.1f} s: {count} variants, counted by DE and FR")
    shows(f"partial answer: info names IT as missing ({members['IT'].get('reason', 'no reason')})")


STEPS: Sequence[tuple[str, Callable[[Federation], None]]] = (
    ("FR gets an Italian citizen's summary and verifies IT's signature", summary_across_the_border),
    ("IT's consent portal revokes consent: FR's next request is refused", revoked_consent),
    ("a summary tampered with on the wire is refused by the receiver", tampered_summary),
    ("IT is killed: the Beacon network still answers, with DE and FR", partial_beacon_network),
)


# --- set-up ---------------------------------------------------------------------------------


def set_up(members: Mapping[str, MemberState]) -> None:
    first = next(iter(members.values()))
    countries = ",".join(members)
    say("Setting up, as the operators of the three member states would:")
    for command, what in (
        (f"gateway pki init --countries {countries}", "the federation's CA; TLS and signing keys"),
        ("gateway pki trust-list --peer CC=URL ...", "each trust list names the other two"),
        ("gateway demo", "the synthetic Beacon cohort, in each state"),
        ("gateway clients add node-cc ...", "each state's national node (an OAuth client)"),
        (f"gateway ingest record {ITALIAN_RECORD.name}", f"IT: {CITIZEN}'s patient summary"),
        ("gateway serve --tls", "each gateway, HTTPS on 127.0.0.1"),
    ):
        say(f"  {command:<42} {what}")
    first.folder.mkdir()  # commands run in their member state's folder; this one is DE's
    # A member state on a host of its own is reached at that address: its certificate says so.
    hosts = [f"--host={m.country}={m.host}" for m in members.values() if m.host != HOST]
    first.must("pki", "init", "--countries", countries, *hosts, "--out", first.pki)
    with ThreadPoolExecutor(len(members)) as pool:
        others = {cc: [m for m in members.values() if m.country != cc] for cc in members}
        for done in [pool.submit(_set_up_member, m, others[m.country]) for m in members.values()]:
            done.result()
    for member in members.values():
        member.launch()
    for member in members.values():
        member.wait_until_up()


def _set_up_member(member: MemberState, others: Sequence[MemberState]) -> None:
    member.folder.mkdir(exist_ok=True)
    member.write_environment()
    peers = [part for o in others for part in ("--peer", f"{o.country}={o.base_url}")]
    member.must("pki", "trust-list", *peers, "--out", "trust-list.yaml")
    member.must("demo", "--out", "demo")
    member.must("clients", "add", member.node, "--generate-key", "keys", "--scopes", NODE_SCOPES)
    if member.country == "IT":
        member.must("ingest", "record", ITALIAN_RECORD, "--profile", "it-ehdsi-cda")


def prepare(workdir: Path) -> None:
    """An empty workdir: a new one, or the sandbox's own from an earlier run, wiped."""
    if workdir.exists() and not (workdir / MARKER).exists() and any(workdir.iterdir()):
        raise SetupFailed(f"{workdir} is not empty and not a sandbox workdir: choose another")
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / MARKER).write_text("made by python -m sandbox.federation: the next run wipes it\n")


def keep_running(federation: Federation) -> None:
    de, fr, it = (federation.members[cc] for cc in ("DE", "FR", "IT"))
    it.start()
    ca = fr.ca
    print(
        f"""
The three gateways keep running (Ctrl-C stops them); IT is back. To act as FR:
  set -a; . {fr.folder / "gateway.env"}; set +a
  TOKEN=$(.venv/bin/gateway token --client {fr.node} --key {fr.node_key} --ca {ca})
  curl --cacert {ca} -H "Authorization: Bearer $TOKEN" \\
    '{fr.base_url}{SUMMARY_PATH}?identifier={IDENTIFIER.replace("|", "%7C")}'
  curl --cacert {ca} '{de.base_url}/beacon-network/g_variants?geneId=BRCA2'
Logs: {federation.workdir}/<CC>/gateway.log; IT's webhook secret: {it.folder / "gateway.env"}"""
    )
    try:
        while True:
            time.sleep(3600)
    finally:
        print("\nStopping the three gateways.")


# --- running it -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line as it happens, even in a pipe
    # SIGTERM ends it like Ctrl-C: through the finally below, which stops every gateway.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    workdir = args.workdir.absolute()
    ports = {**PORTS, **dict(args.ports)}
    members = {cc: MemberState(cc, port, workdir) for cc, port in ports.items()}
    try:
        return run(members, workdir, keep=args.keep_running)
    except KeyboardInterrupt:
        return 130
    finally:
        for member in members.values():  # all at once: each may take a few seconds
            member.terminate()
        for member in members.values():
            member.stop()


def run(members: Mapping[str, MemberState], workdir: Path, *, keep: bool) -> int:
    print(
        "Three member states on this machine:",
        "   ".join(f"{m.country} {m.base_url}" for m in members.values()),
    )
    started = time.monotonic()
    try:
        prepare(workdir)
        set_up(members)
    except SetupFailed as exc:
        print(f"make federation: could not set up: {exc}", file=sys.stderr)
        return 1
    shows(f"ready in {time.monotonic() - started:.0f} s; files in {workdir}")
    verify = ssl.create_default_context(cafile=next(iter(members.values())).ca)
    with httpx.Client(
        verify=verify, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
    ) as http:
        federation = Federation(members, workdir, http)
        for number, (title, step) in enumerate(STEPS, start=1):
            print(f"\nStep {number}: {title}")
            try:
                step(federation)
            except (StepFailed, SetupFailed, httpx.HTTPError) as exc:
                print(
                    f"\nmake federation: step {number} ({title}) did not behave as narrated: {exc}",
                    file=sys.stderr,
                )
                return 1
        print("\nEvery step behaved as narrated.")
        if keep:
            keep_running(federation)
    return 0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.federation",
        description="Three member states' gateways (DE, FR, IT) on 127.0.0.1 and a narrated "
        "walkthrough: a signed summary across a border, a revoked consent, a tampered "
        "document, a Beacon network with a member down. Exit 1 names a step that did not "
        "behave as narrated.",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=WORKDIR,
        help=f"where the databases, keys and logs go (default {WORKDIR}); wiped on the next "
        "run if the sandbox made it, refused if it holds anything else",
    )
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="after the walkthrough keep the three gateways running (Ctrl-C stops them)",
    )
    parser.add_argument(
        "--port",
        dest="ports",
        action="append",
        type=_port_pair,
        default=[],
        metavar="CC=PORT",
        help="serve that member state on another port (default "
        + ", ".join(f"{cc}={port}" for cc, port in PORTS.items())
        + ")",
    )
    return parser.parse_args(argv)


def _port_pair(text: str) -> tuple[str, int]:
    country, _, port = text.partition("=")
    if country not in PORTS or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected CC=PORT with CC one of {list(PORTS)}")
    return country, int(port)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def say(text: str) -> None:
    print(f"  {text}")


def shows(text: str) -> None:
    print(f"  => {text}")


def expect(condition: bool, otherwise: str) -> None:
    if not condition:
        raise StepFailed(otherwise)


def diagnostics(answer: httpx.Response) -> str:
    """What an OperationOutcome (or any error) says, in one line."""
    try:
        body: Any = answer.json()
        return str(body["issue"][0].get("diagnostics") or body["issue"][0]["code"])
    except (ValueError, KeyError, IndexError, TypeError):
        return answer.text[:200]


if __name__ == "__main__":
    sys.exit(main())
