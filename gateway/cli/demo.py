"""``gateway demo``: generate and load the synthetic demo cohort."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.cli.common import Progress, database
from gateway.services.demo import DEMO_DATASET, load_demo
from gateway.settings import Settings


def register(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="load the demo data into the configured database",
        description=f"Generate the deterministic synthetic cohort (VCF + sample manifest) "
        f"under --out and ingest it as dataset {DEMO_DATASET!r}. Loading twice changes nothing.",
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
    async with database(settings) as db:
        try:
            report = await load_demo(db, args.out, progress)
        finally:
            progress.close()
    state = "already loaded" if report.already_ingested else f"{report.variants} variants stored"
    print(f"{report.dataset}: {state} ({report.samples} samples)")
    return 0
