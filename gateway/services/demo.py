"""Use case: the demo cohort a newcomer can query at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.demo.synthetic import write_demo
from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import ConsentBasis, Granularity, SecurityLevel
from gateway.services.ingest_vcf import IngestReport, Progress, VcfIngest, ingest_vcf
from gateway.storage.database import Database

DEMO_DATASET = "demo-cohort"


async def load_demo(
    database: Database, folder: Path, progress: Progress | None = None
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
