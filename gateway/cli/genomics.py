"""``gateway translate vcf``: one sample of a VCF as a FHIR Genomics Reporting Bundle."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.common import whole_file

if TYPE_CHECKING:
    from gateway.settings import Settings


def add_translate_vcf(kinds: Any) -> None:
    vcf = kinds.add_parser(
        "vcf",
        help="write a FHIR Genomics Reporting Bundle for one sample of a VCF",
        description="One sample of a VCF, VCF.gz or BCF as a FHIR R4 Bundle: a genomic-report "
        "DiagnosticReport, one variant Observation per distinct non-reference allele the "
        "sample carries (HL7 Genomics Reporting STU3; 0-based interval coordinates), and "
        "sequence-phase relationships for phased alleles. Written as it is read: memory "
        "stays flat. A summary line on stderr counts what every record became.",
    )
    vcf.add_argument("file", type=Path, help="VCF, VCF.gz (bgzip) or BCF")
    vcf.add_argument("--sample", help="the sample column (required when the file has several)")
    where = vcf.add_mutually_exclusive_group()
    where.add_argument(
        "--region", help="chr:start-end, 1-based inclusive as bcftools reads it (or a contig)"
    )
    where.add_argument("--bed", type=Path, help="a BED file of regions (0-based half-open)")
    vcf.add_argument("--assembly", choices=["GRCh37", "GRCh38"], help="default: from the header")
    vcf.add_argument(
        "--all-filters", action="store_true", help="keep records whose FILTER is not PASS or '.'"
    )
    vcf.add_argument("-o", "--output", type=Path, help="write the Bundle here (default: stdout)")
    vcf.set_defaults(run=run_translate_vcf, needs_settings=False)


def run_translate_vcf(settings: Settings | None, args: argparse.Namespace) -> int:
    # Imported here: only this command needs pysam and the genomics builders, and it is timed
    # as a whole command.
    from gateway.fhir.datatypes import instant
    from gateway.ingest.genomic_calls import Region, parse_region, read_bed
    from gateway.services.translate_vcf import VcfTranslation, summary_line, translate_vcf

    regions: tuple[Region, ...] = ()
    if args.region is not None:
        regions = (parse_region(args.region, args.assembly),)
    elif args.bed is not None:
        regions = read_bed(args.bed)
    job = VcfTranslation(
        path=args.file,
        sample=args.sample,
        regions=regions,
        assembly=args.assembly,
        all_filters=args.all_filters,
    )
    issued = instant()
    if args.output is None:
        tally = translate_vcf(job, sys.stdout.buffer, issued=issued)
        sys.stdout.buffer.write(b"\n")
    else:
        with whole_file(args.output) as out:
            tally = translate_vcf(job, out, issued=issued)
    print(summary_line(tally, args.sample), file=sys.stderr)
    return 0
