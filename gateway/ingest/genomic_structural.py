"""Structural alleles of one VCF record, as the Genomics Reporting STU3 ``variant`` profile
states them: type, end, inner and outer intervals, copy number.

Structural alleles are symbolic ALTs (VCF 4.4 §5.3-5.4: ``<DEL>``, ``<DUP>``, ``<DUP:TANDEM>``,
``<INS>``, ``<INS:ME:L1>``, ``<INV>``, ``<CNV>``, ``<CN0>``, ``<CN2>``, ...; a name the
gateway does not know takes its type from INFO ``SVTYPE``) and sequence alleles of records that
declare INFO ``SVTYPE`` (sequence-resolved insertions and deletions from SV callers).

Coordinates are 0-based half-open, as :class:`gateway.domain.genomics.CalledAllele` has them.
A symbolic allele's record starts at its padding base, so ``start = POS - 1`` (and ``POS =
start + 1`` holds for every allele) and ends at ``END``: END is 1-based inclusive, so the 0-based
exclusive end is END itself. Without END, ``|SVLEN|`` bases follow the padding base (VCF 4.3
gives deletions a negative SVLEN, VCF 4.4 does not): ``end = POS + |SVLEN|``; an insertion
without END covers its padding base only (its SVLEN is the inserted length, not reference).

CIPOS and CIEND (VCF 4.3 §1.6.1) are confidence intervals around POS and END: the true start
lies in ``[start + CIPOS[0], start + CIPOS[1]]``, the true end in ``[end + CIEND[0], end +
CIEND[1]]``. The profile's components (``variant`` StructureDefinition, STU3):

- outer-start-end, "the widest genomic range in which the variant might reside":
  ``[start + CIPOS[0], end + CIEND[1])``, clamped at 0;
- inner-start-end, "the narrowest genomic range in which the variant might reside":
  ``[start + CIPOS[1], end + CIEND[0])``, or none when those bounds cross (the intervals are
  wider than the event and no base is surely inside it).

A missing CIPOS or CIEND counts as ``(0, 0)``; with neither, the interval is exact and neither
inner nor outer is given. Copy number comes from FORMAT ``CN`` of the sample, else INFO ``CN``,
when it is a whole number.
"""

from __future__ import annotations

from typing import Any

import pysam

from gateway.domain.genomics import Interval, StructuralDetail
from gateway.ingest.vcf_records import InvalidRecord

__all__ = [
    "copy_number",
    "info_value",
    "intervals",
    "structural_detail",
    "symbolic_end",
    "symbolic_type",
]

STRUCTURAL_TYPES = frozenset({"DEL", "DUP", "INS", "INV", "CNV"})


def info_value(record: pysam.VariantRecord, key: str) -> Any:
    """An INFO value, or None when the record does not carry it (pysam raises for a key the
    header does not declare)."""
    try:
        return record.info.get(key)
    except (KeyError, ValueError):
        return None


def symbolic_type(alt: str, declared: object) -> str | None:
    """``DEL``, ``DUP``, ``INS``, ``INV`` or ``CNV`` for a symbolic ALT such as
    ``<DEL:ME:ALU>`` or ``<CN0>``, else the record's SVTYPE when it is one of those; None for a
    symbolic allele of no structural type (``<CGA_CNVWIN>``, a coverage window)."""
    name = alt[1:-1].split(":", 1)[0].upper()
    if name in STRUCTURAL_TYPES:
        return name
    if name.startswith("CN") and name[2:].isdigit():
        return "CNV"
    if isinstance(declared, str) and declared.upper() in STRUCTURAL_TYPES:
        return declared.upper()
    return None


def symbolic_end(record: pysam.VariantRecord, alt: str, alt_index: int, sv_type: str) -> int:
    """The 0-based exclusive end of symbolic allele ``alt`` (ALT number ``alt_index``, from 1):
    INFO END, else POS + |SVLEN|.

    END is read from the record's own INFO text: pysam only exposes htslib's reference length,
    which htslib may stretch to fit an SVLEN that disagrees with END.

    :raises InvalidRecord: END before POS or not a number; neither END nor SVLEN on an allele
        that needs one.
    """
    end = _declared_end(record)
    if end is not None:
        if end < record.pos:
            raise InvalidRecord(f"INFO END {end} is before POS {record.pos}")
        return end
    if sv_type == "INS":
        # SVLEN of an insertion is the inserted length: it takes only its padding base.
        return record.pos
    length = _svlen(record, alt_index)
    if length is None:
        raise InvalidRecord(f"symbolic allele {alt} needs INFO END or SVLEN")
    return record.pos + abs(length)


def _declared_end(record: pysam.VariantRecord) -> int | None:
    info = str(record).split("\t", 8)[7]
    for item in info.split(";"):
        if item.startswith("END="):
            try:
                return int(item[4:])
            except ValueError:
                raise InvalidRecord(f"INFO END {item[4:]!r} is not an integer") from None
    return None


def _svlen(record: pysam.VariantRecord, alt_index: int) -> int | None:
    lengths = info_value(record, "SVLEN")
    if isinstance(lengths, tuple):
        # Number=A: one length per ALT; some callers give a single length for all.
        lengths = lengths[alt_index - 1] if alt_index <= len(lengths) else lengths[0]
    return lengths if isinstance(lengths, int) else None


def structural_detail(
    record: pysam.VariantRecord,
    sample: pysam.VariantRecordSample,
    sv_type: str,
    start: int,
    end: int,
) -> StructuralDetail:
    """Type, inner and outer intervals, and copy number of one structural allele."""
    inner, outer = intervals(start, end, _pair(record, "CIPOS"), _pair(record, "CIEND"))
    return StructuralDetail(sv_type, inner, outer, copy_number(record, sample))


def intervals(
    start: int,
    end: int,
    cipos: tuple[int, int] | None,
    ciend: tuple[int, int] | None,
) -> tuple[Interval | None, Interval | None]:
    """``(inner, outer)`` from the confidence intervals around start and end (see the module
    docstring); ``(None, None)`` for an exact allele."""
    if cipos is None and ciend is None:
        return None, None
    start_low, start_high = cipos or (0, 0)
    end_low, end_high = ciend or (0, 0)
    # min/max keep outer around and inner within the exact interval even when a confidence
    # interval does not straddle zero.
    outer = Interval(max(0, min(start, start + start_low)), max(end, end + end_high))
    inner_start, inner_end = max(start, start + start_high), min(end, end + end_low)
    inner = Interval(inner_start, inner_end) if inner_start <= inner_end else None
    return inner, outer


def _pair(record: pysam.VariantRecord, key: str) -> tuple[int, int] | None:
    value = info_value(record, key)
    if not isinstance(value, tuple) or len(value) != 2:
        return None
    low, high = value
    if not isinstance(low, int) or not isinstance(high, int) or low > high:
        raise InvalidRecord(f"INFO {key} must be two integers, low first")
    return low, high


def copy_number(record: pysam.VariantRecord, sample: pysam.VariantRecordSample) -> int | None:
    """FORMAT CN of the sample, else INFO CN, when it is a whole number."""
    value = _format_value(sample, "CN")
    if value is None:
        value = info_value(record, "CN")
    if isinstance(value, tuple):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.isdigit():
        value = int(value)  # htslib reads a FORMAT key the header does not declare as text
    return value if isinstance(value, int) and value >= 0 else None


def _format_value(sample: pysam.VariantRecordSample, key: str) -> Any:
    try:
        return sample.get(key)
    except (KeyError, ValueError):
        return None
