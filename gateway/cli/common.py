"""Pieces the commands share: the database they open, and progress on stderr.

The command modules import services, storage and their libraries inside the functions that
use them: ``gateway translate vcf`` is timed as a whole command, start-up included, and the
whole service stack (FastAPI, SQLAlchemy, jsonschema's format checkers) costs over a second to
import.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from gateway.errors import BadRequest

if TYPE_CHECKING:
    from tqdm import tqdm

    from gateway.settings import Settings
    from gateway.storage.database import Database


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The configured database, upgraded to the latest migration first."""
    from gateway.storage.database import open_database, upgrade

    db = open_database(settings.database_url)
    try:
        await upgrade(db)
        yield db
    finally:
        await db.dispose()


class Progress:
    """A progress bar on a terminal; a plain line every 10% otherwise."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._bar: tqdm[Any] | None = None
        self._next_tenth = 1

    def __call__(self, done: int, total: int) -> None:
        if sys.stderr.isatty():
            self._bar_update(done, total)
        elif total and done * 10 >= self._next_tenth * total:
            self._next_tenth = done * 10 // total + 1
            print(f"{self._label}: {min(100, done * 100 // total)}%", file=sys.stderr)

    def _bar_update(self, done: int, total: int) -> None:
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc=self._label, unit="B", unit_scale=True, file=sys.stderr
            )
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class whole_file:
    """A file written through a temporary sibling and renamed into place on success, removed
    on failure: a failed translation never leaves half a Bundle behind."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._temporary: Path | None = None
        self._handle: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        try:
            fd, name = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.")
        except OSError as exc:
            raise BadRequest(f"{self._path}: {exc.strerror or exc}") from None
        self._temporary = Path(name)
        self._handle = os.fdopen(fd, "wb", buffering=1 << 20)
        return self._handle

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        assert self._handle is not None
        assert self._temporary is not None
        self._handle.close()
        if kind is None:
            # mkstemp makes the file private; the result gets the usual mode (umask).
            umask = os.umask(0)
            os.umask(umask)
            self._temporary.chmod(0o666 & ~umask)
            os.replace(self._temporary, self._path)
        else:
            self._temporary.unlink(missing_ok=True)
