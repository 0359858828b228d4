"""Ingest throughput: ``gateway ingest vcf`` against a cyvcf2 decode of the same file.

The file is ≥100k records resampled from the 1000 Genomes slice with all 2,548 samples
(``bench.make_vcf``, cached under ``bench/.cache``). Every figure is a whole command run as a
subprocess, wall clock, best of ``--repeat`` runs: the reference decodes every record's
genotypes with cyvcf2 (``gt_types``, DESIGN.md §5: ~6k records/s on this machine class); the
gateway ingests into a fresh SQLite file and a fresh PostgreSQL database. Goal: the gateway
reaches ≥ 0.30 of the reference rate on each back end.

    python -m bench.ingest [--records 100000] [--repeat 2] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import (
    GATEWAY,
    PYTHON,
    BenchError,
    best_of,
    cache_dir,
    fresh_postgres,
    gateway_env,
    gateway_missing,
    goal,
    remove_sqlite,
    sqlite_url,
)
from bench.make_vcf import cached

GOAL = 0.30
# The reference, as a script of its own so that it pays the same start-up as the gateway does.
CYVCF2_DECODE = """\
import sys
from cyvcf2 import VCF
count = 0
for variant in VCF(sys.argv[1]):
    variant.gt_types
    count += 1
print(count)
"""


@dataclass(frozen=True, slots=True)
class Timing:
    label: str
    seconds: float
    records: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args(argv)
    vcf = cached(args.records)
    print(
        f"ingest bench: {args.records:,} records x 2,548 samples ({vcf.name}), "
        f"wall clock of whole commands, best of {args.repeat}",
        flush=True,
    )
    reference = Timing(
        "cyvcf2 decode, gt_types (reference)",
        best_of(args.repeat, [PYTHON, "-c", CYVCF2_DECODE, str(vcf)]),
        args.records,
    )
    rows, failures = [reference], []
    missing = gateway_missing()
    for backend in args.backends.split(","):
        try:
            if missing:
                raise BenchError(f"gateway CLI unavailable: {missing}")
            rows.append(_ingest(backend.strip(), vcf, args.records, args.repeat))
        except BenchError as exc:
            failures.append(f"{backend}: {exc}")
    _report(rows, reference)
    for failure in failures:
        print(f"not measured: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _ingest(backend: str, vcf: Path, records: int, repeat: int) -> Timing:
    """Time ``gateway ingest vcf`` into a database emptied before every run."""
    prepare: Callable[[], None]
    if backend == "sqlite":
        database = cache_dir() / "ingest-bench.db"
        url, label = sqlite_url(database), "gateway ingest -> SQLite"

        def prepare() -> None:
            remove_sqlite(database)
    elif backend == "postgres":
        url, label = fresh_postgres("bench_ingest"), "gateway ingest -> PostgreSQL"

        def prepare() -> None:
            fresh_postgres("bench_ingest")
    else:
        raise BenchError(f"unknown back end {backend!r}: use sqlite or postgres")
    command = [GATEWAY, "ingest", "vcf", str(vcf), "--dataset", "bench", "--replace"]
    seconds = best_of(repeat, command, env=gateway_env(url), prepare=prepare)
    return Timing(label, seconds, records)


def _report(rows: list[Timing], reference: Timing) -> None:
    print(f"{'what':<40} {'seconds':>8} {'records/s':>10} {'ratio':>6}  goal")
    for row in rows:
        ratio = row.rate / reference.rate
        verdict = "" if row is reference else goal(ratio, GOAL)
        print(f"{row.label:<40} {row.seconds:>8.2f} {row.rate:>10,.0f} {ratio:>6.2f}  {verdict}")


if __name__ == "__main__":
    sys.exit(main())
