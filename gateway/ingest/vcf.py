"""Reading VCF and BCF files into variants and per-sample carrier bitmaps.

Implements the parts of VCF 4.3 (hts-specs ``VCFv4.3.pdf`` §1.4-1.6) the gateway stores: one
:class:`VariantCalls` per ALT allele, with ``Variant`` coordinates as in
``gateway.domain.variants`` (0-based, end exclusive) and symbolic structural alleles as in VCF
4.4 §5.3. This is the only module that imports pysam; it is synchronous by design.

pysam parses the header (and every record of a BCF). The records of a text VCF are read as
lines through pysam's BGZF reader and parsed here, for two reasons: htslib silently drops
sample columns beyond the header's, so a shifted file would load wrong carriers, and having
htslib format each record back into text (needed for fast genotype decoding) costs more than
reading the line did.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import pysam
from pysam.libcbgzf import BGZFile

from gateway.domain.assemblies import GRCH37, GRCH38, canonical_chromosome, normalize_assembly
from gateway.domain.variants import BASES, Variant, VariantType, classify
from gateway.errors import BadRequest, IngestError
from gateway.ingest.annotations import (
    ANNOTATION_KEYS,
    AnnotationLayout,
    genes_by_alt,
    layout_from_description,
)
from gateway.ingest.genotypes import (
    GenotypeError,
    SamplePositions,
    allele_bitmaps,
    decode_alleles,
)

_PASSING = (b"PASS", b".")
# gVCF "any other allele" placeholders and spanning deletions are not variants of their own.
_NOT_VARIANTS = frozenset({"*", "<*>", "<NON_REF>"})
_BREAKEND = re.compile(r"^[ACGTN]*[\[\]][^\[\]]+[\[\]][ACGTN]*$|^\.[ACGTN]+$|^[ACGTN]+\.$")
_SYMBOLIC = re.compile(r"^<[^<>]+>$")
_STRUCTURAL_TYPES = {
    "DEL": VariantType.DEL,
    "DUP": VariantType.DUP,
    "INS": VariantType.INS,
    "INV": VariantType.INV,
    "CNV": VariantType.CNV,
    "BND": VariantType.BND,
    "TRA": VariantType.BND,
}
_COPY_NUMBER = re.compile(r"^CN\d+$")


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


class _Invalid(ValueError):
    """A record breaks the format; the caller adds the file and line."""


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
        _check_file(self.path)
        self._file = _open_variant_file(self.path)
        try:
            header = self._file.header
            self.samples: tuple[str, ...] = tuple(str(name) for name in header.samples)
            self.assembly: str = _assembly(self.path, header, assembly)
            self._layout = _sample_layout(self.path, sample_positions, len(self.samples))
            self._annotations = _annotation_layouts(header)
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
        with contextlib.suppress(OSError), _quiet_htslib():
            self._file.close()

    def _close_lines(self) -> None:
        lines, self._lines = self._lines, None
        if lines is not None:
            with contextlib.suppress(OSError), _quiet_htslib():
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
        with _quiet_htslib():
            self._lines = reader = BGZFile(str(self.path), "rb", None)
        number = 0
        while True:
            try:
                with _quiet_htslib():
                    line = next(reader)
            except StopIteration:
                return
            except OSError as exc:
                raise self._unreadable(number, exc) from exc
            number += 1
            if line[:1] != b"#" and not line.isspace():
                yield number, line.rstrip(b"\r\n")

    def _bcf_lines(self) -> Iterator[tuple[int, bytes]]:
        with _quiet_htslib():
            self._file.reset()
            records = iter(self._file)
        number = 0
        while True:
            try:
                with _quiet_htslib():
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
        except (_Invalid, BadRequest) as exc:
            raise IngestError(f"{self.path} {unit} {number} ({self._last}): {exc}") from exc
        except GenotypeError as exc:
            sample = f" (sample {self.samples[exc.sample]})" if exc.sample is not None else ""
            raise IngestError(f"{self.path} {unit} {number} ({self._last}): {exc}{sample}") from exc

    def _parse(self, fields: list[bytes]) -> list[VariantCalls]:
        position = _position(fields[1])
        reference = _reference(fields[3])
        alternates = _alternates(fields[4])
        chromosome = self._chromosome(fields[0])
        if fields[6] not in _PASSING and not self._all_filters:
            return []
        wanted = [k for k, alt in enumerate(alternates) if alt not in _NOT_VARIANTS]
        info = _parse_info(fields[7]) if self._needs_info(fields[7], alternates) else {}
        end = _info_end(info, position)
        if not wanted:
            return []
        genes = self._genes(info, reference, alternates)
        bitmaps = self._bitmaps(fields, len(alternates))
        calls = []
        for k in wanted:
            start, stop, kind = _locate(alternates[k], reference, position, end, info, k)
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
                raise _Invalid("empty CHROM")
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
                raise _Invalid(f"{columns} sample columns, the header names none")
            return [(b"", b"")] * n_alts
        if len(fields) < 10:
            raise _Invalid(f"no sample columns, the header names {n_samples}")
        alleles = decode_alleles(fields[8], fields[9], n_samples)
        return allele_bitmaps(alleles, n_alts, self._layout)


def _position(text: bytes) -> int:
    if not text.isdigit():
        raise _Invalid(f"POS {text.decode(errors='replace')!r} is not a positive integer")
    position = int(text)
    if position < 1:
        raise _Invalid(f"POS {position} is before the first base (POS counts from 1)")
    return position


def _reference(text: bytes) -> str:
    reference = text.decode(errors="replace").upper()
    if not BASES.match(reference):
        raise _Invalid(f"illegal bases in REF {text.decode(errors='replace')!r}")
    return reference


def _alternates(text: bytes) -> tuple[str, ...]:
    if text == b".":
        return ()
    return tuple(_alternate(alt) for alt in text.decode(errors="replace").split(","))


def _alternate(alt: str) -> str:
    if alt in _NOT_VARIANTS or _SYMBOLIC.match(alt):
        return alt
    upper = alt.upper()
    if BASES.match(upper):
        return upper
    if _BREAKEND.match(upper):
        return alt
    raise _Invalid(f"illegal bases in ALT {alt!r}")


def _parse_info(text: bytes) -> dict[str, str]:
    if text == b".":
        return {}
    info = {}
    for item in text.decode(errors="replace").split(";"):
        key, _, value = item.partition("=")
        info[key] = value
    return info


def _info_end(info: dict[str, str], position: int) -> int | None:
    if "END" not in info:
        return None
    end = _integer(info["END"], "INFO END")
    if end < position:
        raise _Invalid(f"INFO END {end} is before POS {position}")
    return end


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Invalid(f"{what} {text!r} is not an integer") from None


def _locate(
    alt: str, reference: str, position: int, end: int | None, info: dict[str, str], k: int
) -> tuple[int, int, VariantType]:
    """``(start, end, type)`` of one ALT: 0-based, end exclusive."""
    if alt.startswith("<"):
        return _locate_symbolic(alt, position, end, info, k)
    if not BASES.match(alt):
        # A breakend joins at the REF base itself, so the interval is that one base.
        return position - 1, position, VariantType.BND
    return position - 1, position - 1 + len(reference), classify(reference, alt)


def _locate_symbolic(
    alt: str, position: int, end: int | None, info: dict[str, str], k: int
) -> tuple[int, int, VariantType]:
    kind = _symbolic_type(alt, info)
    if kind is VariantType.BND:
        return position - 1, position, kind
    # POS is the padding base before the event, so the event starts at 0-based POS and the
    # 1-based inclusive END is its 0-based exclusive end.
    if end is not None:
        return position, end, kind
    if kind is VariantType.INS:
        # An insertion without END takes no reference bases: a zero-length interval at POS.
        return position, position, kind
    if "SVLEN" in info:
        lengths = info["SVLEN"].split(",")
        length = _integer(lengths[k] if k < len(lengths) else lengths[0], "INFO SVLEN")
        return position, position + abs(length), kind
    raise _Invalid(f"symbolic allele {alt} needs INFO END or SVLEN")


def _symbolic_type(alt: str, info: dict[str, str]) -> VariantType:
    name = alt[1:-1].split(":", 1)[0].upper()
    if name in _STRUCTURAL_TYPES:
        return _STRUCTURAL_TYPES[name]
    if _COPY_NUMBER.match(name):
        return VariantType.CNV
    declared = info.get("SVTYPE", "").upper()
    if declared in _STRUCTURAL_TYPES:
        return _STRUCTURAL_TYPES[declared]
    raise _Invalid(f"unknown symbolic allele {alt} and no INFO SVTYPE")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from exc
    # BGZF (SAM spec §4.1) is gzip with an extra field "BC"; htslib cannot seek in plain gzip.
    if head[:2] == b"\x1f\x8b" and not (len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"):
        raise IngestError(f"{path} is gzip-compressed but not BGZF; recompress it with bgzip")


def _open_variant_file(path: Path) -> pysam.VariantFile:
    try:
        with _quiet_htslib():
            variant_file = pysam.VariantFile(str(path))
    except ValueError as exc:
        if "header" in str(exc):
            raise IngestError(f"{path}: malformed VCF header") from exc
        raise IngestError(f"{path}: not a VCF or BCF file") from exc
    except OSError as exc:
        if exc.errno == errno.ENOEXEC:  # htslib's answer for bytes of no format it knows
            raise IngestError(f"{path}: not a VCF or BCF file") from exc
        raise IngestError(f"{path}: cannot open as VCF/BCF: {exc.strerror or exc}") from exc
    if variant_file.format not in ("VCF", "BCF"):
        variant_file.close()
        raise IngestError(f"{path}: not a VCF or BCF file")
    return variant_file


@contextlib.contextmanager
def _quiet_htslib() -> Iterator[None]:
    """Silence htslib's own stderr messages; every failure surfaces as an IngestError."""
    previous = pysam.set_verbosity(0)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)


def _sample_layout(path: Path, positions: Sequence[int] | None, n_samples: int) -> SamplePositions:
    try:
        return SamplePositions.of(positions, n_samples)
    except ValueError as exc:
        raise IngestError(f"{path}: {exc}") from exc


def _annotation_layouts(header: pysam.VariantHeader) -> tuple[AnnotationLayout, ...]:
    layouts = []
    for key in ANNOTATION_KEYS:
        if key in header.info:
            layout = layout_from_description(key, str(header.info[key].description or ""))
            if layout is not None:
                layouts.append(layout)
    return tuple(layouts)


# --- assembly detection -----------------------------------------------------------------

# Chromosome lengths of the primary assembly units (NCBI GRC assembly reports), 1..22, X, Y.
_LENGTHS = {
    GRCH38: (
        248956422,
        242193529,
        198295559,
        190214555,
        181538259,
        170805979,
        159345973,
        145138636,
        138394717,
        133797422,
        135086622,
        133275309,
        114364328,
        107043718,
        101991189,
        90338345,
        83257441,
        80373285,
        58617616,
        64444167,
        46709983,
        50818468,
        156040895,
        57227415,
    ),
    GRCH37: (
        249250621,
        243199373,
        198022430,
        191154276,
        180915260,
        171115067,
        159138663,
        146364022,
        141213431,
        135534747,
        135006516,
        133851895,
        115169878,
        107349540,
        102531392,
        90354753,
        81195210,
        78077248,
        59128983,
        63025520,
        48129895,
        51304566,
        155270560,
        59373566,
    ),
}
_CHROMOSOMES = (*(str(n) for n in range(1, 23)), "X", "Y")
_ASSEMBLY_OF_LENGTH = {
    (chromosome, length): assembly
    for assembly, lengths in _LENGTHS.items()
    for chromosome, length in zip(_CHROMOSOMES, lengths, strict=True)
} | {("MT", 16571): GRCH37}  # hg19's chrM (NC_001807); rCRS (16569) is in both

_ASSEMBLY_NAMES = re.compile(
    r"(?<![a-z0-9])(grch3[78]|hg19|hg38|b37|hs37d5|g1k_v37|assembly19|assembly38"
    r"|gc[af]_000001405\.\d+)(?![a-z0-9])"
)
_NAME_ALIASES = {"g1k_v37": GRCH37, "assembly19": GRCH37, "assembly38": GRCH38}


def _assembly(path: Path, header: pysam.VariantHeader, given: str | None) -> str:
    if given is not None:
        try:
            return normalize_assembly(given)
        except BadRequest as exc:
            raise IngestError(f"{path}: {exc.message}") from exc
    detected = detect_assembly(header)
    if detected is None:
        raise IngestError(
            f"cannot tell the assembly of {path} from its header; pass --assembly GRCh38 or GRCh37"
        )
    return detected


def detect_assembly(header: pysam.VariantHeader) -> str | None:
    """The assembly a ``pysam.VariantHeader`` names, or None when it does not say.

    Trusted in this order: ``##assembly=`` and ``##contig=<...,assembly=...>``, then contig
    lengths of the primary chromosomes, then assembly names in ``##reference=``.
    """
    declared: set[str] = set()
    references: set[str] = set()
    for record in header.records:
        if record.key == "assembly":
            declared |= _names_in(str(record.value))
        elif record.key == "reference":
            references |= _names_in(str(record.value))
    lengths: set[str] = set()
    for contig in header.contigs.values():
        declared |= _names_in(str(contig.header_record.get("assembly") or ""))
        lengths |= _assembly_of_contig(str(contig.name), contig.length)
    for candidates in (declared, lengths, references):
        if len(candidates) == 1:
            return candidates.pop()
    return None


def _names_in(text: str) -> set[str]:
    found = set()
    for name in _ASSEMBLY_NAMES.findall(text.lower()):
        if name in _NAME_ALIASES:
            found.add(_NAME_ALIASES[name])
            continue
        with contextlib.suppress(BadRequest):
            found.add(normalize_assembly(name))
    return found


def _assembly_of_contig(name: str, length: int | None) -> set[str]:
    if not length:
        return set()
    try:
        chromosome = canonical_chromosome(name, GRCH38)
    except BadRequest:  # a GRCh37 RefSeq accession; the lengths check is only a fallback
        return set()
    assembly = _ASSEMBLY_OF_LENGTH.get((chromosome, int(length)))
    return {assembly} if assembly else set()
