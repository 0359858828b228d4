"""Beacon v2 entry records of the default model: genomic variations, individuals, datasets.

Implements ``models/json/beacon-v2-default-model/{genomicVariations,individuals,datasets}/
defaultSchema.json`` (schema release v2.1.1; ``reference/beacon-v2.md`` §5). Variant locations
are VRS 1.3 ``SequenceLocation`` objects with 0-based interbase ``SequenceInterval`` bounds,
the same coordinates as :class:`gateway.domain.variants.Variant`.

Choices the schema leaves open:

- ``sequence_id`` is ``refseq:NC_…`` for the canonical chromosomes and ``<assembly>:<contig>``
  (the seqrepo namespace style, e.g. ``GRCh38:chrUn_KI270302v1``) for other contigs; both are
  VRS CURIEs.
- Symbolic and breakend alleles (``<DEL>``, ``G]17:198982]``) have no base sequence. The
  schema requires ``alternateBases``, so it is ``N`` (IUPAC "any base": the sequence is not
  stated) and the allele's type goes into ``variantType``; the location carries the span.
- ``identifiers.genomicHGVSId`` is given only for SNVs on canonical chromosomes
  (``NC_000017.11:g.43057063G>A``), where no HGVS normalisation (3' shifting) is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gateway.domain.assemblies import ASSEMBLIES, refseq_accession
from gateway.domain.granularity import SecurityLevel
from gateway.domain.samples import SEX_TERMS, Sex
from gateway.domain.variants import Variant, VariantType

# Each default schema names its own version in its "$comment".
SCHEMA_IDS = {
    "genomicVariation": "ga4gh-beacon-variant-v2.1.0",
    "individual": "ga4gh-beacon-individual-v2.0.0",
    "dataset": "ga4gh-beacon-dataset-v2.0.0",
}

_IUPAC = re.compile(r"^[ACGTUNRYSWKMBDHV\-.]*$")
_SNV_BASE = re.compile(r"^[ACGT]$")
_ZYGOSITY = {
    True: {"id": "GENO:0000136", "label": "homozygous"},
    False: {"id": "GENO:0000135", "label": "heterozygous"},
}

# EBISPOT/DUO release the labels come from (the ontology's latest, versionIRI 2021-02-23).
DUO_VERSION = "2021-02-23"
# (CURIE, shorthand, label) from duo.csv: permissions first, then modifiers.
_DUO = (
    ("DUO:0000004", "NRES", "no restriction"),
    ("DUO:0000042", "GRU", "general research use"),
    ("DUO:0000006", "HMB", "health or medical or biomedical research"),
    ("DUO:0000007", "DS", "disease specific research"),
    ("DUO:0000011", "POA", "population origins or ancestry research only"),
    ("DUO:0000043", "CC", "clinical care use"),
    ("DUO:0000021", "IRB", "ethics approval required"),
    ("DUO:0000019", "PUB", "publication required"),
    ("DUO:0000020", "COL", "collaboration required"),
    ("DUO:0000046", "NCU", "non-commercial use only"),
    ("DUO:0000045", "NPU", "not for profit organisation use only"),
    ("DUO:0000018", "NPUNCU", "not for profit, non commercial use only"),
    ("DUO:0000022", "GS", "geographical restriction"),
    ("DUO:0000024", "MOR", "publication moratorium"),
    ("DUO:0000025", "TS", "time limit on use"),
    ("DUO:0000026", "US", "user specific restriction"),
    ("DUO:0000027", "PS", "project specific restriction"),
    ("DUO:0000028", "IS", "institution specific restriction"),
    ("DUO:0000029", "RTN", "return to database or resource"),
    ("DUO:0000015", "NMDS", "no general methods research"),
    ("DUO:0000016", "GSO", "genetic studies only"),
    ("DUO:0000012", "RS", "research specific restrictions"),
    ("DUO:0000044", "NPOA", "population origins or ancestry research prohibited"),
)
DUO_LABELS = {curie: label for curie, _, label in _DUO}
_DUO_BY_SHORTHAND = {shorthand: curie for curie, shorthand, _ in _DUO}
_CURIE = re.compile(r"^\w[^:]+:.+$")  # beaconCommonComponents.json#/$defs/CURIE


@dataclass(frozen=True, slots=True)
class CaseLevel:
    """One carrier of a variant: which sample, which individual, and whether homozygous."""

    biosample_id: str
    individual_id: str
    homozygous: bool


def returned_schema(entity_type: str) -> dict[str, str]:
    """A ``returnedSchemas`` item for one of the entry types this module builds."""
    return {"entityType": entity_type, "schema": SCHEMA_IDS[entity_type]}


def variant_record(v: Variant, *, case_level: Sequence[CaseLevel] = ()) -> dict[str, Any]:
    """A ``genomicVariations`` record with a ``LegacyVariation``."""
    record: dict[str, Any] = {"variantInternalId": v.variant_id, "variation": _variation(v)}
    if hgvs := genomic_hgvs(v):
        record["identifiers"] = {"genomicHGVSId": hgvs}
    if v.genes:
        record["molecularAttributes"] = {"geneIds": list(v.genes)}
    if case_level:
        record["caseLevelData"] = [_case(case) for case in case_level]
    return record


def sequence_id(assembly: str, chromosome: str) -> str:
    """The VRS ``sequence_id`` CURIE of a stored chromosome or contig."""
    accession = refseq_accession(chromosome, assembly) if assembly in ASSEMBLIES else None
    return f"refseq:{accession}" if accession else f"{assembly}:{chromosome}"


def genomic_hgvs(v: Variant) -> str | None:
    """``NC_…:g.<pos><ref>><alt>`` for an SNV on a canonical chromosome, else None."""
    accession = refseq_accession(v.chromosome, v.assembly) if v.assembly in ASSEMBLIES else None
    snv = _SNV_BASE.match(v.reference.upper()) and _SNV_BASE.match(v.alternate.upper())
    if accession is None or v.variant_type is not VariantType.SNP or not snv:
        return None
    return f"{accession}:g.{v.start + 1}{v.reference.upper()}>{v.alternate.upper()}"


def _variation(v: Variant) -> dict[str, Any]:
    variation: dict[str, Any] = {"variantType": v.variant_type.value}
    if _IUPAC.match(v.reference.upper()):
        variation["referenceBases"] = v.reference.upper()
    is_sequence = not v.alternate.startswith("<") and _IUPAC.match(v.alternate.upper())
    variation["alternateBases"] = v.alternate.upper() if is_sequence else "N"
    variation["location"] = _location(v)
    return variation


def _location(v: Variant) -> dict[str, Any]:
    return {
        "type": "SequenceLocation",
        "sequence_id": sequence_id(v.assembly, v.chromosome),
        "interval": {
            "type": "SequenceInterval",
            "start": {"type": "Number", "value": v.start},
            "end": {"type": "Number", "value": v.end},
        },
    }


def _case(case: CaseLevel) -> dict[str, Any]:
    return {
        "biosampleId": case.biosample_id,
        "individualId": case.individual_id,
        "zygosity": dict(_ZYGOSITY[case.homozygous]),
    }


def individual_record(
    individual_id: str, sex: Sex, *, diseases: Sequence[tuple[str, str]] = ()
) -> dict[str, Any]:
    """An ``individuals`` record; ``diseases`` are ``(CURIE, label)`` pairs (``ICD10:E11``)."""
    term, label = SEX_TERMS[sex]
    record: dict[str, Any] = {"id": individual_id, "sex": {"id": term, "label": label}}
    if diseases:
        record["diseases"] = [
            {"diseaseCode": {"id": code, "label": name}} for code, name in diseases
        ]
    return record


def dataset_record(
    dataset_id: str,
    name: str,
    *,
    description: str | None,
    assembly: str,
    security: SecurityLevel,
    duo: Sequence[str],
    created: str | None,
    variant_count: int | None,
    sample_count: int | None = None,
    updated: str | None = None,
) -> dict[str, Any]:
    """A ``datasets`` record; what the default schema has no field for goes into ``info``.

    ``created``/``updated`` are ISO 8601 date-times; ``duo`` holds DUO CURIEs or shorthands.
    """
    record: dict[str, Any] = {"id": dataset_id, "name": name}
    if description:
        record["description"] = description
    if created:
        record["createDateTime"] = created
    if updated:
        record["updateDateTime"] = updated
    if duo:  # duoDataUse has minItems 1
        record["dataUseConditions"] = {"duoDataUse": [duo_term(code) for code in duo]}
    record["info"] = _dataset_info(assembly, security, variant_count, sample_count)
    return record


def duo_term(code: str) -> dict[str, str]:
    """A ``DUODataUse`` item from a CURIE or shorthand (``DUO:0000042`` or ``GRU``).

    :raises ValueError: neither a known shorthand nor a CURIE.
    """
    curie = _DUO_BY_SHORTHAND.get(code.strip().upper(), code.strip())
    if not _CURIE.match(curie):
        raise ValueError(f"{code!r} is not a DUO code: use a CURIE such as DUO:0000042")
    term = {"id": curie, "version": DUO_VERSION}  # the schema requires a version
    if curie in DUO_LABELS:
        term["label"] = DUO_LABELS[curie]
    return term


def _dataset_info(
    assembly: str, security: SecurityLevel, variants: int | None, samples: int | None
) -> dict[str, Any]:
    info: dict[str, Any] = {"assemblyId": assembly, "securityLevel": security.value}
    if variants is not None:
        info["variantCount"] = variants
    if samples is not None:
        info["sampleCount"] = samples
    return info
