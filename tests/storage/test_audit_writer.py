"""Group commit of audit records: concurrent appends share transactions, lose nothing, keep
their order in one verifiable chain, and each caller learns whether its own record is in."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import event

from gateway.domain.audit import verify_chain
from gateway.errors import Unavailable
from gateway.storage.audit import AuditEntry, AuditRepository
from gateway.storage.audit_writer import AuditWriter
from gateway.storage.database import Database, open_database, upgrade

T = TypeVar("T")


def entry(number: int) -> AuditEntry:
    return AuditEntry(datetime.now(UTC), f"patient-{number}", f'{{"n":{number}}}'.encode())


def with_database(database_url: str, job: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        database = open_database(database_url)
        try:
            await upgrade(database)
            return await job(database)
        finally:
            await database.dispose()

    return asyncio.run(run())


async def stored(database: Database) -> list[bytes]:
    async with database.read() as connection:
        links = [link async for link in AuditRepository(connection).links()]
    count, problem = verify_chain(links)
    assert problem is None
    assert count == len(links)
    return [link.content for link in links]


def test_concurrent_records_share_transactions_and_form_one_chain(database_url):
    async def job(database: Database) -> tuple[list[bytes], int]:
        commits = 0

        def counted(_connection: object) -> None:
            nonlocal commits
            commits += 1

        event.listen(database.engine.sync_engine, "commit", counted)
        writer = AuditWriter(database)
        await asyncio.gather(*(writer.append(entry(n)) for n in range(40)))
        return await stored(database), commits

    contents, commits = with_database(database_url, job)
    assert sorted(contents) == sorted(entry(n).content for n in range(40))
    assert contents[0] == entry(0).content  # the first to arrive is written first
    assert 1 < commits < 40  # grouped: later arrivals wait for the next transaction together


def test_every_caller_whose_transaction_failed_gets_the_error():
    async def run() -> list[BaseException | None]:
        database = open_database("postgresql+asyncpg://postgres@127.0.0.1:9/unreachable")
        try:
            writer = AuditWriter(database)
            appends = (writer.append(entry(n)) for n in range(5))
            return list(await asyncio.gather(*appends, return_exceptions=True))
        finally:
            await database.dispose()

    outcomes = asyncio.run(run())
    assert all(isinstance(outcome, Unavailable) for outcome in outcomes), outcomes


def test_a_caller_that_goes_away_mid_write_loses_nobody_elses_record(database_url):
    async def job(database: Database) -> list[bytes]:
        writer = AuditWriter(database)
        leader = asyncio.create_task(writer.append(entry(0)))
        await asyncio.sleep(0.001)  # the leader is writing its transaction
        followers = [asyncio.create_task(writer.append(entry(n))) for n in (1, 2, 3)]
        await asyncio.sleep(0)
        leader.cancel()
        await asyncio.gather(*followers)
        await asyncio.gather(leader, return_exceptions=True)  # cancelled, or done before that
        return await stored(database)

    contents = with_database(database_url, job)
    assert {entry(n).content for n in (1, 2, 3)} <= set(contents)


def test_a_writer_keeps_working_on_a_new_event_loop(database_url):
    database = open_database(database_url)
    writer = AuditWriter(database)  # as an app's, used by one test client after another

    async def job() -> list[bytes]:
        try:
            await upgrade(database)
            await asyncio.gather(writer.append(entry(1)), writer.append(entry(2)))
            return await stored(database)
        finally:
            await database.dispose()

    asyncio.run(job())
    assert len(asyncio.run(job())) == 4
