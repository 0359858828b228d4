"""``gateway demo``: generate and load the synthetic demo cohort."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.common import Progress, database

if TYPE_CHECKING:
    from gateway.settings import Settings


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="load the demo data into the configured database",
        description="Generate the deterministic synthetic cohort (VCF + sample manifest) "
        "under --out and ingest it as dataset 'demo-cohort', then a German national record "
        "(ISiK FHIR) for each linked citizen. Loading twice changes nothing.",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("var/demo"),
        help="where the generated files go (default var/demo)",
    )
    demo.set_defaults(run=run)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    progress = Progress("demo")
    from gateway.services.demo import load_demo
    from gateway.services.records import RecordService, open_profiles

    profiles = open_profiles(settings.profiles_dir)
    async with database(settings) as db:
        records = RecordService(
            db, profiles, country=settings.country, max_bytes=settings.record_max_bytes
        )
        try:
            report = await load_demo(db, args.out, records, progress)
        finally:
            progress.close()
    variants = report.variants
    state = (
        "already loaded" if variants.already_ingested else f"{variants.variants} variants stored"
    )
    print(f"{variants.dataset}: {state} ({variants.samples} samples)")
    print(f"national records: {report.records_stored} of {report.records} stored")
    if report.example_identifier:
        print(f"example citizen: {report.example_identifier}")
    return 0
