"""Build large benchmark VCFs by resampling the real 1000 Genomes chr22 slice.

Each output record is a source record picked at random (fixed seed) and placed at a new,
strictly increasing position on chr22. REF, ALT, INFO and the genotype columns stay as they
are, so the genotype spectrum is real (2,548 samples, ~234 carriers per record). With
``--samples K`` only the first K samples are kept, AC/AN are recomputed for them and records
none of them carries are not drawn: that builds the many-variant query stores quickly.

    python -m bench.make_vcf --records 100000 --out X.vcf.gz [--samples K] [--seed S]
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import pysam

from bench import SOURCE_VCF, cache_dir

DEFAULT_SEED = 22
CHR22_LENGTH = 50_818_468
_FLUSH_EVERY = 2_000  # lines per write: a few MB, never the whole file


def build(
    source: Path, out: Path, *, records: int, samples: int | None = None, seed: int = DEFAULT_SEED
) -> Path:
    """Write a bgzipped, tabix-indexed VCF of ``records`` resampled records to ``out``.

    :raises ValueError: the request does not fit on chr22 or no record is usable.
    """
    header, first_pos, pool = _read_source(source, samples)
    # Mean gap that still fits the records between the slice's start and the end of chr22.
    max_gap = min(60, 2 * (CHR22_LENGTH - first_pos - 1_000) // max(records, 1))
    if records < 1 or max_gap < 2:
        raise ValueError(f"{records} records do not fit on chr22")
    rng = random.Random(seed)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with pysam.BGZFile(str(partial), "wb", index=None) as bgzf:
            bgzf.write(header)
            position = first_pos
            chunk: list[bytes] = []
            for _ in range(records):
                position += rng.randint(1, max_gap)
                chunk.append(b"chr22\t%d\t%s" % (position, pool[rng.randrange(len(pool))]))
                if len(chunk) == _FLUSH_EVERY:
                    bgzf.write(b"".join(chunk))
                    chunk.clear()
            bgzf.write(b"".join(chunk))
        pysam.tabix_index(str(partial), preset="vcf", force=True)
        # Rename only once complete, so an interrupted build never looks like a cached one.
        os.replace(f"{partial}.tbi", f"{out}.tbi")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.tbi").unlink(missing_ok=True)
    return out


def cached(
    records: int, samples: int | None = None, *, seed: int = DEFAULT_SEED, source: Path = SOURCE_VCF
) -> Path:
    """The benchmark VCF for these arguments under ``bench/.cache``, built when missing."""
    out = cache_dir() / f"chr22-{records}-{samples or 'all'}-seed{seed}.vcf.gz"
    if not (out.exists() and Path(f"{out}.tbi").exists()):
        print(f"building {out.name} ({records:,} records)…", file=sys.stderr, flush=True)
        build(source, out, records=records, samples=samples, seed=seed)
    return out


def _read_source(source: Path, samples: int | None) -> tuple[bytes, int, list[bytes]]:
    """The header, the first POS and every record from ID on (trimmed to ``samples``)."""
    header: list[bytes] = []
    pool: list[bytes] = []
    first_pos = 0
    with gzip.open(source, "rb") as lines:
        for line in lines:
            if line.startswith(b"##"):
                header.append(line)
            elif line.startswith(b"#"):
                header.append(
                    b"##source=bench.make_vcf: records resampled from %s\n" % source.name.encode()
                )
                header.append(_trim(line, samples))
            else:
                _chrom, pos, rest = line.split(b"\t", 2)
                first_pos = first_pos or int(pos)
                kept = _trim(rest, samples, offset=2) if samples else rest
                if kept:
                    pool.append(kept)
    if not pool:
        raise ValueError(f"{source}: no record carries an ALT allele in the kept samples")
    return b"".join(header), first_pos, pool


def _trim(line: bytes, samples: int | None, *, offset: int = 0) -> bytes:
    """Keep the first ``samples`` genotype columns. On records (``offset`` 2: CHROM and POS
    already split off) recompute AC/AN and return b"" when no kept sample carries an ALT."""
    if samples is None:
        return line
    fields = line.rstrip(b"\n").split(b"\t")
    keep = 9 - offset + samples
    fields = fields[:keep]
    if offset:
        # The 1000G slice is biallelic with one-digit alleles, so characters count alleles.
        alleles = b"".join(fields[9 - offset :]).replace(b"|", b"").replace(b"/", b"")
        carried = len(alleles) - alleles.count(b"0") - alleles.count(b".")
        if not carried:
            return b""
        called = len(alleles) - alleles.count(b".")
        fields[7 - offset] = b"AC=%d;AN=%d" % (carried, called)
    return b"\t".join(fields) + b"\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.make_vcf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", type=Path, default=SOURCE_VCF)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--samples",
        "--sites-samples",
        dest="samples",
        type=int,
        default=None,
        metavar="K",
        help="keep only the first K samples",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    try:
        build(args.source, args.out, records=args.records, samples=args.samples, seed=args.seed)
    except (OSError, ValueError) as exc:
        print(f"make_vcf: {exc}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
