"""A test store loaded as ``gateway ingest`` loads one: through an engine of its own, migrated
first, then each VCF ingest job in turn."""

from __future__ import annotations

from gateway.services.ingest_vcf import VcfIngest, ingest_vcf
from gateway.settings import Settings
from gateway.storage.database import open_database, upgrade

__all__ = ["load"]


async def load(settings: Settings, *jobs: VcfIngest) -> None:
    database = open_database(settings.database_url)
    try:
        await upgrade(database)
        for job in jobs:
            await ingest_vcf(database, job)
    finally:
        await database.dispose()
