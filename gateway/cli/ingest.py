"""``gateway ingest vcf``: load a VCF into a dataset of the variant store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.common import Progress, database
from gateway.cli.options import add_policy_flags, policy_change
from gateway.cli.records import add_ingest_record

if TYPE_CHECKING:
    from gateway.settings import Settings


def register(commands: Any) -> None:
    ingest = commands.add_parser("ingest", help="translate and store national records or VCFs")
    kinds = ingest.add_subparsers(dest="kind", required=True, metavar="KIND")
    vcf = kinds.add_parser(
        "vcf",
        help="store the variants and carriers of a VCF/BCF in a dataset",
        description="Store variants (one per ALT allele) and per-sample carriers of a VCF, "
        "bgzipped VCF or BCF. The same file again changes nothing; another file appends; "
        "--replace replaces. All or nothing: a failure leaves the dataset as it was.",
    )
    vcf.add_argument("file", type=Path, help="VCF, VCF.gz (bgzip) or BCF")
    vcf.add_argument("--dataset", required=True, help="dataset name (created if new)")
    vcf.add_argument("--assembly", help="GRCh38 or GRCh37 (default: from the VCF header)")
    vcf.add_argument(
        "--samples",
        type=Path,
        metavar="MANIFEST",
        help="TSV: sample_id, individual_id, sex, identifier (system|value)",
    )
    vcf.add_argument(
        "--replace", action="store_true", help="replace everything the dataset holds with this file"
    )
    vcf.add_argument(
        "--all-filters", action="store_true", help="keep records whose FILTER is not PASS or '.'"
    )
    add_policy_flags(vcf)
    vcf.set_defaults(run=run_vcf)
    add_ingest_record(kinds)


async def run_vcf(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services.ingest_vcf import VcfIngest, ingest_vcf

    job = VcfIngest(
        path=args.file,
        dataset=args.dataset,
        assembly=args.assembly,
        manifest=args.samples,
        replace=args.replace,
        all_filters=args.all_filters,
        policy=policy_change(args),
    )
    progress = Progress(f"ingest {args.file.name}")
    async with database(settings) as db:
        try:
            report = await ingest_vcf(db, job, progress)
        finally:
            progress.close()
    if report.already_ingested:
        policy = "policy updated" if report.policy_changed else "nothing changed"
        print(
            f"{report.dataset}: {args.file.name} already ingested (sha256 "
            f"{report.sha256[:12]}…); data unchanged, {policy}"
        )
    else:
        rate = report.variants / report.seconds if report.seconds else 0.0
        print(
            f"{report.dataset}: stored {report.variants} variants from {report.samples} "
            f"samples in {report.seconds:.1f} s ({rate:.0f} variants/s)"
        )
    return 0
