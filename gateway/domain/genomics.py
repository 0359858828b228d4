"""One sample's called alleles, as a genomic report states them (HL7 Genomics Reporting STU3).

A VCF reader (``gateway.ingest.genomic_calls``) turns each non-reference allele called in one
sample into a :class:`CalledAllele`; the FHIR builders (``gateway.fhir.genomics``) turn those
into ``variant`` Observations and phase relationships inside a ``genomic-report``.

Coordinates are **0-based, half-open** (``start`` inclusive, ``end`` exclusive), the Genomics
Reporting ``LA30100-4`` "0-based interval counting": VCF ``POS`` p with ``REF`` r is
``start = p - 1``, ``end = p - 1 + len(r)``, so ``POS = start + 1``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "AllelicState",
    "CalledAllele",
    "Interval",
    "PhaseRelation",
    "PhaseTracker",
    "SourceClass",
    "StructuralDetail",
    "TranslationTally",
]


class AllelicState(StrEnum):
    """LOINC answer list LL381-5."""

    HETEROZYGOUS = "LA6706-1"
    HOMOZYGOUS = "LA6705-3"
    HEMIZYGOUS = "LA6707-9"
    HOMOPLASMIC = "LA6704-6"
    HETEROPLASMIC = "LA6703-8"


ALLELIC_STATE_DISPLAY = {
    AllelicState.HETEROZYGOUS: "Heterozygous",
    AllelicState.HOMOZYGOUS: "Homozygous",
    AllelicState.HEMIZYGOUS: "Hemizygous",
    AllelicState.HOMOPLASMIC: "Homoplasmic",
    AllelicState.HETEROPLASMIC: "Heteroplasmic",
}


class SourceClass(StrEnum):
    """LOINC answer list LL378-1: where the variant comes from."""

    GERMLINE = "LA6683-2"
    SOMATIC = "LA6684-0"


SOURCE_CLASS_DISPLAY = {
    SourceClass.GERMLINE: "Germline",
    SourceClass.SOMATIC: "Somatic",
}


class PhaseRelation(StrEnum):
    """Two alleles of one phase set: on the same chromosome copy (Cis) or on the other (Trans)."""

    CIS = "Cis"
    TRANS = "Trans"


@dataclass(frozen=True, slots=True)
class Interval:
    """A 0-based half-open interval; either bound may be unknown (``None``)."""

    start: int | None
    end: int | None

    def __post_init__(self) -> None:
        if self.start is not None and self.start < 0:
            raise ValueError("an interval cannot start before 0")
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("an interval cannot end before it starts")


@dataclass(frozen=True, slots=True)
class StructuralDetail:
    """What a symbolic ALT (``<DEL>``, ``<DUP>``, ``<CNV>``, ...) adds: its type, the inner and
    outer intervals from CIPOS/CIEND (the confidence around start and end), copy number."""

    variant_type: str  # DEL, DUP, INS, INV, CNV, BND
    inner: Interval | None = None
    outer: Interval | None = None
    copy_number: int | None = None


@dataclass(frozen=True, slots=True)
class CalledAllele:
    """One distinct non-reference allele called in the sample at one VCF record.

    ``genotype_index`` is the allele's place in GT (0 or 1 for a diploid call): with a phased
    GT in phase set ``phase_set`` it tells which chromosome copy carries it. ``line`` is the
    VCF line, for messages and ordering.
    """

    chromosome: str  # canonical: 1..22, X, Y, MT
    assembly: str  # GRCh37 or GRCh38
    refseq: str  # NC_ accession of the chromosome in that assembly
    start: int
    end: int
    reference: str
    alternate: str  # bases, or the symbolic allele (<DEL>) for structural variants
    allelic_state: AllelicState
    variant_id: str | None = None  # VCF ID (rs number) when given
    allele_frequency: Decimal | None = None  # from AD (this allele / total), else AF
    read_depth: int | None = None  # AD of this allele, else DP
    genes: tuple[str, ...] = ()  # HGNC symbols from CSQ / ANN
    structural: StructuralDetail | None = None
    phase_set: str | None = None  # PS, or "*" for a phased GT without PS (one set per contig)
    genotype_index: int | None = None  # which GT position carries it, when phased
    line: int = 0

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError("a called allele needs 0 <= start <= end")
        if not self.reference or not self.alternate:
            raise ValueError("a called allele needs its reference and alternate alleles")

    @property
    def vcf_position(self) -> int:
        """The VCF POS this allele came from (1-based)."""
        return self.start + 1


@dataclass
class TranslationTally:
    """What happened to every record and genotype, for the summary line: nothing is lost
    without being counted."""

    records: int = 0
    outside_region: int = 0
    filtered: int = 0  # FILTER not PASS or "." (kept with --all-filters)
    no_call: int = 0  # GT missing or all "."
    hom_ref: int = 0
    alleles: int = 0  # non-reference alleles that became variant Observations
    multi_allelic: int = 0  # records with more than one ALT
    symbolic: int = 0  # structural alleles among ``alleles``
    # "*" (overlapping deletion), <NON_REF>, breakends, untyped symbolic alleles, unknown contigs
    skipped_alleles: int = 0
    phase_relations: int = 0
    notes: list[str] | None = None


@dataclass
class PhaseTracker:
    """Pairs consecutive phased alleles of one phase set: the same GT position means the same
    chromosome copy (Cis), another means the other copy (Trans). Keeps only the last allele of
    each set on the current chromosome, so memory stays flat over a whole genome.

    ``key`` is whatever names the allele in the output (its Observation's full URL)."""

    chromosome: str | None = None
    last: dict[str, tuple[str, int]] = field(default_factory=dict)

    def add(self, allele: CalledAllele, key: str) -> tuple[str, PhaseRelation] | None:
        if allele.chromosome != self.chromosome:
            self.chromosome, self.last = allele.chromosome, {}
        if (
            allele.phase_set is None
            or allele.genotype_index is None
            or allele.allelic_state is AllelicState.HOMOZYGOUS  # on both copies: no phase
        ):
            return None
        previous = self.last.get(allele.phase_set)
        self.last[allele.phase_set] = (key, allele.genotype_index)
        if previous is None:
            return None
        earlier, earlier_index = previous
        relation = (
            PhaseRelation.CIS if earlier_index == allele.genotype_index else PhaseRelation.TRANS
        )
        return earlier, relation
