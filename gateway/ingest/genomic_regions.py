"""Regions of the genome to translate: ``--region`` text as bcftools reads it, and BED files.

Both become :class:`Region` values, 0-based half-open on a canonical chromosome name
(:mod:`gateway.domain.assemblies`):

- ``chr1:100-200`` is 1-based and inclusive, as ``bcftools view -r`` reads it: bases 100 to
  200, so ``Region("1", 99, 200)``. ``chr1:100`` is the single base 100, ``chr1:100-`` runs to
  the end of the contig, ``chr1`` is the whole contig; thousands separators (``1,000``) are
  allowed. A contig whose own name ends in ``:digits`` (HLA alleles) needs a range.
- A BED line ``chr1<TAB>99<TAB>200`` is 0-based half-open already (UCSC BED format), the same
  region.

A record falls in a region when the reference bases it spans overlap it, which is what
``bcftools view -r`` prints and what an index ``fetch`` returns: a deletion that starts before
the region and reaches into it is in.
"""

from __future__ import annotations

import gzip
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from gateway.domain.assemblies import ASSEMBLIES, canonical_chromosome, normalize_assembly
from gateway.errors import BadRequest, IngestError

__all__ = ["WHOLE_CONTIG", "Region", "RegionSet", "parse_region", "read_bed"]

WHOLE_CONTIG = 1 << 40
"""The end of a region that runs to the end of its contig (longer than any chromosome)."""

_SPAN_CHARACTERS = frozenset("0123456789,-")
_BED_HEADERS = ("#", "track", "browser")


@dataclass(frozen=True, slots=True)
class Region:
    """A 0-based half-open stretch of one chromosome (canonical name: ``1``, ``X``, ``MT``)."""

    chromosome: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError("a region needs 0 <= start <= end")

    def __str__(self) -> str:
        """The region as bcftools would take it back: 1-based, inclusive."""
        if self.end >= WHOLE_CONTIG:
            return self.chromosome if self.start == 0 else f"{self.chromosome}:{self.start + 1}-"
        return f"{self.chromosome}:{self.start + 1}-{self.end}"


def parse_region(text: str, assembly: str | None) -> Region:
    """``chr:beg-end`` (1-based inclusive, as bcftools reads it), ``chr:pos``, ``chr:beg-`` or
    ``chr``, on a canonical chromosome name.

    :raises IngestError: empty text, positions that are not numbers, a start before base 1 or
        after the end, an assembly or RefSeq accession the gateway does not know.
    """
    stripped = text.strip()
    name, colon, span = stripped.rpartition(":")
    if not colon or not span or not set(span) <= _SPAN_CHARACTERS:
        # No span: the whole text names a contig (HLA contig names contain colons themselves).
        name, span = stripped, ""
    if not name:
        raise IngestError(f"region {text!r}: name a chromosome, as in chr1:100-200")
    chromosome = _canonical(name, assembly, f"region {text!r}")
    if not span:
        return Region(chromosome, 0, WHOLE_CONTIG)
    begin, end = _span(span, text)
    return Region(chromosome, begin - 1, end)


def _span(span: str, text: str) -> tuple[int, int]:
    """1-based inclusive ``(begin, end)`` of ``beg-end``, ``pos`` or ``beg-``."""
    first, dash, last = span.replace(",", "").partition("-")
    if not first.isdigit() or not (last.isdigit() or not last):
        raise IngestError(f"region {text!r}: positions must be whole numbers, as in chr1:100-200")
    begin = int(first)
    end = begin if not dash else int(last) if last else WHOLE_CONTIG
    if begin < 1:
        raise IngestError(f"region {text!r}: positions count from 1")
    if end < begin:
        raise IngestError(f"region {text!r}: the end {end} is before the start {begin}")
    return begin, end


def read_bed(path: Path) -> tuple[Region, ...]:
    """The regions of a BED file (plain or gzip): ``chrom start end`` per line, 0-based
    half-open; ``track``, ``browser`` and ``#`` lines are skipped, extra columns ignored.

    :raises IngestError: the file cannot be read, a line is malformed (named by number), or
        the file names no region at all (an empty BED must not mean "everywhere").
    """
    try:
        with _open_text(path) as handle:
            regions = tuple(_bed_regions(path, handle))
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not a text BED file") from exc
    if not regions:
        raise IngestError(f"{path}: the BED file names no region")
    return regions


def _open_text(path: Path) -> TextIO:
    with path.open("rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _bed_regions(path: Path, lines: Iterable[str]) -> Iterable[Region]:
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith(_BED_HEADERS):
            continue
        # BED is tab-separated; some tools write spaces, which no chromosome name contains.
        fields = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
        where = f"{path} line {number}"
        if len(fields) < 3:
            raise IngestError(f"{where}: a BED line needs chrom, start and end")
        start, end = _bed_position(fields[1], where), _bed_position(fields[2], where)
        if end < start:
            raise IngestError(f"{where}: end {end} is before start {start}")
        yield Region(_canonical(fields[0], None, where), start, end)


def _bed_position(text: str, where: str) -> int:
    if not text.strip().isdigit():
        raise IngestError(f"{where}: {text.strip()!r} is not a position (0 or more)")
    return int(text)


def _canonical(name: str, assembly: str | None, where: str) -> str:
    """The canonical chromosome name; without an assembly a RefSeq accession is looked up in
    every assembly (accession versions differ between them, so at most one matches)."""
    try:
        assemblies = ASSEMBLIES if assembly is None else (normalize_assembly(assembly),)
    except BadRequest as exc:
        raise IngestError(f"{where}: {exc.message}") from exc
    for candidate in assemblies:
        try:
            return canonical_chromosome(name, candidate)
        except BadRequest as exc:
            failure = exc
    raise IngestError(f"{where}: {failure.message}") from failure


class RegionSet:
    """Regions merged per chromosome, for the overlap test of every record of a scan and for
    the order of index fetches (sorted, disjoint: a record is never read twice)."""

    def __init__(self, regions: Iterable[Region]) -> None:
        spans: dict[str, list[tuple[int, int]]] = {}
        for region in regions:
            if region.end > region.start:  # an empty BED interval covers no base
                spans.setdefault(region.chromosome, []).append((region.start, region.end))
        self._starts: dict[str, list[int]] = {}
        self._ends: dict[str, list[int]] = {}
        for chromosome, pieces in spans.items():
            merged = _merge(sorted(pieces))
            self._starts[chromosome] = [start for start, _ in merged]
            self._ends[chromosome] = [end for _, end in merged]

    def overlaps(self, chromosome: str, start: int, stop: int) -> bool:
        """Whether the 0-based half-open span ``[start, stop)`` overlaps a region."""
        ends = self._ends.get(chromosome)
        if ends is None:
            return False
        # The first region that ends after ``start`` is the only candidate (they are disjoint).
        index = bisect_right(ends, start)
        return index < len(ends) and self._starts[chromosome][index] < stop

    def on(self, chromosome: str) -> tuple[Region, ...]:
        """The merged regions of one chromosome, in order."""
        starts, ends = self._starts.get(chromosome, []), self._ends.get(chromosome, [])
        return tuple(Region(chromosome, s, e) for s, e in zip(starts, ends, strict=True))

    @property
    def chromosomes(self) -> frozenset[str]:
        return frozenset(self._starts)


def _merge(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
