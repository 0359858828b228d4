"""One VCF record and one sample's genotype → the non-reference alleles the sample carries.

Implements the rules of the genomic report (HL7 Genomics Reporting STU3 ``variant``) over
pysam records (VCF 4.3 §1.6.2 for GT, AD, DP, AF, PS):

- GT: every distinct non-reference allele called is one :class:`CalledAllele` (``1/1`` is one
  homozygous allele, ``1/2`` two heterozygous ones). A haploid call outside MT is hemizygous.
  A half-missing call (``1/.``) yields its called allele as heterozygous: one copy is known to
  carry it, and claiming both from half a genotype would overstate the finding. ``0/0`` and
  ``0/.`` count as hom_ref (no alternate allele called), ``./.`` and an absent GT as no_call.
- MT: homoplasmic when the allele's read fraction AD/DP is above 0.99 (vcf2fhir's threshold),
  heteroplasmic otherwise; without depths, homoplasmic when every called allele is this one.
- AD is read per allele only when the header declares it ``Number=R`` (or ``.``, with one value
  per allele): Complete Genomics files declare ``Number=2`` and give one depth per GT slot, so
  ``AD[allele]`` would be another allele's depth there. Frequency is AD of the allele over the
  sum of AD, else FORMAT AF; read depth is AD of the allele, else DP.
- Phase: a phased diploid GT (``0|1``) sets ``genotype_index`` (the first GT slot holding the
  allele) and ``phase_set`` (FORMAT PS, or ``*``: VCF puts phased genotypes without PS in one
  set). Haploid calls are not phased: there is no other copy to relate to.
- ALT ``*`` (a deletion described by its own record), ``<*>``/``<NON_REF>`` (gVCF), breakends
  (half of an adjacency, possibly across chromosomes: one Observation of a sequence change
  would misstate it, and the profile has no component for the mate), symbolic alleles of no
  structural type (``<CGA_CNVWIN>``) and alleles on contigs without a RefSeq chromosome (alts,
  decoys, and hg19's chrM, which is not the rCRS) are counted in ``skipped_alleles``, with a
  note the first time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

import pysam

from gateway.domain.assemblies import canonical_chromosome, refseq_accession
from gateway.domain.genomics import AllelicState, CalledAllele, StructuralDetail, TranslationTally
from gateway.ingest.annotations import genes_by_alt
from gateway.ingest.genomic_structural import (
    STRUCTURAL_TYPES,
    info_value,
    structural_detail,
    symbolic_end,
    symbolic_type,
)
from gateway.ingest.header import annotation_layouts
from gateway.ingest.vcf_records import InvalidRecord

__all__ = ["HOMOPLASMY_RATIO", "RecordTranslator"]

HOMOPLASMY_RATIO = 0.99
_HG19_CHRM = 16571
_BASES = "ACGTNacgtn"
_NOT_VARIANTS = frozenset({"*", "<*>", "<NON_REF>"})


class AltKind(Enum):
    SEQUENCE = "sequence"
    SYMBOLIC = "symbolic"
    NOT_VARIANT = "not a variant"  # *, <*>, <NON_REF>
    BREAKEND = "breakend"


@dataclass(slots=True)
class _Site:
    """What every sample's alleles of one record share, worked out once."""

    chromosome: str
    refseq: str | None
    alleles: tuple[str, ...]  # REF and ALTs as written
    reference: str
    variant_id: str | None
    genes: list[tuple[str, ...]] | None = None


class RecordTranslator:
    """Turns records of one file into called alleles; holds what the header decides once.

    Notes for the summary are appended to ``notes``, once per kind of skipped allele.
    """

    def __init__(self, header: pysam.VariantHeader, assembly: str, notes: list[str]) -> None:
        self.assembly = assembly
        self._notes = notes
        self._noted: set[str] = set()
        self._layouts = annotation_layouts(header)
        formats = header.formats
        self._ad_per_allele = "AD" in formats and formats["AD"].number in ("R", ".")
        self._has = {key: key in formats for key in ("AF", "DP", "PS")}
        self._declares_svtype = "SVTYPE" in header.info
        self._chromosomes: dict[str, tuple[str, str | None]] = {}
        self._symbolic: dict[str, AltKind] = {}
        # hg19's chrM is NC_001807 (16,571 bases), not the rCRS (NC_012920) that GRCh37 and
        # the report name: its coordinates differ, so its alleles cannot be stated on rCRS.
        self._other_mitochondria = {
            str(name) for name, contig in header.contigs.items() if contig.length == _HG19_CHRM
        }

    def chromosome(self, contig: str) -> tuple[str, str | None]:
        """``(canonical name, RefSeq accession or None)`` of a contig of the file.

        :raises BadRequest: a RefSeq accession of another assembly.
        """
        known = self._chromosomes.get(contig)
        if known is None:
            name = canonical_chromosome(contig, self.assembly)
            refseq = refseq_accession(name, self.assembly)
            if name == "MT" and contig in self._other_mitochondria:
                refseq = None
            known = self._chromosomes[contig] = (name, refseq)
        return known

    def chromosomes_seen(self) -> set[str]:
        """The canonical names of the contigs looked up so far."""
        return {name for name, _ in self._chromosomes.values()}

    def check(self, record: pysam.VariantRecord) -> tuple[str, ...]:
        """REF and the ALTs, after checking POS, REF and every ALT as VCF allows them (htslib
        reads them without checking).

        :raises InvalidRecord: what is wrong, for the caller to place in the file.
        """
        if record.pos < 1:
            raise InvalidRecord(f"POS {record.pos} is before the first base (POS counts from 1)")
        alleles = _alleles(record)
        reference = alleles[0]
        if not reference or reference.strip(_BASES):
            raise InvalidRecord(f"illegal bases in REF {reference!r}")
        for alt in alleles[1:]:
            self._kind(alt)
        return alleles

    def calls(
        self,
        record: pysam.VariantRecord,
        alleles: tuple[str, ...],
        line: int,
        samples: Sequence[tuple[str, int]],
        tally: TranslationTally,
    ) -> list[tuple[str, CalledAllele]]:
        """The alleles each sample (``(name, column)``) carries at this record (whose alleles
        :meth:`check` returned), counted."""
        if len(alleles) > 2:
            tally.multi_allelic += 1
        site: _Site | None = None
        found: list[tuple[str, CalledAllele]] = []
        for name, column in samples:
            call = record.samples[column]
            genotype = call.allele_indices or ()
            if None in genotype:
                _check_missing(record, column, genotype, name)
            # dict.fromkeys keeps GT order; None (missing) and 0 (reference) are both falsy.
            carried = [allele for allele in dict.fromkeys(genotype) if allele]
            if not carried:
                if 0 in genotype:
                    tally.hom_ref += 1
                else:
                    tally.no_call += 1
                continue
            if site is None:
                site = self._site(record, alleles)
            for allele in carried:
                called = self._allele(site, record, call, genotype, allele, line, tally)
                if called is not None:
                    found.append((name, called))
        return found

    def _site(self, record: pysam.VariantRecord, alleles: tuple[str, ...]) -> _Site:
        chromosome, refseq = self.chromosome(record.chrom)
        return _Site(chromosome, refseq, alleles, alleles[0].upper(), record.id)

    def _allele(
        self,
        site: _Site,
        record: pysam.VariantRecord,
        call: pysam.VariantRecordSample,
        genotype: tuple[int | None, ...],
        allele: int,
        line: int,
        tally: TranslationTally,
    ) -> CalledAllele | None:
        refseq = site.refseq
        if refseq is None:
            contig = record.chrom
            why = "hg19's chrM, not the rCRS" if site.chromosome == "MT" else "not a chromosome"
            self._skip(tally, contig, f"contig {contig}: {why} of {self.assembly}")
            return None
        placed = self._placed(site, record, call, allele, tally)
        if placed is None:
            return None
        alternate, end, structural = placed
        ad_depth, depth, frequency = self._depths(call, allele, len(site.alleles))
        if site.chromosome == "MT":
            ratio = ad_depth / depth if ad_depth is not None and depth else frequency
            state = _plasmy(genotype, allele, ratio)
        else:
            state = _zygosity(genotype, allele)
        phased = len(genotype) > 1 and call.phased
        tally.alleles += 1
        return CalledAllele(
            chromosome=site.chromosome,
            assembly=self.assembly,
            refseq=refseq,
            start=record.start,
            end=end,
            reference=site.reference,
            alternate=alternate,
            allelic_state=state,
            variant_id=site.variant_id,
            allele_frequency=frequency,
            read_depth=ad_depth if ad_depth is not None else depth,
            genes=self._genes(site, record)[allele - 1] if self._layouts else (),
            structural=structural,
            phase_set=self._phase_set(call) if phased else None,
            genotype_index=genotype.index(allele) if phased else None,
            line=line,
        )

    def _placed(
        self,
        site: _Site,
        record: pysam.VariantRecord,
        call: pysam.VariantRecordSample,
        allele: int,
        tally: TranslationTally,
    ) -> tuple[str, int, StructuralDetail | None] | None:
        """``(alternate, end, structural detail)`` of an allele a report can state, or None
        when it cannot (counted in ``skipped_alleles``, with a note the first time)."""
        alt = site.alleles[allele]
        kind = self._kind(alt)
        if kind is AltKind.SEQUENCE:
            end = record.start + len(site.reference)
            return alt.upper(), end, self._sequence_structural(record, call, record.start, end)
        if kind is AltKind.NOT_VARIANT:
            self._skip(tally, alt, f"ALT {alt}: not a variant of its own (spanning or gVCF)")
            return None
        if kind is AltKind.BREAKEND:
            self._skip(tally, "breakend", "breakends: half an adjacency, not a change")
            return None
        sv_type = symbolic_type(alt, info_value(record, "SVTYPE"))
        if sv_type is None:
            self._skip(tally, alt, f"ALT {alt}: a symbolic allele of no structural type")
            return None
        end = symbolic_end(record, alt, allele, sv_type)
        tally.symbolic += 1
        return alt, end, structural_detail(record, call, sv_type, record.start, end)

    def _sequence_structural(
        self,
        record: pysam.VariantRecord,
        call: pysam.VariantRecordSample,
        start: int,
        end: int,
    ) -> StructuralDetail | None:
        if not self._declares_svtype:
            return None
        declared = info_value(record, "SVTYPE")
        if not isinstance(declared, str) or declared.upper() not in STRUCTURAL_TYPES:
            return None
        return structural_detail(record, call, declared.upper(), start, end)

    def _depths(
        self, call: pysam.VariantRecordSample, allele: int, n_alleles: int
    ) -> tuple[int | None, int | None, Decimal | None]:
        """``(AD of the allele, DP, allele frequency)``, each None when not given."""
        ad_depth = frequency = None
        if self._ad_per_allele:
            depths = _value(call, "AD")
            if isinstance(depths, tuple) and len(depths) == n_alleles:
                ad_depth = depths[allele]
                total = sum(d for d in depths if d is not None)
                if ad_depth is not None and total > 0:
                    frequency = _fraction(ad_depth / total)
        if frequency is None and self._has["AF"]:
            frequency = _format_frequency(_value(call, "AF"), allele, n_alleles)
        depth = _value(call, "DP") if self._has["DP"] else None
        return ad_depth, depth if isinstance(depth, int) else None, frequency

    def _phase_set(self, call: pysam.VariantRecordSample) -> str:
        value = _value(call, "PS") if self._has["PS"] else None
        if isinstance(value, tuple):
            value = value[0] if value else None
        return "*" if value is None else str(value)

    def _genes(self, site: _Site, record: pysam.VariantRecord) -> list[tuple[str, ...]]:
        if site.genes is None:
            alternates = site.alleles[1:]
            info = {}
            for layout in self._layouts:
                value = info_value(record, layout.key)
                if value:
                    # pysam splits Number=. strings on commas; the parser wants the INFO text.
                    info[layout.key] = ",".join(value) if isinstance(value, tuple) else str(value)
            if info:
                site.genes = genes_by_alt(self._layouts, info, site.reference, alternates)
            else:
                site.genes = [()] * len(alternates)
        return site.genes

    def _kind(self, alt: str) -> AltKind:
        # Sequence alleles are checked every time: caching them would grow with the file.
        if alt and not alt.strip(_BASES):
            return AltKind.SEQUENCE
        kind = self._symbolic.get(alt)
        if kind is None:
            kind = _classify(alt)
            if kind is not AltKind.BREAKEND:  # breakends name positions: each one is new
                self._symbolic[alt] = kind
        return kind

    def _skip(self, tally: TranslationTally, key: str, note: str) -> None:
        """Count an allele the report cannot state; note why, once per ``key``."""
        tally.skipped_alleles += 1
        if key not in self._noted:
            self._noted.add(key)
            self._notes.append(f"{note}; skipped (counted in skipped_alleles)")


def _alleles(record: pysam.VariantRecord) -> tuple[str, ...]:
    alleles = record.alleles
    if not alleles:
        raise InvalidRecord("no REF allele")
    return alleles


def _classify(alt: str) -> AltKind:
    if alt in _NOT_VARIANTS:
        return AltKind.NOT_VARIANT
    if len(alt) > 2 and alt[0] == "<" and alt[-1] == ">" and "<" not in alt[1:-1]:
        return AltKind.SYMBOLIC
    if _is_breakend(alt):
        return AltKind.BREAKEND
    raise InvalidRecord(f"illegal bases in ALT {alt!r}")


def _is_breakend(alt: str) -> bool:
    """VCF 4.3 §5.4: ``t[p[``, ``t]p]``, ``]p]t``, ``[p[t``, or a single breakend ``.t``/``t.``."""
    if "[" in alt or "]" in alt:
        return alt.count("[") + alt.count("]") == 2 and ":" in alt
    bases = alt[1:] if alt.startswith(".") else alt[:-1] if alt.endswith(".") else ""
    return bool(bases) and not bases.strip(_BASES)


def _zygosity(genotype: tuple[int | None, ...], allele: int) -> AllelicState:
    if len(genotype) == 1:
        return AllelicState.HEMIZYGOUS
    if all(slot == allele for slot in genotype):
        return AllelicState.HOMOZYGOUS
    return AllelicState.HETEROZYGOUS


def _plasmy(
    genotype: tuple[int | None, ...], allele: int, ratio: float | Decimal | None
) -> AllelicState:
    if ratio is not None:
        homoplasmic = ratio > HOMOPLASMY_RATIO
    else:
        homoplasmic = all(slot == allele for slot in genotype)
    return AllelicState.HOMOPLASMIC if homoplasmic else AllelicState.HETEROPLASMIC


def _format_frequency(value: Any, allele: int, n_alleles: int) -> Decimal | None:
    if isinstance(value, tuple):
        # Number=A: one fraction per ALT.
        value = value[allele - 1] if len(value) == n_alleles - 1 else None
    elif n_alleles != 2:
        return None  # a single AF on a multi-allelic record says nothing about this allele
    return _fraction(value) if isinstance(value, float) else None


def _fraction(value: float) -> Decimal | None:
    """A fraction in [0, 1] as a Decimal of at most four places, without trailing zeros."""
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        return None
    return Decimal(f"{value:.4f}".rstrip("0").rstrip("."))


def _value(call: pysam.VariantRecordSample, key: str) -> Any:
    try:
        return call.get(key)
    except (KeyError, ValueError):
        return None


def _check_missing(
    record: pysam.VariantRecord, column: int, genotype: tuple[int | None, ...], sample: str
) -> None:
    """pysam reports an allele index beyond the record's alleles as missing; check the GT
    text so that such a genotype is an error rather than a silent no-call.

    :raises InvalidRecord: the GT names an allele the record does not have.
    """
    fields = str(record).rstrip("\n").split("\t", 10 + column)
    if len(fields) <= 9 + column:
        return
    keys = fields[8].split(":")
    if "GT" not in keys:
        return
    index = keys.index("GT")
    values = fields[9 + column].split(":", index + 1)
    text = values[index] if index < len(values) else "."
    parts = text.replace("|", "/").split("/")
    if len(parts) - parts.count(".") != len(genotype) - genotype.count(None):
        alts = len(record.alts or ())
        raise InvalidRecord(
            f"genotype {text!r} names an allele the record does not have "
            f"({alts} ALT allele(s)) (sample {sample})"
        )
