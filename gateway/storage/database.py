"""Engine creation and schema migrations for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

from gateway.errors import BadRequest, Unavailable

MIGRATIONS = Path(__file__).parent / "migrations"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
AsyncConnectionContext = AbstractAsyncContextManager[AsyncConnection]


@dataclass(frozen=True, slots=True)
class Database:
    """The engine and the session factory the services share."""

    engine: AsyncEngine
    sessions: async_sessionmaker[Any]
    reader: AsyncEngine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def read(self) -> AsyncConnection:
        """A connection for reads: autocommit, so no BEGIN/ROLLBACK round trips per query."""
        return self.reader.connect()

    def write(self) -> AsyncConnectionContext:
        """A connection inside one transaction, committed when the block ends without error."""
        return self.engine.begin()

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
        _ensure_sqlite_folder(parsed.database)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
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
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False), reader)


def _ensure_sqlite_folder(database: str | None) -> None:
    if database and database != ":memory:":
        folder = Path(database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            message = f"cannot create the database folder {folder}: {exc.strerror}"
            raise Unavailable(message) from exc


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


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
