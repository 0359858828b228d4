"""A bounded mixed load on a real ``gateway serve``: does it keep answering, and stay flat?

For each back end the run prepares a fresh store (``gateway pki init``, ``gateway demo``, one
national node registered with ``gateway clients add``, a consent portal webhook secret), starts
``gateway serve`` and drives it with ``--clients`` concurrent clients for ``--duration`` seconds
(the first ``--warmup`` of them not measured). Each client cycles through the mix:

* Beacon: ``GET /beacon/g_variants?geneId=...``, ``GET /beacon/individuals?filters=...`` and
  ``POST /beacon/g_variants`` with a JSON query;
* ``GET /fhir/Patient/$summary?identifier=...`` for the demo citizen, with a bearer token
  that is renewed a minute before it expires (tokens live five minutes);
* ``POST /consent/events``: a signed Standard Webhooks event (a research opt-out or opt-in of a
  synthetic citizen), each with its own ``webhook-id``.

Every answer must be 200; anything else, or a failed connection, is an error. The report gives
requests, throughput, p50/p95/p99 per kind and overall, errors, and the server's resident
memory (``VmRSS``) at the start, after the warm-up and at the end. Afterwards the consent
directives in the store must equal the webhooks the gateway acknowledged as stored, and
``gateway audit verify`` must pass. Exit status 1 when there was an error, a store or audit
mismatch, or memory grew by 10% or more after the warm-up.

    python -m bench.mixed_load [--duration 60] [--warmup 10] [--clients 8]
        [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
from sqlalchemy import func, select
from standardwebhooks import Webhook

from bench import (
    GATEWAY,
    BenchError,
    cache_dir,
    fresh_postgres,
    gateway_env,
    gateway_missing,
    remove_sqlite,
    run,
    sqlite_url,
)
from bench.bench_client import FORM_TYPE, TOKEN_PATH, BenchClient
from bench.load import percentile
from bench.serving import Served, serving
from gateway.demo.identifiers import KVNR_SYSTEM, kvnr_check_digit
from gateway.storage.database import open_database
from gateway.storage.tables import consent_directives

COUNTRY = "DE"
CLIENT_ID = "load-node"
SCOPES = "system/Patient.rs system/DiagnosticReport.rs system/Observation.rs system/Bundle.c"
DATABASE = "bench_load"
MAX_GROWTH = 0.10  # resident memory after the warm-up may grow less than this
TOKEN_MARGIN = 60.0  # seconds before expiry at which the token is renewed
BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
BEACON_GETS = (
    "/beacon/g_variants?geneId=BRCA2",
    "/beacon/g_variants?geneId=TP53&limit=10",
    "/beacon/individuals?filters=ICD10:E11",
    "/beacon/individuals",
)
BEACON_POST = orjson.dumps(
    {"meta": {"apiVersion": "v2.0"}, "query": {"requestParameters": {"geneId": "BRCA1"}}}
)
# One round of the mix per client: Beacon reads dominate, as they would in service.
MIX = ("beacon_get", "summary", "beacon_post", "beacon_get", "webhook", "summary")


@dataclass(frozen=True, slots=True)
class Store:
    """A prepared store: the server's environment and what the clients need."""

    env: dict[str, str]
    database_url: str
    citizen: str  # SYSTEM|VALUE of a citizen with a national record
    client: BenchClient
    webhook_secret: str


@dataclass(slots=True)
class Tally:
    """Latencies (ns, measured window only) and errors of one kind of request."""

    latencies: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""


@dataclass(frozen=True, slots=True)
class KindResult:
    kind: str
    requests: int
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


@dataclass(frozen=True, slots=True)
class Memory:
    start_kib: int
    warm_kib: int
    end_kib: int

    @property
    def growth(self) -> float:
        """Growth after the warm-up, as a fraction of the warm figure."""
        return (self.end_kib - self.warm_kib) / self.warm_kib if self.warm_kib else 0.0


@dataclass(frozen=True, slots=True)
class LoadReport:
    backend: str
    seconds: float
    kinds: list[KindResult]
    overall: KindResult
    memory: Memory
    webhooks_stored: int  # acknowledged with {"status": "stored"}
    directives: int  # consent directives in the store afterwards
    audit_ok: bool
    first_error: str

    @property
    def passed(self) -> bool:
        return (
            self.overall.errors == 0
            and self.webhooks_stored == self.directives
            and self.audit_ok
            and self.memory.growth < MAX_GROWTH
        )


def prepare(folder: Path, database_url: str | None = None) -> Store:
    """A fresh store in ``folder`` (SQLite there unless ``database_url`` is given).

    :raises BenchError: a command failed.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        remove_sqlite(folder / "load.db")
        database_url = sqlite_url(folder / "load.db")
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    env = {
        **gateway_env(database_url),
        "GATEWAY_PKI_DIR": str(folder / "pki"),
        "GATEWAY_COUNTRY": COUNTRY,
        "GATEWAY_WEBHOOK_SECRETS": secret,
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    if not (folder / "pki" / COUNTRY / "signing.pem").exists():
        run([GATEWAY, "pki", "init", "--countries", COUNTRY, "--out", str(folder / "pki")], env=env)
    demo = run([GATEWAY, "demo", "--out", str(folder / "demo")], env=env)
    citizen = next(
        (x.split(": ", 1)[1] for x in demo.splitlines() if x.startswith("example citizen: ")),
        None,
    )
    if citizen is None:
        raise BenchError(f"gateway demo named no example citizen: {demo.strip()[-300:]}")
    keys = folder / "clients"
    shutil.rmtree(keys, ignore_errors=True)  # a key left by an earlier run is not registered
    add = [GATEWAY, "clients", "add", CLIENT_ID, "--generate-key", str(keys), "--scopes", SCOPES]
    run(add, env=env)
    client = BenchClient.load(CLIENT_ID, keys / f"{CLIENT_ID}.key")
    return Store(env, database_url, citizen, client, secret)


class Tokens:
    """The node's access token, renewed (once, by whichever client notices) before expiry."""

    def __init__(self, http: httpx.AsyncClient, client: BenchClient, base: str) -> None:
        self.http, self.client, self.base = http, client, base
        self.token = ""
        self.renew_at = 0.0
        self.lock = asyncio.Lock()

    async def header(self) -> dict[str, str]:
        if time.monotonic() >= self.renew_at:
            async with self.lock:
                if time.monotonic() >= self.renew_at:
                    await self._renew()
        return {"Authorization": f"Bearer {self.token}"}

    async def _renew(self) -> None:
        form = self.client.token_form(self.base)
        answer = await self.http.post(TOKEN_PATH, content=form, headers={"Content-Type": FORM_TYPE})
        if answer.status_code != 200:
            raise BenchError(f"POST {TOKEN_PATH} answered {answer.status_code}")
        issued = answer.json()
        self.token = issued["access_token"]
        self.renew_at = time.monotonic() + float(issued.get("expires_in", 300)) - TOKEN_MARGIN


class Mix:
    """The requests of the mix, each a coroutine answering the response's status."""

    def __init__(self, http: httpx.AsyncClient, store: Store, tokens: Tokens) -> None:
        self.http, self.store, self.tokens = http, store, tokens
        self.webhook = Webhook(store.webhook_secret)
        self.gets = itertools.cycle(BEACON_GETS)
        self.citizens = itertools.count(1)
        self.stored = 0
        identifier = quote(store.citizen, safe="")
        self.summary_path = f"/fhir/Patient/$summary?identifier={identifier}"

    def request(self, kind: str) -> Callable[[], Awaitable[httpx.Response]]:
        return {
            "beacon_get": self.beacon_get,
            "beacon_post": self.beacon_post,
            "summary": self.summary,
            "webhook": self.consent_event,
        }[kind]

    async def beacon_get(self) -> httpx.Response:
        return await self.http.get(next(self.gets))

    async def beacon_post(self) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        return await self.http.post("/beacon/g_variants", content=BEACON_POST, headers=headers)

    async def summary(self) -> httpx.Response:
        return await self.http.get(self.summary_path, headers=await self.tokens.header())

    async def consent_event(self) -> httpx.Response:
        number = next(self.citizens)
        body = self._event(number)
        moment = datetime.now(UTC)
        webhook_id = f"msg_load_{number}_{os.urandom(4).hex()}"
        headers = {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": self.webhook.sign(webhook_id, moment, body.decode()),
            "content-type": "application/json",
        }
        answer = await self.http.post("/consent/events", content=body, headers=headers)
        if answer.status_code == 200 and answer.json().get("status") == "stored":
            self.stored += 1
        return answer

    @staticmethod
    def _event(number: int) -> bytes:
        """A research opt-out or opt-in of a synthetic citizen (none of the demo's)."""
        body = f"L{number % 10**8:08d}"
        kind = "research.opted_out" if number % 2 else "research.opted_in"
        event = {
            "type": kind,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {
                "citizen": {"system": KVNR_SYSTEM, "value": body + kvnr_check_digit(body)},
                "categories": ["research"],
            },
        }
        return orjson.dumps(event)


async def drive(
    served: Served, store: Store, clients: int, duration: float, warmup: float
) -> tuple[dict[str, Tally], float, Memory, int]:
    """Run the clients; answer the tallies, the measured seconds, memory and webhooks stored."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=served.base, limits=limits, timeout=30) as http:
        tokens = Tokens(http, store.client, served.base)
        await tokens.header()  # the first token before the clock starts
        mix = Mix(http, store, tokens)
        tallies = {kind: Tally() for kind in MIX}
        start_kib = rss_kib(served.pid)
        started = time.monotonic()
        measure_from, stop_at = started + warmup, started + warmup + duration
        warm: list[int] = []

        async def memory_at_warmup() -> None:
            await asyncio.sleep(warmup)
            warm.append(rss_kib(served.pid))

        async def client(offset: int) -> None:
            for kind in itertools.islice(itertools.cycle(MIX), offset, None):
                if time.monotonic() >= stop_at:
                    return
                await _one(mix.request(kind), tallies[kind], measure_from, stop_at)

        await asyncio.gather(memory_at_warmup(), *(client(i) for i in range(clients)))
        seconds = time.monotonic() - measure_from
        memory = Memory(start_kib, warm[0], rss_kib(served.pid))
    return tallies, seconds, memory, mix.stored


async def _one(
    request: Callable[[], Awaitable[httpx.Response]],
    tally: Tally,
    measure_from: float,
    stop_at: float,
) -> None:
    """Send one request; every error counts, warm-up included (the goal is none at all)."""
    sent = time.monotonic()
    try:
        answer = await request()
    except (httpx.HTTPError, BenchError) as exc:
        tally.errors += 1
        tally.first_error = tally.first_error or f"{type(exc).__name__}: {exc}"
        await asyncio.sleep(0.05)
        return
    done = time.monotonic()
    if answer.status_code != 200:
        tally.errors += 1
        where = f"{answer.request.method} {answer.request.url.path}"
        tally.first_error = (
            tally.first_error or f"{where}: {answer.status_code} {answer.text[:200]}"
        )
    elif sent >= measure_from and done <= stop_at:
        tally.latencies.append(int((done - sent) * 1e9))


def rss_kib(pid: int) -> int:
    """The process's resident set size in KiB (``VmRSS`` in ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


def summarize(kind: str, tallies: Sequence[Tally], seconds: float) -> KindResult:
    latencies = sorted(x for tally in tallies for x in tally.latencies)
    return KindResult(
        kind=kind,
        requests=len(latencies),
        rate=len(latencies) / seconds if seconds else 0.0,
        p50_ms=percentile(latencies, 0.50) / 1e6,
        p95_ms=percentile(latencies, 0.95) / 1e6,
        p99_ms=percentile(latencies, 0.99) / 1e6,
        errors=sum(tally.errors for tally in tallies),
    )


def run_load(
    backend: str, store: Store, *, clients: int, duration: float, warmup: float
) -> LoadReport:
    """Serve ``store``, drive it, stop the server, then check the store and the audit log.

    :raises BenchError: the server did not start or a check could not run.
    """
    with serving([GATEWAY, "serve"], store.env, "/health") as served:
        tallies, seconds, memory, stored = asyncio.run(
            drive(served, store, clients, duration, warmup)
        )
    kinds = [summarize(kind, [tally], seconds) for kind, tally in tallies.items()]
    audit = run_status([GATEWAY, "audit", "verify"], store.env)
    return LoadReport(
        backend=backend,
        seconds=seconds,
        kinds=kinds,
        overall=summarize("overall", list(tallies.values()), seconds),
        memory=memory,
        webhooks_stored=stored,
        directives=asyncio.run(count_directives(store.database_url)),
        audit_ok=audit == 0,
        first_error=next((t.first_error for t in tallies.values() if t.first_error), ""),
    )


async def count_directives(database_url: str) -> int:
    database = open_database(database_url)
    try:
        async with database.engine.connect() as connection:
            count = await connection.scalar(select(func.count()).select_from(consent_directives))
    finally:
        await database.dispose()
    return int(count or 0)


def run_status(command: Sequence[str], env: dict[str, str]) -> int:
    done = subprocess.run(list(command), env=env, capture_output=True, timeout=600, check=False)
    return done.returncode


def print_report(report: LoadReport) -> None:
    name = BACKEND_NAMES.get(report.backend, report.backend)
    print(f"\n{name}: {report.seconds:.1f} s measured")
    print(f"  {'kind':<12} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'errors':>7}")  # fmt: skip
    for row in [*report.kinds, report.overall]:
        print(
            f"  {row.kind:<12} {row.requests:>9,} {row.rate:>8.1f} {row.p50_ms:>8.1f} "
            f"{row.p95_ms:>8.1f} {row.p99_ms:>8.1f} {row.errors:>7}"
        )
    memory = report.memory
    print(
        f"  server RSS: start {memory.start_kib / 1024:.1f} MiB, after warm-up "
        f"{memory.warm_kib / 1024:.1f} MiB, end {memory.end_kib / 1024:.1f} MiB "
        f"(growth after warm-up {memory.growth:+.1%}, goal < {MAX_GROWTH:.0%})"
    )
    print(
        f"  webhooks acknowledged as stored {report.webhooks_stored}, consent directives in "
        f"the store {report.directives}; gateway audit verify: "
        f"{'passed' if report.audit_ok else 'FAILED'}"
    )
    if report.first_error:
        print(f"  first error: {report.first_error}")
    print(f"  {'passed' if report.passed else 'FAILED'}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if missing := gateway_missing():
        print(f"gateway CLI unavailable: {missing}", file=sys.stderr)
        return 1
    print(
        f"mixed load: {args.clients} clients, {args.duration:g} s measured after "
        f"{args.warmup:g} s warm-up, mix {' '.join(MIX)}",
        flush=True,
    )
    failed = False
    for backend in (name.strip() for name in args.backends.split(",")):
        try:
            if backend not in BACKEND_NAMES:
                raise BenchError(f"unknown back end {backend!r}: use sqlite or postgres")
            url = fresh_postgres(DATABASE) if backend == "postgres" else None
            store = prepare(cache_dir() / "load" / backend, url)
            report = run_load(
                backend, store, clients=args.clients, duration=args.duration, warmup=args.warmup
            )
        except BenchError as exc:
            print(f"{backend}: not measured: {exc}", file=sys.stderr)
            failed = True
            continue
        print_report(report)
        failed = failed or not report.passed
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mixed_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    return parser


if __name__ == "__main__":
    sys.exit(main())
