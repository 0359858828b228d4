"""Use case: the demo cohort a newcomer can query at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from gateway.demo.records import demo_records
from gateway.demo.synthetic import MANIFEST_NAME, write_demo
from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import ConsentBasis, Granularity, SecurityLevel
from gateway.services.ingest_vcf import IngestReport, Progress, VcfIngest, ingest_vcf
from gateway.services.records import RecordService
from gateway.storage.database import Database

DEMO_DATASET = "demo-cohort"
DEMO_PROFILE = "de-isik-fhir"


@dataclass(frozen=True, slots=True)
class DemoReport:
    variants: IngestReport
    records_stored: int  # national records new to the store (0 when loaded before)
    records: int
    example_identifier: str | None  # a citizen whose $summary the demo can show


async def load_demo(
    database: Database,
    folder: Path,
    records: RecordService,
    progress: Progress | None = None,
) -> DemoReport:
    """The demo cohort's variants, then a national record for each linked citizen."""
    variants = await _load_variants(database, folder, progress)
    made = await asyncio.to_thread(demo_records, folder / MANIFEST_NAME)
    stored = 0
    for item in made:
        result = await records.ingest(item.body, DEMO_PROFILE, "operator (gateway demo)")
        stored += result.outcome != "unchanged"
    return DemoReport(variants, stored, len(made), made[0].identifier if made else None)


async def _load_variants(
    database: Database, folder: Path, progress: Progress | None
) -> IngestReport:
    files = await asyncio.to_thread(write_demo, folder)
    job = VcfIngest(
        path=files.vcf,
        dataset=DEMO_DATASET,
        manifest=files.manifest,
        policy=PolicyChange(
            security_level=SecurityLevel.PUBLIC,
            max_granularity=Granularity.COUNT,
            consent_basis=ConsentBasis.CITIZEN,
        ),
    )
    return await ingest_vcf(database, job, progress)
