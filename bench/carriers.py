"""Carrier layout: a bitmap per variant (the store's design) against a row per call.

The store keeps the carriers of each variant as two little-endian bitmaps over the dataset's
sample positions (``variants.carriers``, ``variants.homozygous``; ``gateway.domain.carriers``),
so a consent-filtered carrier count is ``(as_int(carriers) & mask).bit_count()``. The
alternative is one row per call. This bench builds both minimal schemas from the same
records, read with the gateway's own reader (``gateway.ingest.vcf.VcfFile``):

- A, bitmap: ``variants(id, chromosome, start, reference, alternate, carriers, homozygous)``
  with an index on ``(chromosome, start)``;
- B, row per call: the same ``variants`` without the two bitmaps, plus
  ``calls(variant_id, position, homozygous)`` with an index on ``calls(variant_id)``.

Each design is created, filled and committed in one transaction, with the same insert
technique on each back end (``executemany`` on SQLite, binary ``COPY`` on PostgreSQL) and the
indexes in place, as when a dataset is added to a live store. Only the time spent in the
database is counted: the rows are built from the reader's bitmaps before each timed batch.
Variants that no sample carries are not stored, as ``gateway ingest vcf`` does.

Sizes: the SQLite file after the commit (one file per design); on PostgreSQL the sum of
``pg_total_relation_size`` (heap, TOAST and indexes) over the design's tables.

Then, with one random consent mask (each sample allowed with probability 1/2), it times:

- point: a sequence look-up (chromosome, start, reference, alternate) of ``--queries``
  random stored variants and the count of their allowed carriers. A fetches the bitmap and
  ANDs in Python. B counts in SQL, in several honest forms (the mask as a bound IN list or
  ``ANY($n)`` array, as a literal array in the SQL text, or a join against a temp table of
  the allowed positions); the ratio uses the fastest. The same number of ``select 1`` round
  trips is timed alongside, so the PostgreSQL figures can be read net of the network;
- whole dataset: how many variants have at least one allowed carrier. A reads every bitmap,
  B counts in SQL (again several forms, the fastest counts).

Every answer is checked against the one computed from the bitmaps in memory. Each figure is
the best of ``--repeat`` rounds; a round runs every pass once, in turn, so drift in the
machine's load touches both designs alike. A pass includes its one-off set-up (building the
mask, filling the temp table), printed apart. PostgreSQL uses its own database,
``bench_carriers``, dropped at the end; the SQLite files live in a temporary directory.

    python -m bench.carriers [--backends sqlite,postgres] [--source PATH]
        [--queries 1000] [--repeat 3] [--seed 22]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import numpy as np

from bench import DEFAULT_POSTGRES, SOURCE_VCF, BenchError, fresh_postgres
from gateway.domain.carriers import as_int, mask_of
from gateway.errors import IngestError
from gateway.ingest.vcf import VcfFile

DATABASE = "bench_carriers"
BATCH = 5_000  # variants per executemany / COPY, for both designs
A_SCHEMA = "a_bitmap"
B_SCHEMA = "b_calls"

Key = tuple[str, int, str, str]
CallRow = tuple[int, int, bool]


@dataclass(frozen=True, slots=True)
class Record:
    chromosome: str
    start: int
    reference: str
    alternate: str
    carriers: bytes
    homozygous: bytes

    @property
    def key(self) -> Key:
        return (self.chromosome, self.start, self.reference, self.alternate)


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    samples: int
    read: int  # ALT alleles the reader yielded
    records: list[Record]  # those with at least one carrier
    calls: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Workload:
    """One consent mask, the variants to look up and the answers expected."""

    allowed: list[int]  # sample positions that may count, ascending
    picks: list[int]  # indexes into Source.records
    point_expected: list[int]
    whole_expected: int


@dataclass(frozen=True, slots=True)
class Load:
    rows: int
    seconds: float
    size: int
    index_size: int | None  # None when the back end cannot tell


@dataclass(frozen=True, slots=True)
class Timed:
    form: str
    seconds: float
    setup: float = 0.0  # part of `seconds` spent on one-off set-up (mask, temp table)


@dataclass(frozen=True, slots=True)
class Result:
    backend: str
    load_a: Load
    load_b: Load
    floor: Timed  # the point look-ups' round trips alone, for scale
    point_a: Timed
    point_b: list[Timed]  # one per SQL form tried
    whole_a: Timed
    whole_b: list[Timed]


class Stopwatch:
    """Adds up the time spent inside ``with watch:`` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> Stopwatch:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds += time.perf_counter() - self._started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.carriers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--source", type=Path, default=SOURCE_VCF)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=22)
    args = parser.parse_args(argv)
    if args.queries < 1 or args.repeat < 1:
        parser.error("--queries and --repeat must be at least 1")
    try:
        source = read_source(args.source)
    except (IngestError, BenchError) as exc:
        print(f"not measured: {exc}", file=sys.stderr)
        return 1
    workload = make_workload(source, args.queries, random.Random(args.seed))
    _describe(source, workload, args.repeat)
    results, failures = [], []
    for backend in (name.strip() for name in args.backends.split(",")):
        try:
            if backend == "sqlite":
                results.append(bench_sqlite(source, workload, args.repeat))
            elif backend == "postgres":
                results.append(asyncio.run(bench_postgres(source, workload, args.repeat)))
            else:
                raise BenchError(f"unknown back end {backend!r}: use sqlite or postgres")
        except (
            BenchError,
            OSError,
            sqlite3.Error,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
        ) as exc:
            failures.append(f"{backend}: {exc}")
        else:
            _report(results[-1], source, workload)
    for failure in failures:
        print(f"not measured: {failure}", file=sys.stderr)
    return 1 if failures else 0


# --- data ---------------------------------------------------------------------------------


def read_source(path: Path) -> Source:
    """Every ALT allele of the file with at least one carrier, read by the gateway's reader."""
    records = []
    read = calls = 0
    started = time.perf_counter()
    with VcfFile(path) as vcf:
        samples = len(vcf.samples)
        for call in vcf:
            read += 1
            carried = as_int(call.carriers).bit_count()
            if not carried:
                continue
            calls += carried
            variant = call.variant
            records.append(
                Record(
                    variant.chromosome,
                    variant.start,
                    variant.reference,
                    variant.alternate,
                    call.carriers,
                    call.homozygous,
                )
            )
    if not records:
        raise BenchError(f"{path}: no variant with a carrier")
    return Source(path, samples, read, records, calls, time.perf_counter() - started)


def make_workload(source: Source, queries: int, rng: random.Random) -> Workload:
    allowed = [position for position in range(source.samples) if rng.random() < 0.5]
    n = len(source.records)
    picks = rng.sample(range(n), queries) if queries <= n else rng.choices(range(n), k=queries)
    mask = mask_of(allowed)
    counts = [(as_int(record.carriers) & mask).bit_count() for record in source.records]
    return Workload(allowed, picks, [counts[i] for i in picks], sum(1 for c in counts if c))


def batches(records: list[Record]) -> Iterator[tuple[int, list[Record]]]:
    """``(id of the first record, records)``; ids count from 1 in file order."""
    for offset in range(0, len(records), BATCH):
        yield offset + 1, records[offset : offset + BATCH]


def bitmap_rows(first_id: int, chunk: list[Record]) -> list[tuple[Any, ...]]:
    return [
        (first_id + i, r.chromosome, r.start, r.reference, r.alternate, r.carriers, r.homozygous)
        for i, r in enumerate(chunk)
    ]


def variant_rows(first_id: int, chunk: list[Record]) -> list[tuple[Any, ...]]:
    return [
        (first_id + i, r.chromosome, r.start, r.reference, r.alternate) for i, r in enumerate(chunk)
    ]


def call_rows(first_id: int, chunk: list[Record]) -> list[CallRow]:
    """One ``(variant_id, position, homozygous)`` per set bit of the carrier bitmaps."""
    ids, positions, homozygous = [], [], []
    for i, record in enumerate(chunk):
        carriers = np.unpackbits(np.frombuffer(record.carriers, np.uint8), bitorder="little")
        hom = np.unpackbits(
            np.frombuffer(record.homozygous, np.uint8), count=carriers.size, bitorder="little"
        )
        where = np.flatnonzero(carriers)
        ids.append(np.full(where.size, first_id + i, dtype=np.int64))
        positions.append(where)
        homozygous.append(hom[where].astype(bool))
    return list(
        zip(
            np.concatenate(ids).tolist(),
            np.concatenate(positions).tolist(),
            np.concatenate(homozygous).tolist(),
            strict=True,
        )
    )


def _verdict(form: str, answer: object, expected: object) -> None:
    if answer != expected:
        raise BenchError(f"{form}: wrong answer, it disagrees with the bitmaps in memory")


Pass = Callable[[], tuple[object, float]]  # returns (answer, set-up seconds)
AsyncPass = Callable[[], Awaitable[tuple[object, float]]]


def _rounds(repeat: int, passes: list[tuple[str, object, Pass]]) -> list[Timed]:
    """Best of ``repeat`` rounds per pass, a round running every pass once, in turn.

    Interleaving the designs lets drift in the machine's load touch all of them alike.
    """
    timings: list[list[Timed]] = [[] for _ in passes]
    for _ in range(repeat):
        for (form, expected, one_pass), timed in zip(passes, timings, strict=True):
            started = time.perf_counter()
            answer, setup = one_pass()
            timed.append(Timed(form, time.perf_counter() - started, setup))
            _verdict(form, answer, expected)
    return [_fastest(timed) for timed in timings]


async def _arounds(repeat: int, passes: list[tuple[str, object, AsyncPass]]) -> list[Timed]:
    timings: list[list[Timed]] = [[] for _ in passes]
    for _ in range(repeat):
        for (form, expected, one_pass), timed in zip(passes, timings, strict=True):
            started = time.perf_counter()
            answer, setup = await one_pass()
            timed.append(Timed(form, time.perf_counter() - started, setup))
            _verdict(form, answer, expected)
    return [_fastest(timed) for timed in timings]


def _fastest(timings: list[Timed]) -> Timed:
    return min(timings, key=lambda timed: timed.seconds)


FLOOR = "round trips alone (select 1)"
BITMAP_POINT = "fetch bitmap, AND in Python"
BITMAP_WHOLE = "read every bitmap, AND in Python"


# --- SQLite ---------------------------------------------------------------------------------

_SQLITE_VARIANTS = """
create table variants (
    id integer primary key, chromosome text not null, start integer not null,
    reference text not null, alternate text not null{blobs}
)"""
_SQLITE_BLOBS = ", carriers blob not null, homozygous blob not null"
_SQLITE_CALLS = """
create table calls (
    variant_id integer not null, position integer not null, homozygous integer not null
)"""
_SQLITE_LOOKUP = "v.chromosome = ? and v.start = ? and v.reference = ? and v.alternate = ?"


def bench_sqlite(source: Source, workload: Workload, repeat: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-carriers-") as scratch:
        path_a, path_b = Path(scratch, "a_bitmap.db"), Path(scratch, "b_calls.db")
        load_a = _sqlite_load(path_a, source, bitmap=True)
        load_b = _sqlite_load(path_b, source, bitmap=False)
        with (
            closing(sqlite3.connect(path_a, isolation_level=None)) as con_a,
            closing(sqlite3.connect(path_b, isolation_level=None)) as con_b,
        ):
            con_a.execute("analyze")
            con_b.execute("analyze")
            expected, total = workload.point_expected, workload.whole_expected
            points: list[tuple[str, object, Pass]] = [
                (FLOOR, None, partial(_sqlite_floor, con_a, len(workload.picks))),
                (BITMAP_POINT, expected, partial(_sqlite_point_a, con_a, source, workload)),
            ]
            points += [
                (form, expected, partial(_sqlite_point_b, con_b, source, workload, query))
                for form, query in _SQLITE_POINT_FORMS.items()
            ]
            wholes: list[tuple[str, object, Pass]] = [
                (BITMAP_WHOLE, total, partial(_sqlite_whole_a, con_a, workload))
            ]
            wholes += [
                (form, total, partial(_sqlite_whole_b, con_b, workload, query))
                for form, query in _SQLITE_WHOLE_FORMS.items()
            ]
            floor, point_a, *point_b = _rounds(repeat, points)
            whole_a, *whole_b = _rounds(repeat, wholes)
    version = sqlite3.sqlite_version
    backend = f"SQLite {version} (one file per design, in a temp dir)"
    return Result(backend, load_a, load_b, floor, point_a, point_b, whole_a, whole_b)


def _sqlite_floor(con: sqlite3.Connection, queries: int) -> tuple[None, float]:
    for _ in range(queries):
        con.execute("select 1").fetchone()
    return None, 0.0


def _sqlite_load(path: Path, source: Source, *, bitmap: bool) -> Load:
    watch, rows = Stopwatch(), 0
    with closing(sqlite3.connect(path, isolation_level=None)) as con:
        with watch:
            con.execute("begin")
            con.execute(_SQLITE_VARIANTS.format(blobs=_SQLITE_BLOBS if bitmap else ""))
            con.execute("create index ix_variants_locus on variants (chromosome, start)")
            if not bitmap:
                con.execute(_SQLITE_CALLS)
                con.execute("create index ix_calls_variant on calls (variant_id)")
        for first_id, chunk in batches(source.records):
            if bitmap:
                variants = bitmap_rows(first_id, chunk)
                with watch:
                    con.executemany("insert into variants values (?, ?, ?, ?, ?, ?, ?)", variants)
                rows += len(variants)
            else:
                variants, calls = variant_rows(first_id, chunk), call_rows(first_id, chunk)
                with watch:
                    con.executemany("insert into variants values (?, ?, ?, ?, ?)", variants)
                    con.executemany("insert into calls values (?, ?, ?)", calls)
                rows += len(variants) + len(calls)
        with watch:
            con.execute("commit")
        index_size = _sqlite_index_size(con)
    return Load(rows, watch.seconds, path.stat().st_size, index_size)


def _sqlite_index_size(con: sqlite3.Connection) -> int | None:
    """Bytes in index b-trees, from the dbstat table when this SQLite has it."""
    try:
        row = con.execute(
            "select sum(pgsize) from dbstat where name in "
            "(select name from sqlite_master where type = 'index')"
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    return int(row[0] or 0)


def _sqlite_point_a(
    con: sqlite3.Connection, source: Source, workload: Workload
) -> tuple[list[int], float]:
    started = time.perf_counter()
    mask = mask_of(workload.allowed)
    setup = time.perf_counter() - started
    query = f"select v.carriers from variants v where {_SQLITE_LOOKUP}"
    counts = []
    for pick in workload.picks:
        (carriers,) = con.execute(query, source.records[pick].key).fetchone()
        counts.append((as_int(carriers) & mask).bit_count())
    return counts, setup


def _sqlite_whole_a(con: sqlite3.Connection, workload: Workload) -> tuple[int, float]:
    started = time.perf_counter()
    mask = mask_of(workload.allowed)
    setup = time.perf_counter() - started
    found = sum(
        1 for (carriers,) in con.execute("select carriers from variants") if as_int(carriers) & mask
    )
    return found, setup


_IN_LIST = "{in_list}"  # replaced by "?, ?, …", one per allowed position
_SQLITE_POINT_FORMS = {
    "IN (?, …) bound list": (
        f"select count(*) from variants v join calls c on c.variant_id = v.id "
        f"where {_SQLITE_LOOKUP} and c.position in ({_IN_LIST})"
    ),
    "join temp table allowed(position primary key)": (
        f"select count(*) from variants v join calls c on c.variant_id = v.id "
        f"join temp.allowed a on a.position = c.position where {_SQLITE_LOOKUP}"
    ),
}
_SQLITE_WHOLE_FORMS = {
    "EXISTS … IN (?, …) bound list": (
        "select count(*) from variants v where exists (select 1 from calls c "
        f"where c.variant_id = v.id and c.position in ({_IN_LIST}))"
    ),
    "EXISTS … join temp table": (
        "select count(*) from variants v where exists (select 1 from calls c "
        "join temp.allowed a on a.position = c.position where c.variant_id = v.id)"
    ),
    "count(DISTINCT variant_id) … join temp table": (
        "select count(distinct c.variant_id) from calls c "
        "join temp.allowed a on a.position = c.position"
    ),
}


def _sqlite_prepare(
    con: sqlite3.Connection, workload: Workload, query: str
) -> tuple[str, tuple[int, ...]]:
    """The query with its IN list spelled out, or the temp table filled; returns the bound list."""
    if _IN_LIST in query:
        allowed = tuple(workload.allowed)
        return query.replace(_IN_LIST, ", ".join("?" * len(allowed))), allowed
    con.execute("drop table if exists temp.allowed")
    con.execute("create temp table allowed (position integer primary key)")
    con.executemany("insert into temp.allowed values (?)", ((p,) for p in workload.allowed))
    return query, ()


def _sqlite_point_b(
    con: sqlite3.Connection, source: Source, workload: Workload, query: str
) -> tuple[list[int], float]:
    started = time.perf_counter()
    sql, allowed = _sqlite_prepare(con, workload, query)
    setup = time.perf_counter() - started
    counts = [
        con.execute(sql, (*source.records[pick].key, *allowed)).fetchone()[0]
        for pick in workload.picks
    ]
    return counts, setup


def _sqlite_whole_b(con: sqlite3.Connection, workload: Workload, query: str) -> tuple[int, float]:
    started = time.perf_counter()
    sql, allowed = _sqlite_prepare(con, workload, query)
    setup = time.perf_counter() - started
    return int(con.execute(sql, allowed).fetchone()[0]), setup


# --- PostgreSQL -----------------------------------------------------------------------------

_PG_LOOKUP = "v.chromosome = $1 and v.start = $2 and v.reference = $3 and v.alternate = $4"
_ARRAY = "{array}"  # replaced by the literal '{1,2,…}'::int4[] of the allowed positions
_PG_POINT_FORMS = {
    "= ANY($5::int4[])": (
        f"select count(*) from variants v join calls c on c.variant_id = v.id "
        f"where {_PG_LOOKUP} and c.position = any($5::int4[])"
    ),
    "= ANY('{…}'::int4[]), the mask spelled out in the SQL": (
        f"select count(*) from variants v join calls c on c.variant_id = v.id "
        f"where {_PG_LOOKUP} and c.position = any({_ARRAY})"
    ),
    "join temp table allowed(position primary key)": (
        f"select count(*) from variants v join calls c on c.variant_id = v.id "
        f"join allowed a on a.position = c.position where {_PG_LOOKUP}"
    ),
}
_PG_WHOLE_FORMS = {
    "EXISTS … = ANY($1::int4[])": (
        "select count(*) from variants v where exists (select 1 from calls c "
        "where c.variant_id = v.id and c.position = any($1::int4[]))"
    ),
    "EXISTS … join temp table": (
        "select count(*) from variants v where exists (select 1 from calls c "
        "join allowed a on a.position = c.position where c.variant_id = v.id)"
    ),
    "count(DISTINCT variant_id) … = ANY($1::int4[])": (
        "select count(distinct variant_id) from calls where position = any($1::int4[])"
    ),
}


def _pg_params() -> dict[str, Any]:
    parts = urlsplit(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "password": parts.password,
    }


async def bench_postgres(source: Source, workload: Workload, repeat: int) -> Result:
    fresh_postgres(DATABASE)
    try:
        return await _pg_measure(source, workload, repeat)
    finally:
        await _drop_postgres()


async def _pg_measure(source: Source, workload: Workload, repeat: int) -> Result:
    """Load each design, then query it through a connection of its own (its search_path)."""
    params = {**_pg_params(), "database": DATABASE}
    con = await asyncpg.connect(**params)
    try:
        load_a = await _pg_load(con, source, bitmap=True)
        load_b = await _pg_load(con, source, bitmap=False)
        for table in (f"{A_SCHEMA}.variants", f"{B_SCHEMA}.variants", f"{B_SCHEMA}.calls"):
            await con.execute(f"vacuum analyze {table}")
        backend = (
            f"PostgreSQL {await _pg_version(con)} (database {DATABASE}, one schema per design)"
        )
    finally:
        await con.close()
    con_a = await asyncpg.connect(**params, server_settings={"search_path": A_SCHEMA})
    con_b = await asyncpg.connect(**params, server_settings={"search_path": B_SCHEMA})
    try:
        expected, total = workload.point_expected, workload.whole_expected
        points: list[tuple[str, object, AsyncPass]] = [
            (FLOOR, None, partial(_pg_floor, con_a, len(workload.picks))),
            (BITMAP_POINT, expected, partial(_pg_point_a, con_a, source, workload)),
        ]
        points += [
            (form, expected, partial(_pg_point_b, con_b, source, workload, query))
            for form, query in _PG_POINT_FORMS.items()
        ]
        wholes: list[tuple[str, object, AsyncPass]] = [
            (BITMAP_WHOLE, total, partial(_pg_whole_a, con_a, workload))
        ]
        wholes += [
            (form, total, partial(_pg_whole_b, con_b, workload, query))
            for form, query in _PG_WHOLE_FORMS.items()
        ]
        floor, point_a, *point_b = await _arounds(repeat, points)
        whole_a, *whole_b = await _arounds(repeat, wholes)
    finally:
        await con_a.close()
        await con_b.close()
    return Result(backend, load_a, load_b, floor, point_a, point_b, whole_a, whole_b)


async def _pg_floor(con: Any, queries: int) -> tuple[None, float]:
    statement = await con.prepare("select 1")
    for _ in range(queries):
        await statement.fetchval()
    return None, 0.0


async def _pg_version(con: Any) -> str:
    return str(await con.fetchval("show server_version")).split()[0]


async def _drop_postgres() -> None:
    try:
        admin = await asyncpg.connect(database="postgres", **_pg_params())
        try:
            await admin.execute(f"drop database if exists {DATABASE} with (force)")
        finally:
            await admin.close()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        print(f"could not drop database {DATABASE}: {exc}", file=sys.stderr)


async def _pg_load(con: Any, source: Source, *, bitmap: bool) -> Load:
    schema = A_SCHEMA if bitmap else B_SCHEMA
    blobs = ", carriers bytea not null, homozygous bytea not null" if bitmap else ""
    watch, rows = Stopwatch(), 0
    transaction = con.transaction()
    with watch:
        await transaction.start()
        await con.execute(
            f"create schema {schema}; "
            f"create table {schema}.variants (id int8 primary key, chromosome text not null, "
            f"start int8 not null, reference text not null, alternate text not null{blobs}); "
            f"create index on {schema}.variants (chromosome, start)"
        )
        if not bitmap:
            await con.execute(
                f"create table {schema}.calls (variant_id int8 not null, "
                f"position int4 not null, homozygous bool not null); "
                f"create index on {schema}.calls (variant_id)"
            )
    columns = ["id", "chromosome", "start", "reference", "alternate"]
    try:
        for first_id, chunk in batches(source.records):
            if bitmap:
                variants = bitmap_rows(first_id, chunk)
                with watch:
                    await con.copy_records_to_table(
                        "variants",
                        schema_name=schema,
                        records=variants,
                        columns=[*columns, "carriers", "homozygous"],
                    )
                rows += len(variants)
            else:
                variants, calls = variant_rows(first_id, chunk), call_rows(first_id, chunk)
                with watch:
                    await con.copy_records_to_table(
                        "variants", schema_name=schema, records=variants, columns=columns
                    )
                    await con.copy_records_to_table(
                        "calls",
                        schema_name=schema,
                        records=calls,
                        columns=["variant_id", "position", "homozygous"],
                    )
                rows += len(variants) + len(calls)
    except BaseException:
        await transaction.rollback()
        raise
    with watch:
        await transaction.commit()
    size, index_size = await con.fetchrow(
        "select sum(pg_total_relation_size(c.oid)), sum(pg_indexes_size(c.oid)) "
        "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = $1 and c.relkind = 'r'",
        schema,
    )
    return Load(rows, watch.seconds, int(size), int(index_size))


async def _pg_point_a(con: Any, source: Source, workload: Workload) -> tuple[list[int], float]:
    started = time.perf_counter()
    mask = mask_of(workload.allowed)
    setup = time.perf_counter() - started
    statement = await con.prepare(f"select v.carriers from variants v where {_PG_LOOKUP}")
    counts = []
    for pick in workload.picks:
        carriers = await statement.fetchval(*source.records[pick].key)
        counts.append((as_int(carriers) & mask).bit_count())
    return counts, setup


async def _pg_whole_a(con: Any, workload: Workload) -> tuple[int, float]:
    started = time.perf_counter()
    mask = mask_of(workload.allowed)
    setup = time.perf_counter() - started
    found = 0
    for row in await con.fetch("select carriers from variants"):
        if as_int(row[0]) & mask:
            found += 1
    return found, setup


async def _pg_prepare(con: Any, workload: Workload, query: str) -> tuple[str, tuple[Any, ...]]:
    """The query with the mask in place (temp table filled, or literal array) and its arguments.

    Queries with a ``$n::int4[]`` parameter get the allowed positions as their last argument.
    """
    if _ARRAY in query:
        literal = "'{" + ",".join(map(str, workload.allowed)) + "}'::int4[]"
        return query.replace(_ARRAY, literal), ()
    if "allowed" not in query:
        return query, (workload.allowed,)
    await con.execute(
        "drop table if exists pg_temp.allowed; "
        "create temp table allowed (position int4 primary key)"
    )
    await con.copy_records_to_table("allowed", records=[(p,) for p in workload.allowed])
    await con.execute("analyze pg_temp.allowed")
    return query, ()


async def _pg_point_b(
    con: Any, source: Source, workload: Workload, query: str
) -> tuple[list[int], float]:
    started = time.perf_counter()
    sql, extra = await _pg_prepare(con, workload, query)
    statement = await con.prepare(sql)
    setup = time.perf_counter() - started
    counts = [
        int(await statement.fetchval(*source.records[pick].key, *extra)) for pick in workload.picks
    ]
    return counts, setup


async def _pg_whole_b(con: Any, workload: Workload, query: str) -> tuple[int, float]:
    started = time.perf_counter()
    sql, extra = await _pg_prepare(con, workload, query)
    setup = time.perf_counter() - started
    return int(await con.fetchval(sql, *extra)), setup


# --- report ---------------------------------------------------------------------------------


def _describe(source: Source, workload: Workload, repeat: int) -> None:
    stored = len(source.records)
    print(
        f"carrier layout bench: {source.path.name}, {source.samples:,} samples, "
        f"{source.read:,} ALT alleles read by gateway.ingest.vcf.VcfFile in "
        f"{source.seconds:.1f} s, {stored:,} with a carrier stored, {source.calls:,} calls "
        f"({source.calls / stored:.0f} per variant)",
    )
    print(
        f"mask: {len(workload.allowed):,} of {source.samples:,} samples allowed; point: "
        f"{len(workload.picks):,} random stored variants; whole dataset: "
        f"{workload.whole_expected:,} variants with an allowed carrier; best of {repeat}",
        flush=True,
    )


def _report(result: Result, source: Source, workload: Workload) -> None:
    a_load, b_load, floor = result.load_a, result.load_b, result.floor.seconds
    a_point, b_point = result.point_a.seconds, _fastest(result.point_b).seconds
    a_whole, b_whole = result.whole_a.seconds, _fastest(result.whole_b).seconds
    stored, queries = len(source.records), len(workload.picks)
    a_above, b_above = a_point - floor, b_point - floor
    rows: list[tuple[str, str, str, float | None]] = [
        ("rows written", f"{a_load.rows:,}", f"{b_load.rows:,}", b_load.rows / a_load.rows),
        ("insert, one transaction", _s(a_load.seconds), _s(b_load.seconds),
         b_load.seconds / a_load.seconds),
        ("  records/s", f"{stored / a_load.seconds:,.0f}", f"{stored / b_load.seconds:,.0f}",
         a_load.seconds / b_load.seconds),
        ("on disk (tables + indexes)", _mb(a_load.size), _mb(b_load.size),
         b_load.size / a_load.size),
        ("  of which indexes", _mb(a_load.index_size), _mb(b_load.index_size), None),
        (f"point count, {queries:,} variants", _ms(a_point), _ms(b_point), b_point / a_point),
        ("  per variant", _us(a_point / queries), _us(b_point / queries), None),
        (f"  minus {queries:,} round trips", _ms(a_above), _ms(b_above),
         b_above / a_above if a_above > 0 else None),
        ("whole-dataset count", _ms(a_whole), _ms(b_whole), b_whole / a_whole),
    ]  # fmt: skip
    print(f"\n{result.backend}")
    print(f"  {'':<36} {'A bitmap':>12} {'B row/call':>12} {'B/A':>7}")
    for label, a, b, ratio in rows:
        shown = "" if ratio is None else f"{ratio:.2f}"
        print(f"  {label:<36} {a:>12} {b:>12} {shown:>7}")
    print(f"  round trips alone: {queries:,} x 'select 1' = {_ms(floor)}")
    print("  B query forms (* = the fastest, used above):")
    for kind, timings in (("point", result.point_b), ("whole", result.whole_b)):
        best = _fastest(timings)
        for timed in timings:
            mark = "*" if timed is best else " "
            setup = f" (set-up {_ms(timed.setup)})" if timed.setup >= 5e-5 else ""
            print(f"   {mark} {kind:<6} {_ms(timed.seconds):>10}  {timed.form}{setup}")
    print(flush=True)


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


def _mb(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.1f} MB"


if __name__ == "__main__":
    sys.exit(main())
