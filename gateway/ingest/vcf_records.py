"""VCF record fields: POS, REF and ALT checked, INFO read, and each ALT located on the genome."""

from __future__ import annotations

import re

from gateway.domain.variants import BASES, VariantType, classify

# gVCF "any other allele" placeholders and spanning deletions are not variants of their own.
NOT_VARIANTS = frozenset({"*", "<*>", "<NON_REF>"})
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


class InvalidRecord(ValueError):
    """A record breaks the format; the caller adds the file and line."""


def parse_position(text: bytes) -> int:
    if not text.isdigit():
        raise InvalidRecord(f"POS {text.decode(errors='replace')!r} is not a positive integer")
    position = int(text)
    if position < 1:
        raise InvalidRecord(f"POS {position} is before the first base (POS counts from 1)")
    return position


def parse_reference(text: bytes) -> str:
    reference = text.decode(errors="replace").upper()
    if not BASES.match(reference):
        raise InvalidRecord(f"illegal bases in REF {text.decode(errors='replace')!r}")
    return reference


def parse_alternates(text: bytes) -> tuple[str, ...]:
    if text == b".":
        return ()
    return tuple(_alternate(alt) for alt in text.decode(errors="replace").split(","))


def _alternate(alt: str) -> str:
    if alt in NOT_VARIANTS or _SYMBOLIC.match(alt):
        return alt
    upper = alt.upper()
    if BASES.match(upper):
        return upper
    if _BREAKEND.match(upper):
        return alt
    raise InvalidRecord(f"illegal bases in ALT {alt!r}")


def parse_info(text: bytes) -> dict[str, str]:
    if text == b".":
        return {}
    info = {}
    for item in text.decode(errors="replace").split(";"):
        key, _, value = item.partition("=")
        info[key] = value
    return info


def info_end(info: dict[str, str], position: int) -> int | None:
    if "END" not in info:
        return None
    end = _integer(info["END"], "INFO END")
    if end < position:
        raise InvalidRecord(f"INFO END {end} is before POS {position}")
    return end


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidRecord(f"{what} {text!r} is not an integer") from None


def locate(
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
    raise InvalidRecord(f"symbolic allele {alt} needs INFO END or SVLEN")


def _symbolic_type(alt: str, info: dict[str, str]) -> VariantType:
    name = alt[1:-1].split(":", 1)[0].upper()
    if name in _STRUCTURAL_TYPES:
        return _STRUCTURAL_TYPES[name]
    if _COPY_NUMBER.match(name):
        return VariantType.CNV
    declared = info.get("SVTYPE", "").upper()
    if declared in _STRUCTURAL_TYPES:
        return _STRUCTURAL_TYPES[declared]
    raise InvalidRecord(f"unknown symbolic allele {alt} and no INFO SVTYPE")
