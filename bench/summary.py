"""Signed ``$summary`` throughput against a bare FastAPI app sending the same bytes; tokens/s.

For each back end (SQLite, PostgreSQL) the bench builds a fresh store in ``bench/.cache``
(PostgreSQL: its own database ``bench_summary``), with the gateway's signing keys
(``gateway pki init``), one synthetic patient whose summary holds 40 clinical entries
(``bench.summary_record``, ingested with the ``de-isik-fhir`` profile) and one OAuth client
(``gateway clients add --generate-key``). Then, one server at a time, same uvicorn settings:

1. ``gateway serve``: get a token, fetch the summary once (it must carry ``Bundle.signature``,
   and a second fetch must give the same bytes: the signed document is cached per patient
   version), then measure ``GET /fhir/Patient/{id}/$summary`` with ``Authorization: Bearer``
   on every request: token verified, consent decided, one audit record written, each time.
2. ``POST /oauth/token`` on the same server: a pool of client assertions (one ``jti`` each) is
   signed before timing, sized from a one-second probe; the rate is tokens issued per second.
3. ``bench.bare_app --body``: the reference, answering the same path with exactly the bytes
   the gateway sent.

A fresh access token is taken right before each measurement (they live five minutes). Each
row gives requests/s, p50, p99 and the server process's CPU time per request (all threads,
read from ``/proc`` around the measurement: it moves less with other load than the rate).
Goal: ``$summary`` requests/s ≥ 0.15 of the bare app's. Tokens/s has no goal; its ratio to the
bare app's rate is printed for scale.

    python -m bench.summary [--duration 10] [--warmup 3] [--connections 8]
        [--backends sqlite,postgres] [--load auto|wrk|python]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import orjson

from bench import (
    GATEWAY,
    PYTHON,
    BenchError,
    cache_dir,
    fresh_postgres,
    gateway_env,
    gateway_missing,
    goal,
    remove_sqlite,
    run,
    sqlite_url,
)
from bench.bench_client import TOKEN_PATH, BenchClient
from bench.serving import (
    Load,
    Measured,
    Served,
    load_tool,
    measure_cpu,
    measure_posts,
    measure_posts_cpu,
    serving,
)
from bench.summary_record import CLINICAL_ENTRIES, write

GOAL = 0.15
COUNTRY = "DE"
PROFILE = "de-isik-fhir"
CLIENT_ID = "bench-summary"
SCOPES = "system/*.rs system/Bundle.c"
DATABASE = "bench_summary"
PROBE_POOL = 1_500  # assertions for the one-second probe of the token rate
POOL_MARGIN = 3.0  # the pool outlasts the probe's rate this many times over
BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclass(frozen=True, slots=True)
class Document:
    path: str
    body: bytes
    entries: int
    clinical: int


@dataclass(frozen=True, slots=True)
class Tokens:
    measured: Measured
    pool: int
    signing_seconds: float


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load = Load(load_tool(args.load, "bench.summary"), args.connections, args.duration, args.warmup)
    print(
        f"summary bench: {load.tool}, {load.connections} connections, {load.duration:g} s per "
        f"measurement after {load.warmup:g} s warm-up, one uvicorn process per server; "
        f"record: synthetic ISiK Bundle ({PROFILE}), {CLINICAL_ENTRIES} clinical entries",
        flush=True,
    )
    failures: list[str] = []
    missing = gateway_missing()
    for backend in (name.strip() for name in args.backends.split(",")):
        try:
            if missing:
                raise BenchError(f"gateway CLI unavailable: {missing}")
            _bench_backend(backend, load)
        except BenchError as exc:
            failures.append(f"{backend}: {exc}")
    for failure in failures:
        print(f"not measured: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.summary",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    return parser


def _bench_backend(backend: str, load: Load) -> None:
    """Set up a store, measure the gateway and its tokens, then the bare app; print the rows.

    :raises BenchError: a step or a measurement failed (what was measured is printed first).
    """
    if backend not in BACKEND_NAMES:
        raise BenchError(f"unknown back end {backend!r}: use sqlite or postgres")
    env, patient_id, client = build_store(backend)
    tokens: Tokens | BenchError
    with serving([GATEWAY, "serve"], env, "/health") as served:
        document = _document(served.base, client, patient_id)
        header = [f"Authorization: Bearer {client.access_token(served.base)}"]
        gateway = measure_cpu(load, served, [document.path], header)
        try:
            tokens = _tokens(load, served, client)  # after: its audit and jti rows come last
        except BenchError as exc:
            tokens = exc
    body_file = cache_dir() / f"summary-{backend}.json"
    body_file.write_bytes(document.body)
    bare_app = [PYTHON, "-m", "bench.bare_app", "--body", str(body_file), "--path", document.path]
    with serving(bare_app, dict(os.environ), document.path) as served:
        bare = measure_cpu(load, served, [document.path], header)  # the same request bytes
    _print_backend(backend, document, bare, gateway, tokens)
    if isinstance(tokens, BenchError):
        raise BenchError(f"tokens per second: {tokens}")


def build_store(backend: str) -> tuple[dict[str, str], str, BenchClient]:
    """A fresh database with the signing keys, the patient and the client."""
    folder = cache_dir() / "summary"
    pki, clients = folder / "pki", folder / "clients"
    folder.mkdir(exist_ok=True)
    if backend == "sqlite":
        database = folder / "summary.db"
        remove_sqlite(database)
        url = sqlite_url(database)
    else:
        url = fresh_postgres(DATABASE)
    env = {**gateway_env(url), "GATEWAY_PKI_DIR": str(pki), "GATEWAY_COUNTRY": COUNTRY}
    if not (pki / COUNTRY / "signing.pem").exists():
        shutil.rmtree(pki, ignore_errors=True)
        run([GATEWAY, "pki", "init", "--countries", COUNTRY, "--out", str(pki)], env=env)
    record = write(folder / "record.json")
    stored = run([GATEWAY, "ingest", "record", str(record), "--profile", PROFILE], env=env)
    outcome, _, reference = stored.strip().partition("\t")
    if outcome != "created" or not reference.startswith("Patient/"):
        raise BenchError(f"gateway ingest record printed {stored.strip()!r}")
    add_client = [GATEWAY, "clients", "add", CLIENT_ID, "--generate-key", str(clients)]
    run([*add_client, "--scopes", SCOPES], env=env)
    return (
        env,
        reference.removeprefix("Patient/"),
        BenchClient.load(CLIENT_ID, clients / f"{CLIENT_ID}.key"),
    )


def _document(base: str, client: BenchClient, patient_id: str) -> Document:
    """The signed summary as the gateway sends it; asked twice, it must be the same bytes."""
    path = f"/fhir/Patient/{patient_id}/$summary"
    headers = {"Authorization": f"Bearer {client.access_token(base)}"}
    first, second = (httpx.get(base + path, headers=headers, timeout=30) for _ in range(2))
    if first.status_code != 200:
        raise BenchError(f"GET {path} answered {first.status_code}: {first.text[:300]}")
    bundle = orjson.loads(first.content)
    if "signature" not in bundle:
        raise BenchError("the summary has no Bundle.signature: are the signing keys loaded?")
    if second.content != first.content:
        raise BenchError("a second $summary gave other bytes: the signed document is not cached")
    composition = bundle["entry"][0]["resource"]
    clinical = sum(len(section.get("entry", [])) for section in composition["section"])
    return Document(path, first.content, len(bundle["entry"]), clinical)


def _tokens(load: Load, served: Served, client: BenchClient) -> Tokens:
    """Tokens issued per second: a one-second probe sizes the pool, signed before timing."""
    probe_forms, _ = client.token_forms(served.base, PROBE_POOL)
    probe_load = Load(load.tool, load.connections, 1.0, 0.0)
    probe = measure_posts(probe_load, served.base, TOKEN_PATH, probe_forms)
    if probe.errors or not probe.requests:
        raise BenchError(f"the token probe saw {probe.errors} errors in {probe.requests} requests")
    rate = PROBE_POOL / probe.seconds if probe.exhausted else probe.rate
    warmup = math.ceil(rate * load.warmup * POOL_MARGIN) + load.connections
    pool = math.ceil(rate * load.duration * POOL_MARGIN) + load.connections
    forms, seconds = client.token_forms(served.base, warmup + pool)
    measured = measure_posts_cpu(load, served, TOKEN_PATH, forms[:warmup], forms[warmup:])
    result = measured.result
    if result.exhausted or result.errors:
        # wrk sends the bodies round again when they run out: a replayed jti is refused.
        raise BenchError(
            f"{result.errors} error answers in {result.requests:,} requests, or the "
            f"{pool:,} signed assertions ran out"
        )
    return Tokens(measured, warmup + pool, seconds)


def _print_backend(
    backend: str,
    document: Document,
    bare: Measured,
    gateway: Measured,
    tokens: Tokens | BenchError,
) -> None:
    name = BACKEND_NAMES[backend]
    print(
        f"{name}: {document.path}: {len(document.body) / 1000:.1f} KB, "
        f"{document.entries} Bundle entries ({document.clinical} clinical), signed "
        "(Bundle.signature), the same bytes when asked again",
        flush=True,
    )
    _print_row("bare FastAPI app, same bytes (reference)", bare, "req/s", "")
    rate = bare.result.rate
    ratio = gateway.result.rate / rate if rate else 0.0
    verdict = f"  throughput ratio {ratio:.3f} {goal(ratio, GOAL)}"
    _print_row(f"gateway $summary, {name}", gateway, "req/s", verdict)
    if isinstance(tokens, BenchError):
        print(f"  gateway POST /oauth/token, {name}: not measured ({tokens})", flush=True)
        return
    scale = tokens.measured.result.rate / rate if rate else 0.0
    verdict = f"  {scale:.3f} of the bare app's rate (no goal)"
    _print_row(f"gateway POST /oauth/token, {name}", tokens.measured, "tokens/s", verdict)
    print(
        f"    ({tokens.pool:,} client assertions signed before timing, in "
        f"{tokens.signing_seconds:.1f} s)",
        flush=True,
    )


def _print_row(label: str, measured: Measured, unit: str, verdict: str) -> None:
    result = measured.result
    cpu = f"{measured.cpu_ms:6.2f}" if measured.cpu_ms is not None else "     -"
    print(
        f"  {label:<41} {result.rate:>7,.0f} {unit:<8} p50 {result.p50_ms:7.2f} ms  "
        f"p99 {result.p99_ms:7.2f} ms  server CPU {cpu} ms/req  errors {result.errors}"
        f"{verdict}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
