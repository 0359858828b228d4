"""Engine creation and schema migrations for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    DBAPIError,
    IntegrityError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.errors import BadRequest, Conflict, Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


@dataclass(frozen=True, slots=True)
class Database:
    """The engines the services share: one for transactions, one for plain reads.

    Both hand out connections whose driver errors arrive as the gateway's own errors
    (``Unavailable``, ``Conflict``), with the driver's one-line reason and never the SQL
    parameters, which may hold identifiers.
    """

    engine: AsyncEngine
    reader: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads: autocommit, so no BEGIN/ROLLBACK round trips per query."""
        with translated_errors():
            async with self.reader.connect() as connection:
                yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, committed when the block ends without error."""
        with translated_errors():
            async with self.engine.begin() as connection:
                yield connection

    async def dispose(self) -> None:
        await self.engine.dispose()
        await self.reader.dispose()


def open_database(url: str) -> Database:
    """Create the engine for ``url`` (``sqlite+aiosqlite://`` or ``postgresql+asyncpg://``).

    :raises BadRequest: the URL names no back end the gateway supports.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BadRequest(f"GATEWAY_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise BadRequest(
            f"GATEWAY_DATABASE_URL uses {parsed.drivername!r}; use sqlite+aiosqlite:///PATH "
            "or postgresql+asyncpg://USER@HOST/DB"
        )
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise BadRequest(
                "GATEWAY_DATABASE_URL: in-memory SQLite is not supported (every "
                "connection would see its own empty database); name a file"
            )
        _ensure_sqlite_folder(parsed.database)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_writer)
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        # sqlite3 opens no transaction for a SELECT, so readers need neither an isolation
        # switch nor a ROLLBACK on check-in: each would be one more hop to aiosqlite's thread.
        reader = create_async_engine(url, pool_size=10, pool_reset_on_return=None)
        event.listen(reader.sync_engine, "connect", _sqlite_pragmas)
    else:
        # Connections are recycled rather than pinged (a ping costs a round trip per request);
        # the pool holds enough for a busy worker, so overflow connections are not opened and
        # closed under load.
        engine = create_async_engine(url, pool_size=20, max_overflow=10, pool_recycle=1800)
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    return Database(engine, reader)


def _ensure_sqlite_folder(database: str) -> None:
    folder = Path(database).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        message = f"cannot create the database folder {folder}: {exc.strerror}"
        raise Unavailable(message) from exc


def _sqlite_writer(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    # SQLAlchemy's documented recipe for aiosqlite: let SQLAlchemy emit BEGIN itself...
    dbapi_connection.isolation_level = None


def _begin_immediate(connection: Connection) -> None:
    # ...as BEGIN IMMEDIATE, so a writer takes the write lock before it reads: two ingests
    # into one dataset then queue up instead of failing on a stale snapshot.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets Beacon readers run while an ingest transaction writes; foreign keys are off
    # by default in SQLite; a busy timeout turns lock contention into waiting, not errors.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def upgrade(database: Database) -> None:
    """Bring the schema to the latest migration (every command does this first).

    :raises Unavailable: the database cannot be reached or migrated.
    """
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_upgrade_on)
    except (SQLAlchemyError, OSError) as exc:
        raise Unavailable(f"database unavailable: {_one_line(exc)}") from exc


def _upgrade_on(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@contextmanager
def translated_errors() -> Iterator[None]:
    """Driver errors as the gateway's errors: conflicts are 409, the rest 503."""
    try:
        yield
    except IntegrityError as exc:
        raise Conflict(f"conflicting concurrent write: {_one_line(exc)}; try again") from exc
    except DataError as exc:
        raise BadRequest(f"value refused by the database: {_one_line(exc)}") from exc
    except DBAPIError as exc:
        if _is_data_exception(exc):
            raise BadRequest(f"value refused by the database: {_one_line(exc)}") from exc
        raise Unavailable(f"database unavailable: {_one_line(exc)}") from exc
    except OSError as exc:
        raise Unavailable(f"database unavailable: {_one_line(exc)}") from exc


def _is_data_exception(exc: DBAPIError) -> bool:
    # SQLSTATE class 22 (a NUL in text, a string too long for its column...) is the value's
    # fault, not the database's; asyncpg's adapter raises these as plain DBAPIErrors.
    return str(getattr(exc.orig, "sqlstate", None) or "").startswith("22")


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
