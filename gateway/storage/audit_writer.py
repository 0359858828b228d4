"""Group commit for the audit log: concurrent requests share one write transaction.

Every read of patient data appends one audit record, and each append must be durable before
the answer leaves. One transaction per record makes the chain's single writer the bottleneck
(SQLite lets one writer in at a time; on PostgreSQL the chain is extended under an advisory
lock), so records that arrive while a transaction is being written wait for the next one and
are committed together, in arrival order. Each caller still returns only once its own record
is committed, and sees the error if that transaction failed.
"""

from __future__ import annotations

import asyncio

from gateway.storage.audit import AuditEntry, AuditRepository
from gateway.storage.database import Database

__all__ = ["AuditWriter"]

_Waiting = tuple[AuditEntry, "asyncio.Future[None]"]


class AuditWriter:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._loop: asyncio.AbstractEventLoop | None = None
        self._turn = asyncio.Lock()
        self._waiting: list[_Waiting] = []

    async def append(self, entry: AuditEntry) -> None:
        """Append ``entry`` to the chain; return once it is committed.

        :raises GatewayError: the transaction holding the record failed (``Unavailable``...).
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A lock belongs to the loop it first waited in: a new loop (each CLI run, each
            # test client) gets a lock and a queue of its own.
            self._loop, self._turn, self._waiting = loop, asyncio.Lock(), []
        committed: asyncio.Future[None] = loop.create_future()
        self._waiting.append((entry, committed))
        async with self._turn:
            if not committed.done():  # nobody took it along while we waited: write it now
                await self._write_waiting(committed)
        committed.result()

    async def _write_waiting(self, own: asyncio.Future[None]) -> None:
        batch, self._waiting = self._waiting, []
        try:
            async with self._database.write() as connection:
                await AuditRepository(connection).append_many([entry for entry, _ in batch])
        except asyncio.CancelledError:
            # This request went away mid-write, and the transaction rolled back: the others'
            # records go back to the head of the queue for the next in line to write.
            self._waiting[:0] = [item for item in batch if item[1] is not own]
            raise
        except Exception as exc:
            for _, committed in batch:
                if not committed.done():
                    committed.set_exception(exc)
            return
        for _, committed in batch:
            if not committed.done():
                committed.set_result(None)
