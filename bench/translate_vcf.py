"""VCF -> FHIR Genomics Reporting: ``gateway translate vcf`` against vcf2fhir 0.1.1, and memory.

**Throughput.** Both converters turn vcf2fhir's own sample ``HG00403A.vcf.gz`` (20,834
records, one sample, bgzipped + tabix) into FHIR, each as a whole command run as a subprocess,
so process start-up counts. vcf2fhir runs in a virtualenv of its own
(``bench.vcf2fhir_runner``) as ``Converter(path, 'GRCh38', 'HG00403A', has_tabix=True,
genomic_source_class='germline')``; the gateway as ``gateway translate vcf PATH --assembly
GRCh38 -o OUT`` (the same assembly, so both write the same accessions). The two alternate for
``--repeat`` rounds, so drift in the machine's load touches both; the best wall-clock time of
each counts. Rate = file records / seconds; the ratio is gateway / vcf2fhir, goal >= 30. The
peak RSS of a run is ``ru_maxrss`` from ``os.wait4`` on that very command, spawned from a bare
launcher interpreter so that the bench's own memory does not leak into it (:data:`_LAUNCHER`);
the table shows each side's highest. Each output's resources are counted by profile, a side
check that both did the work.

**Memory.** A synthetic single-sample GRCh38 VCF of ``--records`` (default 1,000,000) records
is generated once into ``bench/.cache`` (seeded, bgzipped, tabix-indexed): chr1..chrX in
proportion to their length; SNVs, indels, multi-allelic sites, a few ``<DEL>``/``<DUP>``,
sites with ALT ``.``; genotypes het, hom-alt, hom-ref, no-call and half-calls, about a quarter
of them phased in short PS blocks; AD/DP, FILTER PASS/LowQual/``.``, rs IDs, SnpEff ``ANN``
genes on a fifth of the sites. The gateway translates prefixes of that file (1,000 records,
10%, all of it), each with its own ``.tbi`` beside it as a user's file would have. Goals: peak
RSS under 300 MB on the whole file, and flat: the peak at 100% at most 1.10 x the peak at 10%.
MB here is 10^6 bytes.

    python -m bench.translate_vcf [--repeat 2] [--records 1000000] [--parts throughput,memory]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson
import pysam

from bench import GATEWAY, PYTHON, ROOT, BenchError, cache_dir, goal, run
from bench.vcf2fhir_runner import convert_command, ensure_venv

__all__ = ["generated", "main", "measure"]

SAMPLE_VCF = ROOT.parent / "shared" / "conformance" / "vcf-examples" / "HG00403A.vcf.gz"
ASSEMBLY = "GRCh38"
PATIENT = "HG00403A"
RATIO_GOAL = 30.0
PEAK_GOAL_MB = 300.0
FLAT_GOAL = 1.10
DEFAULT_SEED = 22
_FLOOR_RECORDS = 1_000
# ru_maxrss is in KiB on Linux and in bytes on macOS.
_RSS_BYTES = 1 if sys.platform == "darwin" else 1024
_TIMEOUT = 3600.0


# Why a launcher: on exec, Linux folds the peak RSS of the spawning process into the child's
# ru_maxrss (fs/exec.c, exec_mmap), so a command spawned straight from this bench would report at
# least the bench's own peak (hundreds of MB once it has counted a 70 MB output). A bare
# interpreter (-I -S, a few MB) spawns the command instead and reads that grandchild's rusage,
# as /usr/bin/time does. It times the command itself, so its own start-up is not counted.
_LAUNCHER = """\
import os, sys, time
report, argv = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.posix_spawnp(argv[0], argv, os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(report, "w") as out:
    out.write(f"{seconds} {usage.ru_maxrss}\\n")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass(frozen=True, slots=True)
class Run:
    """One whole command: wall-clock seconds, its own peak RSS (MB), its stderr."""

    seconds: float
    peak_mb: float
    stderr: str


def measure(command: Sequence[str], *, timeout: float = _TIMEOUT) -> Run:
    """Run ``command`` to completion through the launcher; its wall time and its own peak RSS.

    :raises BenchError: it failed or ran past ``timeout``; the message carries its stderr tail.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report, err_path = Path(scratch, "report"), Path(scratch, "stderr")
        with err_path.open("wb") as err:
            # A session of its own, so that a timeout or Ctrl-C ends the command with the launcher.
            process = subprocess.Popen(
                [PYTHON, "-I", "-S", "-c", _LAUNCHER, str(report), *command],
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
            timer = threading.Timer(timeout, _kill_group, (process.pid,))
            timer.start()
            try:
                returncode = process.wait()
            except BaseException:
                _kill_group(process.pid)
                process.wait()
                raise
            finally:
                timer.cancel()
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
        figures = report.read_text(encoding="ascii").split() if report.exists() else []
    if returncode or len(figures) != 2:
        tail = " | ".join(stderr.strip().splitlines()[-5:])
        killed = returncode == -signal.SIGKILL
        ended = f"killed after {timeout:g} s" if killed else f"exited {returncode}"
        raise BenchError(f"{Path(command[0]).name} {ended}: {tail}")
    return Run(float(figures[0]), int(figures[1]) * _RSS_BYTES / 1e6, stderr)


def _kill_group(pid: int) -> None:
    """End the launcher's session (it and the command it spawned); gone already is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def translate_command(vcf: Path, out: Path) -> list[str]:
    return [GATEWAY, "translate", "vcf", str(vcf), "--assembly", ASSEMBLY, "-o", str(out)]


def translate_missing() -> str | None:
    """Why ``gateway translate vcf`` cannot run here, or None when it answers ``--help``."""
    if not Path(GATEWAY).exists():
        return f"{GATEWAY} not found (install the project into this virtualenv)"
    try:
        run([GATEWAY, "translate", "vcf", "--help"], timeout=60)
    except BenchError as exc:
        return str(exc)
    return None


# --- throughput against vcf2fhir --------------------------------------------------------


@dataclass
class Side:
    label: str
    command: list[str]
    out: Path
    runs: list[Run]

    @property
    def best(self) -> float:
        return min(run.seconds for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_mb for run in self.runs)


def throughput(repeat: int) -> list[str]:
    """Time both converters on HG00403A, print the table; return what could not be measured."""
    if not SAMPLE_VCF.exists():
        return [f"throughput: {SAMPLE_VCF} not found (../shared is missing)"]
    records = count_records(SAMPLE_VCF)
    print(
        f"translate-vcf bench: {SAMPLE_VCF.name} ({records:,} records), whole commands, "
        f"wall clock, best of {repeat}, the two alternating",
        flush=True,
    )
    sides, failures = [], []
    try:
        out = cache_dir() / "translate-HG00403A.vcf2fhir.json"
        command = convert_command(ensure_venv(), SAMPLE_VCF, ASSEMBLY, PATIENT, out)
        sides.append(Side("vcf2fhir 0.1.1 (reference)", command, out, []))
    except BenchError as exc:
        failures.append(f"vcf2fhir: {exc}")
    missing = translate_missing()
    if missing:
        failures.append(f"gateway translate vcf unavailable: {missing}")
    else:
        out = cache_dir() / "translate-HG00403A.gateway.json"
        sides.append(Side("gateway translate vcf", translate_command(SAMPLE_VCF, out), out, []))
    for _ in range(repeat):
        for side in list(sides):
            side.out.unlink(missing_ok=True)
            try:
                side.runs.append(measure(side.command))
            except BenchError as exc:
                failures.append(f"{side.label}: {exc}")
                sides.remove(side)
    _report_throughput(sides, records)
    return failures


def _report_throughput(sides: list[Side], records: int) -> None:
    reference = next((side for side in sides if side.label.startswith("vcf2fhir")), None)
    print(
        f"{'what':<28} {'seconds':>8} {'records/s':>10} {'peak RSS':>9} {'output':>9} {'ratio':>6}"
    )
    for side in sides:
        ratio = reference.best / side.best if reference else None
        verdict = "" if side is reference or ratio is None else goal(ratio, RATIO_GOAL)
        line = (
            f"{side.label:<28} {side.best:>8.2f} {records / side.best:>10,.0f} "
            f"{side.peak_mb:>6.0f} MB {side.out.stat().st_size / 1e6:>6.1f} MB "
            f"{'-' if ratio is None else f'{ratio:.2f}':>6}  {verdict}"
        )
        print(line.rstrip())
    for side in sides:
        try:
            counts = count_resources(side.out).most_common()
            wrote = ", ".join(f"{n:,} {name}" for name, n in counts)
        except (orjson.JSONDecodeError, AttributeError) as exc:
            wrote = f"no FHIR JSON it could read ({exc})"
        print(f"  {side.label.split(' (')[0]} wrote: {wrote}")
        said = side.runs[-1].stderr.strip()
        if side is not reference and said:
            print(f"  it said: {said.splitlines()[-1]}")


def count_records(vcf: Path) -> int:
    """Data lines of a (b)gzipped VCF, counted apart from any VCF parser."""
    with gzip.open(vcf, "rb") as lines:
        return sum(1 for line in lines if not line.startswith(b"#"))


def count_resources(path: Path) -> Counter[str]:
    """Resources of a Bundle (entries) or a DiagnosticReport (itself + contained), by the last
    segment of their first meta.profile, else by resourceType."""
    document = orjson.loads(path.read_bytes())
    if document.get("resourceType") == "Bundle":
        resources = [entry.get("resource", {}) for entry in document.get("entry", [])]
    else:
        resources = [document, *document.get("contained", [])]
    counts: Counter[str] = Counter()
    for resource in resources:
        profiles = resource.get("meta", {}).get("profile") or [resource.get("resourceType", "?")]
        counts[str(profiles[0]).rsplit("/", 1)[-1]] += 1
    return counts


# --- memory on a generated file ---------------------------------------------------------


def memory(records: int, seed: int) -> list[str]:
    """Peak RSS of the gateway on growing prefixes of one generated file."""
    missing = translate_missing()
    if missing:
        return [f"memory: gateway translate vcf unavailable: {missing}"]
    full = generated(records, seed)
    sizes = sorted({min(_FLOOR_RECORDS, records), max(records // 10, 1), records})
    print(
        f"\nmemory: gateway translate vcf on prefixes of {full.name} "
        f"(synthetic, one sample, GRCh38), peak RSS of each command",
        flush=True,
    )
    print(f"{'records':>10} {'share':>6} {'seconds':>8} {'records/s':>10} {'peak RSS':>9}  output")
    out = cache_dir() / "translate-memory.gateway.json"
    peaks: dict[int, float] = {}
    for size in sizes:
        vcf = full if size == records else prefix(full, size)
        out.unlink(missing_ok=True)
        try:
            result = measure(translate_command(vcf, out))
            written = out.stat().st_size / 1e6
        except (BenchError, OSError) as exc:
            return [f"memory at {size:,} records: {exc}"]
        finally:
            out.unlink(missing_ok=True)  # the 1M-record Bundle runs to gigabytes
        peaks[size] = result.peak_mb
        print(
            f"{size:>10,} {size / records:>6.1%} {result.seconds:>8.2f} "
            f"{size / result.seconds:>10,.0f} {result.peak_mb:>6.0f} MB {written:>6.0f} MB",
            flush=True,
        )
    _report_memory(peaks, records)
    return []


def _report_memory(peaks: dict[int, float], records: int) -> None:
    tenth = peaks[max(records // 10, 1)]
    growth = peaks[records] / tenth
    print(
        f"  peak at 100% vs 10%: x{growth:.2f} ({peaks[records] - tenth:+.1f} MB)  "
        f"flat: {goal(growth, FLAT_GOAL, at_most=True)}; "
        f"peak {peaks[records]:.0f} MB: {goal(peaks[records], PEAK_GOAL_MB, at_most=True)}"
    )
    if records < 1_000_000:
        print(f"  note: {records:,} records; the issue asks for >= 1,000,000")


# --- the generated file -----------------------------------------------------------------

# GRCh38 primary assembly lengths (NCBI GRC assembly report), chromosomes 1..22 and X.
# fmt: off
_LENGTHS = (
    248_956_422, 242_193_529, 198_295_559, 190_214_555, 181_538_259, 170_805_979, 159_345_973,
    145_138_636, 138_394_717, 133_797_422, 135_086_622, 133_275_309, 114_364_328, 107_043_718,
    101_991_189, 90_338_345, 83_257_441, 80_373_285, 58_617_616, 64_444_167, 46_709_983,
    50_818_468, 156_040_895,
)
# fmt: on
GRCH38_LENGTHS = dict(zip([*(f"chr{n}" for n in range(1, 23)), "chrX"], _LENGTHS, strict=True))
_HEADER = """\
##fileformat=VCFv4.2
##reference=GRCh38
##source=bench.translate_vcf synthetic single-sample calls, seed {seed}
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=LowQual,Description="Low quality">
##ALT=<ID=DEL,Description="Deletion">
##ALT=<ID=DUP,Description="Duplication">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">
##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the variant">
##INFO=<ID=SVLEN,Number=A,Type=Integer,Description="Length of the structural variant">
##INFO=<ID=CIPOS,Number=2,Type=Integer,Description="Confidence interval around POS">
##INFO=<ID=CIEND,Number=2,Type=Integer,Description="Confidence interval around END">
##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: 'Allele | Annotation \
| Annotation_Impact | Gene_Name | Gene_ID'">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">
##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">
{contigs}#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSYNTH01
"""
# (genotype, weight) by kind of site; "0/." is a half-call, "./." a no-call.
_GENOTYPES = {
    "biallelic": (("0/1", 55), ("1/1", 33), ("0/0", 4), ("./.", 5), ("0/.", 3)),
    "multi": (("1/2", 50), ("0/2", 20), ("2/2", 10), ("0/1", 15), ("./.", 5)),
    "sv": (("0/1", 70), ("1/1", 30)),
    "ref": (("0/0", 70), ("./.", 30)),
}
# fmt: off
_GENES = (
    "BRCA1", "BRCA2", "TP53", "CFTR", "MLH1", "MSH2", "APC", "PTEN", "LDLR", "APOB",
    "PCSK9", "MYH7", "KCNQ1", "SCN5A", "RYR1", "HFE", "GBA1", "DMD", "FBN1", "TTN",
)
# fmt: on
_FLUSH_EVERY = 5_000  # lines per write: a few hundred KB, never the whole file


def generated(records: int, seed: int = DEFAULT_SEED) -> Path:
    """The synthetic VCF for these arguments under ``bench/.cache``, built when missing."""
    out = cache_dir() / f"translate-{records}-seed{seed}.vcf.gz"
    if not (out.exists() and Path(f"{out}.tbi").exists()):
        print(f"building {out.name} ({records:,} records)…", file=sys.stderr, flush=True)
        contigs = "".join(
            f"##contig=<ID={name},length={length},assembly=GRCh38>\n"
            for name, length in GRCH38_LENGTHS.items()
        )
        header = _HEADER.format(seed=seed, contigs=contigs)
        _write_bgzf(out, header, _Caller(random.Random(seed)).records(records))
    return out


def prefix(full: Path, records: int) -> Path:
    """The header and first ``records`` records of ``full``, cached beside it."""
    out = full.with_name(full.name.replace(".vcf.gz", f"-first{records}.vcf.gz"))
    if not (out.exists() and Path(f"{out}.tbi").exists()):
        with gzip.open(full, "rt", encoding="ascii") as lines:
            header = "".join(_header_lines(lines))
            body = (next(lines) for _ in range(records))
            _write_bgzf(out, header, body)
    return out


def _header_lines(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        yield line
        if line.startswith("#CHROM"):
            return


def _write_bgzf(out: Path, header: str, lines: Iterator[str]) -> None:
    """Stream ``header`` and ``lines`` into a bgzipped, tabix-indexed ``out``; an interrupted
    build leaves nothing that looks like a cached file."""
    partial = out.with_name(f".{out.name}.partial")
    try:
        with pysam.BGZFile(str(partial), "wb", index=None) as bgzf:
            bgzf.write(header.encode("ascii"))
            chunk: list[str] = []
            for line in lines:
                chunk.append(line)
                if len(chunk) == _FLUSH_EVERY:
                    bgzf.write("".join(chunk).encode("ascii"))
                    chunk.clear()
            bgzf.write("".join(chunk).encode("ascii"))
        pysam.tabix_index(str(partial), preset="vcf", force=True)
        os.replace(f"{partial}.tbi", f"{out}.tbi")
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.tbi").unlink(missing_ok=True)


class _Caller:
    """Draws one sample's calls, site by site, from a seeded generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.phase_set = 0  # PS of the open phase block, 0 when none
        self.phase_left = 0

    def records(self, total: int) -> Iterator[str]:
        genome = sum(GRCH38_LENGTHS.values())
        if total < 1 or total > genome // 100:
            raise ValueError(f"{total} records do not fit on GRCh38 at one site per 100 bp")
        counts = {name: total * length // genome for name, length in GRCH38_LENGTHS.items()}
        counts["chr1"] += total - sum(counts.values())
        for chrom, count in counts.items():
            # One site per slot keeps positions strictly increasing and clear of the ends.
            slot = GRCH38_LENGTHS[chrom] // (count + 1)
            self.phase_left = 0
            for index in range(1, count + 1):
                yield self.site(chrom, index * slot + self.rng.randrange(slot // 2))

    def site(self, chrom: str, pos: int) -> str:
        rng = self.rng
        ref = rng.choice("ACGT")
        kind, info = "biallelic", [f"DP={rng.randint(10, 80)}"]
        draw = rng.random()
        if draw < 0.78:
            alts = [rng.choice([b for b in "ACGT" if b != ref])]
        elif draw < 0.90:
            extra = "".join(rng.choices("ACGT", k=rng.randint(1, 10)))
            ref, alts = (ref + extra, [ref]) if rng.random() < 0.5 else (ref, [ref + extra])
        elif draw < 0.98:
            kind, alts = "multi", rng.sample([b for b in "ACGT" if b != ref], 2)
        elif draw < 0.985:
            kind, alts = "sv", [rng.choice(("<DEL>", "<DUP>"))]
            length = rng.randint(1_000, 50_000)
            svtype = alts[0][1:-1]
            end = min(pos + length, GRCH38_LENGTHS[chrom])
            info += [f"SVTYPE={svtype}", f"END={end}", "CIPOS=-10,10", "CIEND=-10,10"]
            info.append(f"SVLEN={pos - end if svtype == 'DEL' else end - pos}")
        else:
            kind, alts = "ref", []
        if alts and kind != "sv" and rng.random() < 0.2:
            gene = rng.choice(_GENES)
            info.append(
                "ANN=" + ",".join(f"{a}|missense_variant|MODERATE|{gene}|{gene}" for a in alts)
            )
        names, weights = zip(*_GENOTYPES[kind], strict=True)
        genotype = rng.choices(names, weights)[0]
        ident = f"rs{rng.randint(1, 999_999_999)}" if rng.random() < 0.4 else "."
        filt = rng.choices(("PASS", "LowQual", "."), (92, 6, 2))[0]
        sample = self.sample(genotype, 1 + len(alts), pos)
        return (
            f"{chrom}\t{pos}\t{ident}\t{ref}\t{','.join(alts) or '.'}\t{rng.randint(20, 3000)}"
            f"\t{filt}\t{';'.join(info)}\tGT:AD:DP:PS\t{sample}\n"
        )

    def sample(self, genotype: str, alleles: int, pos: int) -> str:
        """``GT:AD:DP:PS`` for one call; complete non-hom-ref calls may join a phase block."""
        first, second = genotype.split("/")
        if "." in genotype:
            return f"{genotype}:.:.:."
        rng = self.rng
        depths = [rng.randint(0, 1) for _ in range(alleles)]
        for allele in (int(first), int(second)):
            depths[int(allele)] += rng.randint(4, 30)
        ad, dp = ",".join(map(str, depths)), sum(depths)
        if genotype != "0/0" and (self.phase_left or rng.random() < 0.08):
            if not self.phase_left:
                self.phase_set, self.phase_left = pos, rng.randint(2, 8)
            self.phase_left -= 1
            pair = (first, second) if rng.random() < 0.5 else (second, first)
            return f"{pair[0]}|{pair[1]}:{ad}:{dp}:{self.phase_set}"
        return f"{genotype}:{ad}:{dp}:."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.translate_vcf",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeat", type=int, default=2, help="rounds of the throughput pair")
    parser.add_argument("--records", type=int, default=1_000_000, help="generated file size")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--parts", default="throughput,memory")
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.parts.split(",")}
    unknown = parts - {"throughput", "memory"}
    if unknown or args.repeat < 1:
        parser.error(f"--parts takes throughput,memory and --repeat >= 1 (got {sorted(unknown)})")
    failures = []
    if "throughput" in parts:
        failures += throughput(args.repeat)
    if "memory" in parts:
        try:
            failures += memory(args.records, args.seed)
        except (OSError, ValueError) as exc:
            failures.append(f"memory: could not build the VCF: {exc}")
    for failure in failures:
        print(f"not measured: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
