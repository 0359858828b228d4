"""Reading VCF and BCF files into variants and per-sample carrier bitmaps.

Implements the parts of VCF 4.3 (hts-specs ``VCFv4.3.pdf`` §1.4-1.6) the gateway stores: one
:class:`VariantCalls` per ALT allele, with ``Variant`` coordinates as in
``gateway.domain.variants`` (0-based, end exclusive) and symbolic structural alleles as in VCF
4.4 §5.3. Only this module and :mod:`gateway.ingest.header` import pysam; reading is synchronous
by design.

pysam parses the header (and every record of a BCF). The records of a text VCF are read as
lines through pysam's BGZF reader and parsed here and in :mod:`gateway.ingest.vcf_records`, for two
reasons: htslib silently drops sample columns beyond the header's, so a shifted file would load
wrong carriers, and having htslib format each record back into text (needed for fast genotype
decoding) costs more than reading the line did.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from pysam.libcbgzf import BGZFile

from gateway.domain.assemblies import canonical_chromosome
from gateway.domain.variants import BASES, Variant
from gateway.errors import BadRequest, IngestError
from gateway.ingest.annotations import genes_by_alt
from gateway.ingest.genotypes import (
    GenotypeError,
    SamplePositions,
    allele_bitmaps,
    decode_alleles,
)
from gateway.ingest.header import annotation_layouts, detect_assembly, resolve_assembly
from gateway.ingest.vcf_open import check_file, open_variant_file, quiet_htslib
from gateway.ingest.vcf_records import (
    NOT_VARIANTS,
    InvalidRecord,
    info_end,
    locate,
    parse_alternates,
    parse_info,
    parse_position,
    parse_reference,
)

# detect_assembly moved to gateway.ingest.header; re-exported so existing imports still work.
__all__ = ["VariantCalls", "VcfFile", "detect_assembly", "file_digest"]

_PASSING = (b"PASS", b".")


@dataclass(frozen=True, slots=True)
class VariantCalls:
    """One ALT allele and who carries it.

    ``carriers`` and ``homozygous`` are little-endian bitmaps (``numpy.packbits(...,
    bitorder="little")``) over dataset sample positions, trailing zero bytes trimmed; ``b""``
    when no sample qualifies. Homozygous means every called allele is this ALT: ``1/1``, a
    haploid ``1``, and also a half-missing ``./1``, whose only called allele is this ALT.
    """

    variant: Variant
    carriers: bytes
    homozygous: bytes


def file_digest(path: Path) -> str:
    """SHA-256 (hex) of the file's bytes, read in chunks.

    :raises IngestError: the file cannot be read.
    """
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc


class VcfFile:
    """Context manager around ``pysam.VariantFile``: iterate it for :class:`VariantCalls`.

    :raises IngestError: on opening (missing file, not VCF/BCF, plain gzip, malformed header,
        unknown assembly) and while iterating (malformed or truncated records).
    """

    def __init__(
        self,
        path: Path,
        *,
        assembly: str | None = None,
        sample_positions: Sequence[int] | None = None,
        all_filters: bool = False,
    ) -> None:
        self.path = Path(path)
        self._lines: BGZFile | None = None
        check_file(self.path)
        self._file = open_variant_file(self.path)
        try:
            header = self._file.header
            self.samples: tuple[str, ...] = tuple(str(name) for name in header.samples)
            self.assembly: str = resolve_assembly(self.path, header, assembly)
            self._layout = _sample_layout(self.path, sample_positions, len(self.samples))
            self._annotations = annotation_layouts(header)
        except BaseException:
            self.close()
            raise
        self._all_filters = all_filters
        self._is_bcf = self._file.format == "BCF"
        self._size = self.path.stat().st_size
        self._chromosomes: dict[bytes, str] = {}
        self._last = "none"

    def __enter__(self) -> VcfFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the file handles; closing a file whose reading failed is not an error."""
        self._close_lines()
        with contextlib.suppress(OSError), quiet_htslib():
            self._file.close()

    def _close_lines(self) -> None:
        lines, self._lines = self._lines, None
        if lines is not None:
            with contextlib.suppress(OSError), quiet_htslib():
                lines.close()

    def progress(self) -> tuple[int, int]:
        """``(compressed bytes read, file size)``, for a progress bar."""
        source = self._file if self._is_bcf else self._lines
        try:
            # BGZF virtual offsets keep the compressed offset in the upper 48 bits.
            offset = int(source.tell()) >> 16 if source is not None else 0
        except (OSError, ValueError, AttributeError):
            offset = 0
        return min(offset, self._size), self._size

    def __iter__(self) -> Iterator[VariantCalls]:
        lines = self._bcf_lines() if self._is_bcf else self._text_lines()
        for number, line in lines:
            yield from self._calls(number, line)

    def _text_lines(self) -> Iterator[tuple[int, bytes]]:
        self._close_lines()
        with quiet_htslib():
            self._lines = reader = BGZFile(str(self.path), "rb", None)
        number = 0
        while True:
            try:
                with quiet_htslib():
                    line = next(reader)
            except StopIteration:
                return
            except OSError as exc:
                raise self._unreadable(number, exc) from exc
            number += 1
            if line[:1] != b"#" and not line.isspace():
                yield number, line.rstrip(b"\r\n")

    def _bcf_lines(self) -> Iterator[tuple[int, bytes]]:
        with quiet_htslib():
            self._file.reset()
            records = iter(self._file)
        number = 0
        while True:
            try:
                with quiet_htslib():
                    record = next(records)
            except StopIteration:
                return
            except (OSError, ValueError) as exc:
                raise self._unreadable(number, exc) from exc
            number += 1
            yield number, str(record).encode().rstrip(b"\n")

    def _unreadable(self, number: int, exc: Exception) -> IngestError:
        unit = "record" if self._is_bcf else "line"
        return IngestError(
            f"{self.path}: cannot read past {unit} {number} (last record {self._last}): "
            f"{exc}; the file is truncated, corrupt or malformed"
        )

    def _calls(self, number: int, line: bytes) -> list[VariantCalls]:
        fields = line.split(b"\t", 9)
        unit = "record" if self._is_bcf else "line"
        if len(fields) < 8:
            raise IngestError(
                f"{self.path} {unit} {number}: {len(fields)} tab-separated columns, "
                "a VCF record needs at least 8"
            )
        self._last = f"{fields[0].decode(errors='replace')}:{fields[1].decode(errors='replace')}"
        try:
            return self._parse(fields)
        except (InvalidRecord, BadRequest) as exc:
            raise IngestError(f"{self.path} {unit} {number} ({self._last}): {exc}") from exc
        except GenotypeError as exc:
            sample = f" (sample {self.samples[exc.sample]})" if exc.sample is not None else ""
            raise IngestError(f"{self.path} {unit} {number} ({self._last}): {exc}{sample}") from exc

    def _parse(self, fields: list[bytes]) -> list[VariantCalls]:
        position = parse_position(fields[1])
        reference = parse_reference(fields[3])
        alternates = parse_alternates(fields[4])
        chromosome = self._chromosome(fields[0])
        if fields[6] not in _PASSING and not self._all_filters:
            return []
        wanted = [k for k, alt in enumerate(alternates) if alt not in NOT_VARIANTS]
        info = parse_info(fields[7]) if self._needs_info(fields[7], alternates) else {}
        end = info_end(info, position)
        if not wanted:
            return []
        genes = self._genes(info, reference, alternates)
        bitmaps = self._bitmaps(fields, len(alternates))
        calls = []
        for k in wanted:
            start, stop, kind = locate(alternates[k], reference, position, end, info, k)
            variant = Variant(
                self.assembly, chromosome, start, stop, reference, alternates[k], kind, genes[k]
            )
            calls.append(VariantCalls(variant, *bitmaps[k]))
        return calls

    def _chromosome(self, name: bytes) -> str:
        known = self._chromosomes.get(name)
        if known is None:
            text = name.decode(errors="replace")
            if not text:
                raise InvalidRecord("empty CHROM")
            known = self._chromosomes[name] = canonical_chromosome(text, self.assembly)
        return known

    def _needs_info(self, info: bytes, alternates: tuple[str, ...]) -> bool:
        # Parsing INFO is skipped on the hot path: plain sequence alleles only need it for
        # annotations and for checking END.
        structural = any(not BASES.match(alt) for alt in alternates)
        return structural or bool(self._annotations) or b"END=" in info

    def _genes(
        self, info: dict[str, str], reference: str, alternates: tuple[str, ...]
    ) -> list[tuple[str, ...]]:
        if not any(layout.key in info for layout in self._annotations):
            return [()] * len(alternates)
        return genes_by_alt(self._annotations, info, reference, alternates)

    def _bitmaps(self, fields: list[bytes], n_alts: int) -> list[tuple[bytes, bytes]]:
        n_samples = len(self.samples)
        if not n_samples:
            if len(fields) > 9:
                columns = fields[9].count(b"\t") + 1
                raise InvalidRecord(f"{columns} sample columns, the header names none")
            return [(b"", b"")] * n_alts
        if len(fields) < 10:
            raise InvalidRecord(f"no sample columns, the header names {n_samples}")
        alleles = decode_alleles(fields[8], fields[9], n_samples)
        return allele_bitmaps(alleles, n_alts, self._layout)


def _sample_layout(path: Path, positions: Sequence[int] | None, n_samples: int) -> SamplePositions:
    try:
        return SamplePositions.of(positions, n_samples)
    except ValueError as exc:
        raise IngestError(f"{path}: {exc}") from exc
