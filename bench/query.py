"""Beacon query throughput and latency: ``gateway serve`` against a bare FastAPI app.

Stores of 10k and ≥1M variants (``bench.make_vcf`` with 16 samples, so they build quickly) are
ingested into SQLite and PostgreSQL. For each store, ``gateway serve`` and the reference
(``bench.bare_app``: one constant ~1 KB Beacon body) run under uvicorn with the same settings
(one process, same loop and HTTP implementation, loopback), and the same load tool (wrk with a
Lua script cycling through the query paths, else ``bench.load``) drives both: warm-up first,
then a bounded measurement. The paths are GET sequence queries for random variants of the
store (every one a hit) plus a tenth of misses (an ALT the store does not hold).

A second reference runs against each store as well: ``bench.ceiling_app``, FastAPI plus ONE
raw indexed look-up (asyncpg or aiosqlite) and a small count body. Its ratio to the bare app
is what the database round trip alone costs; the gateway's ratio to it is what the gateway's
own work costs. It has no goal.

Goals per back end: gateway throughput ≥ 0.5 of the bare app's; p50 and p99 latency at 1M
variants ≤ 2x those at 10k.

    python -m bench.query [--backends sqlite,postgres] [--duration 10] [--warmup 3]
        [--connections 16] [--small 10000] [--large 1000000] [--load auto|wrk|python]
        [--reuse-stores]
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

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
from bench.load import LoadResult
from bench.make_vcf import cached
from bench.serving import Load, load_tool, measure, serving

STORE_SAMPLES = 16
QUERIES = 2_000
MISS_SHARE = 0.1
GOAL_THROUGHPUT = 0.5
GOAL_LATENCY = 2.0
BARE_PATH = "/beacon/g_variants"
CEILING_LABEL = "FastAPI + one raw indexed query (ceiling)"


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    result: LoadResult


@dataclass(frozen=True, slots=True)
class StoreRows:
    """One store's figures: the gateway and, when it could be measured, the ceiling app."""

    gateway: Row
    ceiling: Row | None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load = Load(load_tool(args.load, "bench.query"), args.connections, args.duration, args.warmup)
    print(
        f"query bench: {load.tool}, {load.connections} connections, {load.duration:g} s per "
        f"measurement after {load.warmup:g} s warm-up, {QUERIES:,} query paths "
        f"({MISS_SHARE:.0%} misses), one uvicorn process per server",
        flush=True,
    )
    # The bare app ignores the query string; it gets the same request lines all the same.
    sample_paths = _query_paths(cached(args.small, STORE_SAMPLES), args.small)
    with serving([PYTHON, "-m", "bench.bare_app"], dict(os.environ), BARE_PATH) as served:
        bare = measure(load, served.base, sample_paths)
    _print_row(Row("bare FastAPI app (reference)", bare), bare)
    failures: list[str] = []
    missing = gateway_missing()
    for backend in args.backends.split(","):
        try:
            if missing:
                raise BenchError(f"gateway CLI unavailable: {missing}")
            stores = [
                _store_rows(backend.strip(), size, load, args.reuse_stores, failures)
                for size in (args.small, args.large)
            ]
        except BenchError as exc:
            failures.append(f"{backend}: {exc}")
            continue
        for rows in stores:
            if rows.ceiling is not None:
                _print_row(rows.ceiling, bare)
            _print_row(rows.gateway, bare, rows.ceiling)
        _print_growth(stores[0].gateway.result, stores[1].gateway.result, args.small, args.large)
    for failure in failures:
        print(f"not measured: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.query",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--load", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--reuse-stores",
        action="store_true",
        help="keep stores a previous run built (same sizes and back end)",
    )
    return parser


def _store_rows(backend: str, size: int, load: Load, reuse: bool, failures: list[str]) -> StoreRows:
    """Measure the ceiling app, then the gateway, on one store.

    A failed ceiling is noted in ``failures`` and leaves the gateway row standing.

    :raises BenchError: the store or the gateway could not be measured.
    """
    vcf = cached(size, STORE_SAMPLES)
    url = _store(backend, size, vcf, reuse)
    paths = _query_paths(vcf, size)
    name = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[backend]
    ceiling = None
    try:
        command = [PYTHON, "-m", "bench.ceiling_app", "--database-url", url]
        # Ready once a real look-up answers: the lifespan has opened the pool by then.
        with serving(command, dict(os.environ), paths[0]) as served:
            _check(served.base, paths, "ceiling")
            ceiling = Row(CEILING_LABEL, measure(load, served.base, paths))
    except BenchError as exc:
        failures.append(f"{backend}, {size:,} variants, ceiling app: {exc}")
    with serving([GATEWAY, "serve"], gateway_env(url), "/health") as served:
        _check(served.base, paths)
        result = measure(load, served.base, paths)
    return StoreRows(Row(f"gateway, {name}, {size:,} variants", result), ceiling)


def _store(backend: str, size: int, vcf: Path, reuse: bool) -> str:
    """A database holding ``vcf`` as dataset ``bench``; built unless reused."""
    marker = cache_dir() / f"query-{backend}-{size}.built"
    if backend == "sqlite":
        database = cache_dir() / f"query-{size}.db"
        url = sqlite_url(database)
        if reuse and marker.exists() and database.exists():
            return url
        remove_sqlite(database)
    elif backend == "postgres":
        if reuse and marker.exists():
            return marker.read_text(encoding="utf-8").strip()
        url = fresh_postgres(f"bench_query_{size}")
    else:
        raise BenchError(f"unknown back end {backend!r}: use sqlite or postgres")
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    run(
        [GATEWAY, "ingest", "vcf", str(vcf), "--dataset", "bench", "--replace"],
        env=gateway_env(url),
    )
    seconds = time.perf_counter() - started
    print(
        f"  store: {size:,} variants x {STORE_SAMPLES} samples into {backend} in "
        f"{seconds:.1f} s ({size / seconds:,.0f} records/s)",
        flush=True,
    )
    marker.write_text(url + "\n", encoding="utf-8")
    return url


def _query_paths(vcf: Path, records: int, seed: int = 7) -> list[str]:
    """GET sequence queries for ``QUERIES`` random records of ``vcf``, a tenth made misses."""
    rng = random.Random(seed)
    chosen = set(rng.sample(range(records), min(QUERIES, records)))
    paths = []
    with gzip.open(vcf, "rt", encoding="ascii") as lines:
        index = -1
        for line in lines:
            if line.startswith("#"):
                continue
            index += 1
            if index in chosen:
                _chrom, pos, _id, ref, alt = line.split("\t", 5)[:5]
                if rng.random() < MISS_SHARE:
                    alt = rng.choice([base for base in "ACGT" if base not in (alt, ref)])
                paths.append(
                    f"/beacon/g_variants?referenceName=22&start={int(pos) - 1}"
                    f"&referenceBases={ref}&alternateBases={alt}"
                )
    rng.shuffle(paths)
    return paths


def _check(base: str, paths: list[str], server: str = "") -> None:
    """Refuse to time a server that answers the bench's queries with errors."""
    for path in paths[:20]:
        answer = httpx.get(base + path, timeout=30)
        if answer.status_code != 200:
            raise BenchError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
    found = sum(_exists(httpx.get(base + path, timeout=30).json()) for path in paths[:50])
    who = f" ({server})" if server else ""
    print(
        f"  check{who}: {found} of the first 50 queries found their variant "
        f"(~{1 - MISS_SHARE:.0%} expected)",
        flush=True,
    )


def _exists(body: object) -> bool:
    summary = body.get("responseSummary", {}) if isinstance(body, dict) else {}
    return bool(summary.get("exists")) if isinstance(summary, dict) else False


def _print_growth(small: LoadResult, large: LoadResult, small_size: int, large_size: int) -> None:
    p50, p99 = large.p50_ms / small.p50_ms, large.p99_ms / small.p99_ms
    print(
        f"  latency at {large_size:,} vs {small_size:,} variants: p50 x{p50:.2f}, "
        f"p99 x{p99:.2f}  {goal(max(p50, p99), GOAL_LATENCY, at_most=True)}",
        flush=True,
    )


def _print_row(row: Row, bare: LoadResult, ceiling: Row | None = None) -> None:
    """One line of figures; ratios to the bare app (with the goal for the gateway) and, for a
    gateway row measured beside a ceiling app, to the ceiling."""
    result = row.result
    ratio = result.rate / bare.rate if bare.rate else 0.0
    if result is bare:
        verdict = ""
    elif row.label == CEILING_LABEL:
        verdict = f"  throughput ratio {ratio:.2f} (no goal)"
    else:
        verdict = f"  throughput ratio {ratio:.2f} " + goal(ratio, GOAL_THROUGHPUT)
    if ceiling is not None:
        rate = ceiling.result.rate
        verdict += f", {result.rate / rate if rate else 0.0:.2f} of the ceiling"
    print(
        f"{row.label:<42} {result.rate:>8,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
        f"p99 {result.p99_ms:6.2f} ms  errors {result.errors}{verdict}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
