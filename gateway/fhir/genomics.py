"""HL7 Genomics Reporting STU3 (3.0.0) resources for one sample's called alleles.

Three builders, plain dicts ready for orjson, no I/O:

- :func:`variant_observation`: a ``variant`` Observation (LOINC 69548-6) per
  :class:`~gateway.domain.genomics.CalledAllele`;
- :func:`phase_relationship`: a ``sequence-phase-relationship`` Observation (LOINC 82120-7)
  saying whether two variants sit on the same chromosome copy (Cis) or not (Trans);
- :func:`genomic_report`: the ``genomic-report`` DiagnosticReport (LOINC 51969-4) listing them.

Every code, system and shape here was checked against the official STU3 StructureDefinitions and
examples (``conformance/fhir-examples/``) and the IG's FSH sources (tag ``3.0.0-published``):

- Coordinates use ``LA30100-4`` "0-based interval counting" with ``exact-start-end`` as a
  unit-less Range (``low`` = start, ``high`` = end, half-open), as the IG's operations do.
- Structural variants follow the IG's ``ExampleGermlineDEL``/``CNV``/``INV`` examples: no
  ``alt-allele`` for a symbolic ALT (``<DEL>`` is not a sequence), the type as a Sequence
  Ontology ``coding-change-type``, copy number as a UCUM ``1`` Quantity. When CIPOS/CIEND give
  ``inner``/``outer`` intervals the boundaries are not exact, so those replace ``exact-start-end``.
- Genes: the IG wants the HGNC gene ID as code and the symbol as display. VCF annotations name
  only the symbol, and a symbol is not an HGNC code, so gene-studied carries it as ``text``.
- The IG's examples spell HGNC and SO as ``http://www.genenames.org`` and
  ``http://www.sequenceontology.org`` (its aliases ``$HGNCID``, ``$SEQONT``); we use the same.

Speed: these run once per allele, hundreds of thousands of times per file. The fixed parts
(component codes, categories, fixed values) are module constants shared by every resource the
builders return, so callers must treat the results as read-only (serialise them, don't edit).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from gateway.domain.genomics import (
    ALLELIC_STATE_DISPLAY,
    SOURCE_CLASS_DISPLAY,
    CalledAllele,
    Interval,
    PhaseRelation,
    SourceClass,
)
from gateway.fhir.datatypes import Json, number

__all__ = [
    "GENOMIC_REPORT",
    "HGNC",
    "REFSEQ",
    "SEQUENCE_ONTOLOGY",
    "SEQUENCE_PHASE_RELATIONSHIP",
    "VARIANT",
    "genomic_report",
    "phase_relationship",
    "structural_change_type",
    "variant_observation",
]

_SD = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/"
VARIANT: Final = _SD + "variant"
SEQUENCE_PHASE_RELATIONSHIP: Final = _SD + "sequence-phase-relationship"
GENOMIC_REPORT: Final = _SD + "genomic-report"

LOINC: Final = "http://loinc.org"
UCUM: Final = "http://unitsofmeasure.org"
REFSEQ: Final = "http://www.ncbi.nlm.nih.gov/refseq"
DBSNP: Final = "http://www.ncbi.nlm.nih.gov/projects/SNP"
HGNC: Final = "http://www.genenames.org"
SEQUENCE_ONTOLOGY: Final = "http://www.sequenceontology.org"
# STU3 renders this code system but it belongs to HL7 Terminology (the IG's sushi-config lists
# it under `special-url`), hence the terminology.hl7.org canonical.
PHASE_RELATIONSHIP_CS: Final = (
    "http://terminology.hl7.org/CodeSystem/sequence-phase-relationship-cs"
)
OBSERVATION_CATEGORY: Final = "http://terminology.hl7.org/CodeSystem/observation-category"
DIAGNOSTIC_SERVICE: Final = "http://terminology.hl7.org/CodeSystem/v2-0074"


def _code(system: str, code: str, display: str | None = None) -> Json:
    coding = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def _loinc(code: str) -> Json:
    # Component codes carry no display: the slices match on system and code, and a LOINC
    # display we cannot check against LOINC itself is worse than none.
    return _code(LOINC, code)


_GE: Final = _code(DIAGNOSTIC_SERVICE, "GE")
_CATEGORIES: Final = [_code(OBSERVATION_CATEGORY, "laboratory"), _GE]
_VARIANT_META: Final = {"profile": [VARIANT]}
_PHASE_META: Final = {"profile": [SEQUENCE_PHASE_RELATIONSHIP]}
_REPORT_META: Final = {"profile": [GENOMIC_REPORT]}
_VARIANT_CODE: Final = _code(LOINC, "69548-6", "Genetic variant assessment")
_PHASE_CODE: Final = _code(LOINC, "82120-7", "Allelic phase")
_REPORT_CODE: Final = _code(LOINC, "51969-4", "Genetic analysis report")
_PRESENT: Final = _code(LOINC, "LA9633-4", "Present")

# Component codes (the `code` pattern of each slice of the variant profile).
_GENE_STUDIED: Final = _loinc("48018-6")
_ASSEMBLY: Final = _loinc("62374-4")
_GENOMIC_REF_SEQ: Final = _loinc("48013-7")
_COORDINATE_SYSTEM: Final = _loinc("92822-6")
_EXACT_START_END: Final = _loinc("81254-5")
_INNER_START_END: Final = _loinc("81302-2")
_OUTER_START_END: Final = _loinc("81301-4")
_REF_ALLELE: Final = _loinc("69547-8")
_ALT_ALLELE: Final = _loinc("69551-0")
_CHANGE_TYPE: Final = _loinc("48019-4")
_SOURCE_CLASS: Final = _loinc("48002-0")
_ALLELE_FREQUENCY: Final = _loinc("81258-6")
_READ_DEPTH: Final = _loinc("82121-5")
_ALLELIC_STATE: Final = _loinc("53034-5")
_VARIATION_CODE: Final = _loinc("81252-9")
_COPY_NUMBER: Final = _loinc("82155-3")

# Fixed component values, one component object each: identical in every resource.
_ZERO_BASED: Final = {
    "code": _COORDINATE_SYSTEM,
    "valueCodeableConcept": _code(LOINC, "LA30100-4", "0-based interval counting"),
}
_ASSEMBLIES: Final = {  # LOINC answer list LL1040-6
    "GRCh37": {"code": _ASSEMBLY, "valueCodeableConcept": _code(LOINC, "LA14029-5", "GRCh37")},
    "GRCh38": {"code": _ASSEMBLY, "valueCodeableConcept": _code(LOINC, "LA26806-2", "GRCh38")},
}
_STATES: Final = {
    state: {"code": _ALLELIC_STATE, "valueCodeableConcept": _code(LOINC, state.value, display)}
    for state, display in ALLELIC_STATE_DISPLAY.items()
}
_SOURCES: Final = {
    source: {"code": _SOURCE_CLASS, "valueCodeableConcept": _code(LOINC, source.value, display)}
    for source, display in SOURCE_CLASS_DISPLAY.items()
}
_PHASES: Final = {
    relation: _code(PHASE_RELATIONSHIP_CS, relation.value, relation.value)
    for relation in PhaseRelation
}


def _change_type(code: str, display: str) -> Json:
    return {"code": _CHANGE_TYPE, "valueCodeableConcept": _code(SEQUENCE_ONTOLOGY, code, display)}


# Sequence Ontology terms, all under SO:0002072 (the IG's dna-change-type-vs); ids and labels
# as the IG's own examples (SO:0000159, SO:1000036, SO:0001019) and the SO release use them.
_SNV: Final = _change_type("SO:0001483", "SNV")
_SUBSTITUTION: Final = _change_type("SO:1000002", "substitution")
_DELETION: Final = _change_type("SO:0000159", "deletion")
_INSERTION: Final = _change_type("SO:0000667", "insertion")
_DELINS: Final = _change_type("SO:1000032", "delins")
_STRUCTURAL: Final = {
    "DEL": _DELETION,
    "INS": _INSERTION,
    "DUP": _change_type("SO:1000035", "duplication"),
    "INV": _change_type("SO:1000036", "inversion"),
    "CNV": _change_type("SO:0001019", "copy_number_variation"),
}


def variant_observation(
    allele: CalledAllele, resource_id: str, subject: Json | None, source_class: SourceClass
) -> Json:
    """The ``variant`` Observation stating that ``allele`` is present in the sample."""
    components: list[Json] = [
        {"code": _GENOMIC_REF_SEQ, "valueCodeableConcept": _code(REFSEQ, allele.refseq)}
    ]
    assembly = _ASSEMBLIES.get(allele.assembly)
    if assembly is not None:
        components.append(assembly)
    components.append(_ZERO_BASED)
    components += _coordinates(allele)
    components.append({"code": _REF_ALLELE, "valueString": allele.reference})
    structural = allele.structural
    if structural is None:
        if not _is_symbolic(allele.alternate):
            components.append({"code": _ALT_ALLELE, "valueString": allele.alternate})
            components.append(_sequence_change(allele.reference, allele.alternate))
    else:
        change = _STRUCTURAL.get(structural_change_type(structural.variant_type))
        if change is not None:
            components.append(change)
        if structural.copy_number is not None:
            components.append(
                {"code": _COPY_NUMBER, "valueQuantity": _count(structural.copy_number)}
            )
    components.append(_STATES[allele.allelic_state])
    components.append(_SOURCES[source_class])
    if allele.allele_frequency is not None:
        frequency = {"value": number(allele.allele_frequency), "system": UCUM, "code": "1"}
        components.append({"code": _ALLELE_FREQUENCY, "valueQuantity": frequency})
    if allele.read_depth is not None:
        components.append({"code": _READ_DEPTH, "valueQuantity": _count(allele.read_depth)})
    for gene in allele.genes:
        components.append({"code": _GENE_STUDIED, "valueCodeableConcept": {"text": gene}})
    if allele.variant_id is not None:
        components += _variation_codes(allele.variant_id)
    resource: Json = {
        "resourceType": "Observation",
        "id": resource_id,
        "meta": _VARIANT_META,
        "status": "final",
        "category": _CATEGORIES,
        "code": _VARIANT_CODE,
    }
    if subject is not None:
        resource["subject"] = subject
    resource["valueCodeableConcept"] = _PRESENT
    resource["component"] = components
    return resource


def phase_relationship(
    first_url: str,
    second_url: str,
    relation: PhaseRelation,
    resource_id: str,
    subject: Json | None,
) -> Json:
    """A ``sequence-phase-relationship`` Observation derived from two variant Observations."""
    resource: Json = {
        "resourceType": "Observation",
        "id": resource_id,
        "meta": _PHASE_META,
        "status": "final",
        "category": _CATEGORIES,
        "code": _PHASE_CODE,
    }
    if subject is not None:
        resource["subject"] = subject
    resource["valueCodeableConcept"] = _PHASES[relation]
    resource["derivedFrom"] = [{"reference": first_url}, {"reference": second_url}]
    return resource


def genomic_report(
    resource_id: str,
    subject: Json | None,
    result_urls: Iterable[str],
    issued: str,
    *,
    conclusion: str | None = None,
) -> Json:
    """The ``genomic-report`` DiagnosticReport; ``issued`` is a FHIR instant (with time zone)."""
    resource: Json = {
        "resourceType": "DiagnosticReport",
        "id": resource_id,
        "meta": _REPORT_META,
        "status": "final",
        "category": [_GE],
        "code": _REPORT_CODE,
    }
    if subject is not None:
        resource["subject"] = subject
    resource["issued"] = issued
    results = [{"reference": url} for url in result_urls]
    if results:  # FHIR arrays are never empty
        resource["result"] = results
    if conclusion:
        resource["conclusion"] = conclusion
    return resource


def structural_change_type(variant_type: str) -> str:
    """The base SV type of an SVTYPE or symbolic allele: ``DUP:TANDEM`` and ``<DUP>`` -> ``DUP``.

    VCF 4.3 §5.4: subtypes follow the base type after a colon (``DEL:ME:ALU``).
    """
    return variant_type.strip("<>").split(":", 1)[0].upper()


def _coordinates(allele: CalledAllele) -> list[Json]:
    structural = allele.structural
    if structural is not None:
        imprecise = [
            {"code": code, "valueRange": bounds}
            for code, interval in (
                (_INNER_START_END, structural.inner),
                (_OUTER_START_END, structural.outer),
            )
            if interval is not None and (bounds := _range(interval)) is not None
        ]
        if imprecise:
            return imprecise
    exact = {"low": {"value": allele.start}, "high": {"value": allele.end}}
    return [{"code": _EXACT_START_END, "valueRange": exact}]


def _range(interval: Interval) -> Json | None:
    # Either bound may be unknown; a Range with neither says nothing and is left out.
    out: Json = {}
    if interval.start is not None:
        out["low"] = {"value": interval.start}
    if interval.end is not None:
        out["high"] = {"value": interval.end}
    return out or None


def _sequence_change(reference: str, alternate: str) -> Json:
    """The SO type of a sequence-resolved change, as VCF writes it (indels keep their anchor)."""
    if len(reference) == len(alternate):
        return _SNV if len(reference) == 1 else _SUBSTITUTION
    if len(reference) > len(alternate):
        if reference.startswith(alternate) or reference.endswith(alternate):
            return _DELETION
    elif alternate.startswith(reference) or alternate.endswith(reference):
        return _INSERTION
    return _DELINS


def _is_symbolic(alternate: str) -> bool:
    # `<DEL>`-style alleles and breakends (`G]17:198982]`) name no sequence (VCF 4.3 §1.6.1).
    return alternate.startswith("<") or "[" in alternate or "]" in alternate


def _variation_codes(variant_id: str) -> list[Json]:
    # VCF ID may list several identifiers (`;`); only dbSNP rs numbers are coded as dbSNP.
    return [
        {"code": _VARIATION_CODE, "valueCodeableConcept": _code(DBSNP, name)}
        for name in variant_id.split(";")
        if name.startswith("rs") and name[2:].isdigit()
    ]


def _count(value: int) -> dict[str, Any]:
    return {"value": value, "system": UCUM, "code": "1"}
