"""Read a VCF/BCF into the alleles each requested sample carries, for genomic reports.

:func:`read_calls` streams ``(sample, CalledAllele)`` pairs in file order, one per distinct
non-reference allele called in each requested sample (the rules are in
:mod:`gateway.ingest.genomic_alleles`, structural alleles in
:mod:`gateway.ingest.genomic_structural`), and counts every record and genotype in a
:class:`TranslationTally` so that nothing is lost without a count:

- ``records`` read; ``outside_region`` when scanning a file for regions it has no index for
  (with an index, htslib ``fetch`` reads only the regions and the rest is never seen);
- ``filtered``: FILTER other than ``PASS`` or ``.``, dropped unless ``all_filters``;
- per sample genotype: ``no_call``, ``hom_ref``, or alleles (``alleles``, ``symbolic`` among
  them, ``skipped_alleles`` for those a report cannot state); ``multi_allelic`` records.

pysam (htslib) reads VCF, bgzipped VCF and BCF; only the requested samples are decoded
(``subset_samples``), which keeps one sample of a 2,548-sample file cheap. Memory stays flat:
one record at a time. ``CalledAllele.line`` is the file line for text VCFs read whole, the
record number for BCF, and the record's rank among those read when regions are fetched through
an index (the line is unknown without reading everything before it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pysam
from pysam.libcbgzf import BGZFile

from gateway.domain.genomics import CalledAllele, TranslationTally
from gateway.errors import BadRequest, IngestError
from gateway.ingest.genomic_alleles import RecordTranslator
from gateway.ingest.genomic_regions import (
    WHOLE_CONTIG,
    Region,
    RegionSet,
    parse_region,
    read_bed,
)
from gateway.ingest.header import resolve_assembly
from gateway.ingest.vcf_open import check_file, open_variant_file, quiet_htslib
from gateway.ingest.vcf_records import InvalidRecord

__all__ = ["CallQuery", "Region", "parse_region", "read_bed", "read_calls", "vcf_samples"]


@dataclass(frozen=True)
class CallQuery:
    """Which file, samples and regions to read; ``regions=()`` reads the whole file."""

    path: Path
    samples: tuple[str, ...]
    regions: tuple[Region, ...] = ()
    assembly: str | None = None
    all_filters: bool = False


def vcf_samples(path: Path) -> tuple[str, ...]:
    """The sample names of a VCF/BCF header, in column order.

    :raises IngestError: missing file, not VCF/BCF, plain gzip, malformed header.
    """
    check_file(path)
    variant_file = open_variant_file(path)
    try:
        return tuple(str(name) for name in variant_file.header.samples)
    finally:
        variant_file.close()


def read_calls(query: CallQuery, tally: TranslationTally) -> Iterator[tuple[str, CalledAllele]]:
    """``(sample, allele)`` for every distinct non-reference allele called in each requested
    sample, in file order (samples in the query's order within a record), counted in ``tally``.

    The file, header, assembly and samples are checked before this returns, so a bad request
    fails before any output is written; records are read as the iterator is consumed.

    :raises IngestError: missing file, not VCF/BCF, plain gzip, malformed header, unknown
        assembly, no or unknown sample (now); a malformed record or truncated file, with its
        line (while iterating).
    """
    return _CallStream(query).run(tally)


@dataclass
class _Position:
    """Where the stream is, for ``CalledAllele.line`` and for messages."""

    unit: str  # "line" or "record"
    offset: int  # header lines before the first record (text VCF scans)
    number: int = 0
    record: pysam.VariantRecord | None = None  # the last one read

    @property
    def line(self) -> int:
        return self.offset + self.number

    @property
    def last(self) -> str:
        record = self.record
        return "none" if record is None else f"{record.chrom}:{record.pos}"


class _CallStream:
    """One pass over one file: opened and checked on creation, read by :meth:`run`."""

    def __init__(self, query: CallQuery) -> None:
        self._path = Path(query.path)
        self._all_filters = query.all_filters
        check_file(self._path)
        self._file = open_variant_file(self._path)
        try:
            header = self._file.header
            self._assembly = resolve_assembly(self._path, header, query.assembly)
            self._samples = self._select(query.samples)
            self._regions = RegionSet(query.regions) if query.regions else None
            self._fetch = self._regions is not None and self._file.index is not None
            text_scan = self._file.format == "VCF" and not self._fetch
            self._position = _Position(
                "line" if text_scan else "record", _header_lines(self._path) if text_scan else 0
            )
        except BaseException:
            self.close()
            raise

    def _select(self, requested: tuple[str, ...]) -> list[tuple[str, int]]:
        """``(name, column)`` of each requested sample once decoding is limited to them."""
        available = tuple(str(name) for name in self._file.header.samples)
        wanted = tuple(dict.fromkeys(requested))
        if not wanted:
            raise IngestError(f"{self._path}: name a sample to translate ({_listed(available)})")
        known = set(available)
        for name in wanted:
            if name not in known:
                raise IngestError(f"{self._path}: no sample {name!r} ({_listed(available)})")
        with quiet_htslib():
            self._file.subset_samples(list(wanted))
        columns = {str(name): column for column, name in enumerate(self._file.header.samples)}
        return [(name, columns[name]) for name in wanted]

    def run(self, tally: TranslationTally) -> Iterator[tuple[str, CalledAllele]]:
        if tally.notes is None:
            tally.notes = []
        translator = RecordTranslator(self._file.header, self._assembly, tally.notes)
        try:
            records = (
                self._fetched(translator, self._regions)
                if self._regions is not None and self._fetch
                else self._scanned()
            )
            for record in records:
                previous = pysam.set_verbosity(0)
                try:
                    found = self._translate(translator, record, tally)
                finally:
                    pysam.set_verbosity(previous)
                yield from found
            if self._regions is not None:
                missing = self._regions.chromosomes - translator.chromosomes_seen()
                for chromosome in sorted(missing):
                    note = f"regions on chromosome {chromosome}: the file has no records there"
                    tally.notes.append(note)
        finally:
            self.close()

    def close(self) -> None:
        with quiet_htslib():
            self._file.close()

    def _translate(
        self, translator: RecordTranslator, record: pysam.VariantRecord, tally: TranslationTally
    ) -> list[tuple[str, CalledAllele]]:
        position = self._position
        position.number += 1
        position.record = record
        tally.records += 1
        try:
            if self._regions is not None and not self._fetch:
                chromosome = translator.chromosome(record.chrom)[0]
                if not self._regions.overlaps(chromosome, record.start, record.stop):
                    tally.outside_region += 1
                    return []
            alleles = translator.check(record)
            if not self._all_filters and not _passes(record):
                tally.filtered += 1
                return []
            return translator.calls(record, alleles, position.line, self._samples, tally)
        except (InvalidRecord, BadRequest) as exc:
            detail = exc.message if isinstance(exc, BadRequest) else str(exc)
            where = f"{position.unit} {position.line} ({position.last})"
            raise IngestError(f"{self._path} {where}: {detail}") from exc

    def _scanned(self) -> Iterator[pysam.VariantRecord]:
        yield from self._checked(iter(self._file))

    def _fetched(
        self, translator: RecordTranslator, regions: RegionSet
    ) -> Iterator[pysam.VariantRecord]:
        """Records overlapping the regions, through the index, each once, in file order."""
        for contig in self._file.index:
            try:
                chromosome = translator.chromosome(str(contig))[0]
            except BadRequest:
                continue  # an accession of another assembly: no region can name it
            previous_end = -1
            for region in regions.on(chromosome):
                end = None if region.end >= WHOLE_CONTIG else region.end
                with quiet_htslib():
                    found = self._file.fetch(str(contig), region.start, end)
                for record in self._checked(found):
                    # A record reaching across a gap was already read with the region before.
                    if record.start >= previous_end:
                        yield record
                previous_end = region.end

    def _checked(self, records: Iterator[pysam.VariantRecord]) -> Iterator[pysam.VariantRecord]:
        """Records read with htslib's messages silenced, read errors placed in the file."""
        position = self._position
        while True:
            previous = pysam.set_verbosity(0)
            try:
                record = next(records)
            except StopIteration:
                return
            except (OSError, ValueError) as exc:
                raise IngestError(
                    f"{self._path}: cannot read past {position.unit} {position.line} "
                    f"(last record {position.last}): the file is truncated, corrupt or malformed"
                ) from exc
            finally:
                pysam.set_verbosity(previous)
            yield record


def _passes(record: pysam.VariantRecord) -> bool:
    filters = record.filter.keys()
    return not filters or filters == ["PASS"]


def _header_lines(path: Path) -> int:
    """How many header lines a text VCF (plain or bgzipped) has, for record line numbers."""
    count = 0
    with quiet_htslib():
        reader = BGZFile(str(path), "rb", None)
    try:
        for line in reader:
            if not line.startswith(b"#"):
                break
            count += 1
    finally:
        reader.close()
    return count


def _listed(samples: tuple[str, ...]) -> str:
    if not samples:
        return "the file has no samples"
    if len(samples) <= 10:
        return "the file has " + ", ".join(samples)
    return f"the file has {len(samples)} samples"
