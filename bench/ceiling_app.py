"""The query bench's second reference: FastAPI plus one raw indexed look-up, nothing else.

``bench.bare_app`` touches no database, so the gateway / bare ratio mixes two costs: the
database round trip that any Beacon server pays, and the gateway's own work around it
(validation, policy, consent masks, the Beacon body). This app pays only the first. It serves
the route the bench queries (``/beacon/g_variants?referenceName=..&start=..&referenceBases=..
&alternateBases=..``) with ONE sequence look-up on the gateway's own store, through the raw
driver (asyncpg or aiosqlite, no SQLAlchemy), and answers a small constant-shaped count body::

    {"responseSummary": {"exists": true, "numTotalResults": 7}}

``numTotalResults`` is the number of carriers (a popcount of the ``carriers`` bitmaps of the
rows found). The look-up uses the ``ix_variants_locus`` index (chromosome, start, assembly) as
the gateway's own query does. There is no policy, no consent filter and no validation beyond
FastAPI's typed query parameters, so the gateway's throughput can approach this app's but not
pass it: it is a ceiling. uvicorn runs with the same settings as ``gateway serve`` and
``bench.bare_app`` (one process, default loop and HTTP implementation, no access log).

    python -m bench.ceiling_app --database-url postgresql+asyncpg://postgres@127.0.0.1/DB \\
        [--host 127.0.0.1] [--port 8099]
    python -m bench.ceiling_app --database-url sqlite+aiosqlite:///PATH/query-10000.db
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, Protocol

import aiosqlite
import asyncpg
import uvicorn
from fastapi import FastAPI, Query
from sqlalchemy.engine import URL, make_url

# The columns of gateway/storage/tables.py; chromosomes are stored without "chr" ("22"), and
# ``start`` is 0-based, as the Beacon request gives it.
POSTGRES_QUERY = (
    "SELECT id, dataset_id, carriers FROM variants "
    "WHERE chromosome = $1 AND start = $2 AND reference = $3 AND alternate = $4"
)
SQLITE_QUERY = (
    "SELECT id, dataset_id, carriers FROM variants "
    "WHERE chromosome = ? AND start = ? AND reference = ? AND alternate = ?"
)
POOL_MIN, POOL_MAX = 4, 20
# aiosqlite runs each connection in its own thread; a few let look-ups overlap.
SQLITE_CONNECTIONS = 4

DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")

Key = tuple[str, int, str, str]


class Store(Protocol):
    async def carriers(self, key: Key) -> list[bytes]:
        """The ``carriers`` bitmap of every stored variant matching ``key``."""
        ...

    async def close(self) -> None: ...


class PostgresStore:
    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, url: URL) -> PostgresStore:
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return cls(await asyncpg.create_pool(dsn, min_size=POOL_MIN, max_size=POOL_MAX))

    async def carriers(self, key: Key) -> list[bytes]:
        rows = await self._pool.fetch(POSTGRES_QUERY, *key)
        return [row[2] for row in rows]

    async def close(self) -> None:
        await self._pool.close()


class SqliteStore:
    def __init__(self, connections: list[aiosqlite.Connection]) -> None:
        self._connections = connections
        self._idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        for connection in connections:
            self._idle.put_nowait(connection)

    @classmethod
    async def open(cls, url: URL) -> SqliteStore:
        if not url.database or url.database == ":memory:":
            raise SystemExit("bench.ceiling_app: name a SQLite file in --database-url")
        connections = [await aiosqlite.connect(url.database) for _ in range(SQLITE_CONNECTIONS)]
        return cls(connections)

    async def carriers(self, key: Key) -> list[bytes]:
        connection = await self._idle.get()
        try:
            # One hop to the connection's thread: execute and fetch together.
            rows = await connection.execute_fetchall(SQLITE_QUERY, key)
        finally:
            self._idle.put_nowait(connection)
        return [row[2] for row in rows]

    async def close(self) -> None:
        for connection in self._connections:
            await connection.close()


async def open_store(url: URL) -> Store:
    if url.drivername == "postgresql+asyncpg":
        return await PostgresStore.open(url)
    return await SqliteStore.open(url)


def create_app(database_url: str) -> FastAPI:
    url = make_url(database_url)
    if url.drivername not in DRIVERS:
        raise SystemExit(
            f"bench.ceiling_app: unsupported driver {url.drivername!r}; use "
            "postgresql+asyncpg://USER@HOST/DB or sqlite+aiosqlite:///PATH"
        )
    store: list[Store] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        store.append(await open_store(url))
        try:
            yield
        finally:
            await store.pop().close()

    app = FastAPI(
        title="bench ceiling app",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )

    @app.get("/beacon/g_variants")
    async def g_variants(
        reference_name: Annotated[str, Query(alias="referenceName")],
        start: int,
        reference_bases: Annotated[str, Query(alias="referenceBases")],
        alternate_bases: Annotated[str, Query(alias="alternateBases")],
    ) -> dict[str, Any]:
        """One indexed look-up and a count body."""
        key = (reference_name.removeprefix("chr"), start, reference_bases, alternate_bases)
        bitmaps = await store[0].carriers(key)
        count = sum(int.from_bytes(bitmap, "little").bit_count() for bitmap in bitmaps)
        return {"responseSummary": {"exists": bool(bitmaps), "numTotalResults": count}}

    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ceiling_app",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        required=True,
        help="the gateway's store: postgresql+asyncpg://… or sqlite+aiosqlite:///…",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)
    app = create_app(args.database_url)
    # Keep in step with gateway/cli/serve.py and bench/bare_app.py.
    uvicorn.run(
        app, host=args.host, port=args.port, log_config=None, access_log=False, server_header=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
