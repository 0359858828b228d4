"""Shared fixtures: the read-only reference corpus in ../shared and database back ends."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.settings import Settings
from tests.support.databases import empty_postgres, scratch_postgres

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def require_shared() -> Path:
    """The ../shared corpus; skip when it is absent outside CI, fail in CI."""
    if SHARED.is_dir():
        return SHARED
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the shared corpus at {SHARED}")
    pytest.skip(f"shared corpus not found at {SHARED}")


@pytest.fixture(scope="session")
def shared() -> Path:
    return require_shared()


@pytest.fixture(scope="session")
def thousand_genomes_vcf(shared: Path) -> Path:
    """Real 1000 Genomes GRCh38 chr22 slice: 2,548 samples, 3,042 records (read in place)."""
    return shared / "data" / "vcf" / "test_1000G_hg38.vcf.gz"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session when GATEWAY_TEST_DATABASE_URL is set."""
    base = os.environ.get("GATEWAY_TEST_DATABASE_URL")
    if not base:
        yield None
        return
    with scratch_postgres(base) as url:
        yield url


@pytest.fixture
def database_url(tmp_path: Path, postgres_url: str | None) -> str:
    """The back end under test: a new SQLite file, or the session's PostgreSQL emptied."""
    if postgres_url is None:
        return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    empty_postgres(postgres_url)
    return postgres_url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        pki_dir=tmp_path / "certs",
        profiles_dir=REPO / "profiles",
        small_count_floor=0,
        log_level="WARNING",
    )
