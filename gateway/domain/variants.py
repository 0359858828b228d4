"""Genomic variants as the gateway stores and answers them.

Coordinates follow Beacon v2 and VRS: ``start`` is 0-based inclusive, ``end`` 0-based
exclusive (interbase), so VCF ``POS`` 7577120 gives ``start`` 7577119. One stored variant is
one ALT allele of a VCF record: multi-allelic records are split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class VariantType(StrEnum):
    """Beacon ``variantType`` values the store assigns."""

    SNP = "SNP"
    MNP = "MNP"
    INDEL = "INDEL"
    DEL = "DEL"
    DUP = "DUP"
    INS = "INS"
    CNV = "CNV"
    INV = "INV"
    BND = "BND"


STRUCTURAL_TYPES = frozenset(
    {
        VariantType.DEL,
        VariantType.DUP,
        VariantType.INS,
        VariantType.CNV,
        VariantType.INV,
        VariantType.BND,
    }
)

# Beacon queries may name a type by EFO term; a query for a broader type matches narrower ones
# (a CNV query finds copy-number losses and gains).
_QUERY_TYPE_ALIASES: dict[str, frozenset[VariantType]] = {
    "SNP": frozenset({VariantType.SNP}),
    "SNV": frozenset({VariantType.SNP}),
    "EFO:0001483": frozenset({VariantType.SNP}),
    "MNP": frozenset({VariantType.MNP}),
    "INDEL": frozenset({VariantType.INDEL}),
    "DEL": frozenset({VariantType.DEL}),
    "EFO:0030067": frozenset({VariantType.DEL}),
    "DUP": frozenset({VariantType.DUP}),
    "EFO:0030070": frozenset({VariantType.DUP}),
    "INS": frozenset({VariantType.INS}),
    "INV": frozenset({VariantType.INV}),
    "BND": frozenset({VariantType.BND}),
    "CNV": frozenset({VariantType.CNV, VariantType.DEL, VariantType.DUP}),
    "EFO:0001059": frozenset({VariantType.CNV, VariantType.DEL, VariantType.DUP}),
}

BASES = re.compile(r"^[ACGTN]+$")


def query_types(name: str) -> frozenset[VariantType] | None:
    """The stored types a Beacon ``variantType`` matches, or None when it is unknown."""
    return _QUERY_TYPE_ALIASES.get(name.strip().upper() if ":" not in name else name.strip())


@dataclass(frozen=True, slots=True)
class Variant:
    """One ALT allele at one locus of one assembly."""

    assembly: str
    chromosome: str
    start: int
    end: int
    reference: str
    alternate: str
    variant_type: VariantType
    genes: tuple[str, ...] = ()

    @property
    def variant_id(self) -> str:
        """Stable, URL-safe identifier from the 1-based position of the variant's first base:
        ``GRCh38-22-10516173-C-T`` (VCF POS, as gnomAD writes it). Structural alleles carry
        their type and end, and start at the first base after the VCF padding base (POS + 1):
        ``GRCh38-1-1001-N-DEL-2000`` for POS 1000.
        """
        return variant_id(
            self.assembly, self.chromosome, self.start, self.end, self.reference, self.alternate
        )

    @property
    def length(self) -> int:
        return self.end - self.start


def variant_id(
    assembly: str, chromosome: str, start: int, end: int, reference: str, alternate: str
) -> str:
    if alternate.startswith("<"):
        return f"{assembly}-{chromosome}-{start + 1}-{reference}-{alternate.strip('<>')}-{end}"
    return f"{assembly}-{chromosome}-{start + 1}-{reference}-{alternate or '.'}"


def classify(reference: str, alternate: str) -> VariantType:
    """The Beacon type of a sequence (non-symbolic) allele."""
    if len(reference) == len(alternate):
        return VariantType.SNP if len(reference) == 1 else VariantType.MNP
    return VariantType.INDEL
