"""Where a signed ``$summary`` request spends its time, in-process (no sockets, no uvicorn).

The app comes from ``create_app`` and is called through ``httpx.ASGITransport`` on a store
that ``bench.summary`` sets up the same way (fresh database, signing keys, the 40-entry
patient, one client). It prints:

- wall and CPU time per request of the whole route, one request at a time and
  ``--concurrency`` at a time, beside a bare route answering the same bytes through the same
  transport;
- the same for each step the route takes, called on its own: token verification, the records
  and consent read, the genomic reports read, the audit write, rendering the cached signed
  document; and, for scale, ``select 1`` on an open connection of the raw driver;
- a cProfile of ``--requests`` sequential requests, top functions by own and cumulative time.

It is a diagnostic: to call the steps one by one it reaches into the services' private
attributes, so a refactoring of ``SummaryService`` may need it changed too.

    python -m bench.summary_profile [--backend sqlite|postgres] [--requests 300]
        [--concurrency 8] [--top 25]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import asyncpg
import httpx
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from bench import BenchError
from bench.bare_app import body_app
from bench.bench_client import FORM_TYPE, TOKEN_PATH, BenchClient
from bench.summary import build_store
from gateway.app import create_app
from gateway.settings import Settings
from gateway.storage.patients import PatientRepository, decode_record
from gateway.storage.summary_state import summary_state
from gateway.storage.tables import patient_records

BASE = "http://127.0.0.1:8080"  # the in-process app's public base URL (token audience)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.summary_profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    try:
        env, patient_id, client = build_store(args.backend)
    except BenchError as exc:
        print(f"not measured: {exc}", file=sys.stderr)
        return 1
    settings = Settings(
        database_url=env["GATEWAY_DATABASE_URL"],
        pki_dir=env["GATEWAY_PKI_DIR"],
        country=env["GATEWAY_COUNTRY"],
        base_url=BASE,
        log_level="WARNING",
    )
    asyncio.run(_profile(create_app(settings), patient_id, client, args))
    return 0


async def _profile(app: FastAPI, patient_id: str, client: BenchClient, args: Any) -> None:
    path = f"/fhir/Patient/{patient_id}/$summary"
    async with app.router.lifespan_context(app):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)
        answer = await http.post(
            TOKEN_PATH, content=client.token_form(BASE), headers={"Content-Type": FORM_TYPE}
        )
        token = answer.json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        body = (await http.get(path)).content
        bare = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=body_app(body, path, "application/fhir+json")),
            base_url=BASE,
        )
        print(
            f"{path}: {len(body) / 1000:.1f} KB; each figure: best of {ROUNDS} rounds of "
            f"{args.requests} calls; wall ms / CPU ms (the whole process, all threads) per call"
        )
        for label, caller in (("gateway $summary", http), ("bare route, same bytes", bare)):
            for concurrency in (1, args.concurrency):
                figure = await _timed(_closed_loop(caller, path, concurrency), args.requests)
                print(f"  {label}, {concurrency} at a time: {figure}")
        await _steps(app, patient_id, token, args.requests)
        await _cprofile(http, path, args.requests, args.top)


ROUNDS = 3
Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Figure:
    wall_ms: float
    cpu_ms: float

    def __str__(self) -> str:
        return f"{self.wall_ms:7.3f} / {self.cpu_ms:7.3f}"


async def _timed(call: Callable[[int], Awaitable[None]], calls: int) -> Figure:
    """Per call: the best wall and CPU time over ``ROUNDS`` rounds of ``calls`` calls."""
    await call(min(calls, 20))  # warm: caches, pools, prepared statements
    walls, cpus = [], []
    for _ in range(ROUNDS):
        wall, cpu = time.perf_counter(), time.process_time()
        await call(calls)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Figure(min(walls) / calls * 1e3, min(cpus) / calls * 1e3)


def _closed_loop(
    caller: httpx.AsyncClient, path: str, concurrency: int
) -> Callable[[int], Awaitable[None]]:
    """``calls`` GETs of ``path`` with ``concurrency`` callers, each sending the next when its
    answer is in."""

    async def run(calls: int) -> None:
        left = calls

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                answer = await caller.get(path)
                if answer.status_code != 200:
                    raise BenchError(f"answered {answer.status_code}: {answer.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    return run


@asynccontextmanager
async def _raw_connection(url: str) -> AsyncIterator[Callable[[str], Awaitable[object]]]:
    """One connection of the driver itself (asyncpg, aiosqlite), without SQLAlchemy."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        connection = await asyncpg.connect(
            parsed.set(drivername="postgresql").render_as_string(False)
        )
        try:
            yield connection.fetch
        finally:
            await connection.close()
        return
    async with aiosqlite.connect(str(parsed.database)) as lite:
        yield lite.execute_fetchall


def _repeated(step: Call) -> Callable[[int], Awaitable[None]]:
    async def run(calls: int) -> None:
        for _ in range(calls):
            await step()

    return run


async def _steps(app: FastAPI, patient_id: str, token: str, requests: int) -> None:
    """Each step of the route on its own, one at a time."""
    services = app.state.services
    oauth, summaries, audit, database = (
        services.oauth,
        services.summaries,
        services.audit,
        services.summaries._database,
    )
    who = await oauth.requester(f"Bearer {token}", None, None)
    async with database.read() as connection:
        raw = (
            await connection.execute(
                select(patient_records.c.record).where(patient_records.c.patient_id == patient_id)
            )
        ).scalar_one()

    async def verify() -> None:
        oauth.issuer.verify(token, datetime.now(UTC), None)

    async def requester() -> None:
        await oauth.requester(f"Bearer {token}", None, None)

    async def select_one() -> None:
        async with database.read() as connection:
            await connection.execute(text("select 1"))

    async with _raw_connection(services.settings.database_url) as driver:

        async def raw_select_one() -> None:
            await driver("select 1")

        raw_figure = await _timed(_repeated(raw_select_one), requests)

    async def records() -> None:
        async with database.read() as connection:
            await PatientRepository(connection).records(patient_id)

    async def decode() -> None:
        decode_record(raw)

    async def consent() -> None:
        async with database.read() as connection:
            await summaries._gate.release(connection, patient_id, who)

    async def read() -> None:
        await summaries._read(patient_id, who, "operation", "Bundle")

    async def reports() -> None:
        await services.genomics.reports(patient_id)

    async def write_audit() -> None:
        await audit.record("operation", "success", patient_id=patient_id, what="Bundle/x")

    async def fingerprint() -> None:
        async with database.read() as connection:
            await summary_state(connection, patient_id)

    async def whole_service() -> None:
        await summaries.summary(patient_id, who)

    print("  steps, one at a time: wall ms / CPU ms per call")
    print(f"    {'select 1 on an open raw driver connection':<46} {raw_figure}")
    for label, step in (
        ("access token: kept verified, lifetime checked", verify),
        ("requester (token, claims, scope)", requester),
        ("one read connection, select 1", select_one),
        ("stored records read (query + decode)", records),
        ("  of which decode_record (pydantic)", decode),
        ("consent release (3 queries)", consent),
        ("records + consent, one connection", read),
        ("genomic reports read (2 queries)", reports),
        ("summary fingerprint (1 statement)", fingerprint),
        ("audit write (group commit, alone)", write_audit),
        ("SummaryService.summary (all but the token)", whole_service),
    ):
        print(f"    {label:<46} {await _timed(_repeated(step), requests)}")


async def _cprofile(http: httpx.AsyncClient, path: str, requests: int, top: int) -> None:
    """cProfile of sequential requests (the event loop's thread: where the CPU time goes;
    work handed to threads, such as aiosqlite's, shows only as waiting)."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        await http.get(path)
    profile.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(top)
        print(f"  cProfile, {requests} requests, by {order}:")
        print(out.getvalue())


if __name__ == "__main__":
    sys.exit(main())
