"""The ``g_variant`` request parameters: each value checked, then the query type decided."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from gateway.beacon.scalars import non_negative, optional_count, optional_text, unknown_error
from gateway.domain.variants import VariantType, query_types
from gateway.errors import BadBeaconQuery

QueryKind = Literal["none", "sequence", "range", "bracket", "gene", "hgvs", "aminoacid"]

_BASES = re.compile(r"^[ACGTUNRYSWKMBDHV\-.]*$")

# requestParameters names (genomicVariations/requestParameters.json), in echo order.
VARIANT_PARAMETERS = (
    "assemblyId", "referenceName", "start", "end", "referenceBases", "alternateBases",
    "variantType", "variantMinLength", "variantMaxLength", "geneId", "aminoacidChange",
    "genomicAlleleShortForm",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class VariantQuery:
    """The ``g_variant`` request parameters; coordinates are 0-based interbase as in the spec."""

    reference_name: str | None
    start: tuple[int, ...]
    end: tuple[int, ...]
    reference_bases: str | None
    alternate_bases: str | None
    variant_types: frozenset[VariantType] | None
    variant_type_raw: str | None
    min_length: int | None
    max_length: int | None
    gene_id: str | None
    assembly_id: str | None
    aminoacid_change: str | None
    genomic_allele_short_form: str | None
    kind: QueryKind

    def parameters(self) -> dict[str, Any]:
        """The parameters that were given, under their spec (camelCase) names."""
        values: dict[str, Any] = {
            "assemblyId": self.assembly_id,
            "referenceName": self.reference_name,
            "start": list(self.start) or None,
            "end": list(self.end) or None,
            "referenceBases": self.reference_bases,
            "alternateBases": self.alternate_bases,
            "variantType": self.variant_type_raw,
            "variantMinLength": self.min_length,
            "variantMaxLength": self.max_length,
            "geneId": self.gene_id,
            "aminoacidChange": self.aminoacid_change,
            "genomicAlleleShortForm": self.genomic_allele_short_form,
        }
        return {name: value for name, value in values.items() if value is not None}


def parse_variant_query(raw: Mapping[str, object]) -> VariantQuery:
    """Type-check each parameter, then decide which Beacon query type the whole is."""
    if "mateName" in raw:
        raise BadBeaconQuery("mateName (fusion queries) is not supported by this beacon")
    unknown = sorted(set(raw) - set(VARIANT_PARAMETERS))
    if unknown:
        raise unknown_error("request parameter", unknown, VARIANT_PARAMETERS)
    type_raw = optional_text(raw.get("variantType"), "variantType")
    query = VariantQuery(
        reference_name=optional_text(raw.get("referenceName"), "referenceName"),
        start=_coordinates(raw.get("start"), "start"),
        end=_coordinates(raw.get("end"), "end"),
        reference_bases=_bases(raw.get("referenceBases"), "referenceBases"),
        alternate_bases=_bases(raw.get("alternateBases"), "alternateBases"),
        variant_types=_variant_types(type_raw),
        variant_type_raw=type_raw,
        min_length=optional_count(raw.get("variantMinLength"), "variantMinLength"),
        max_length=optional_count(raw.get("variantMaxLength"), "variantMaxLength"),
        gene_id=optional_text(raw.get("geneId"), "geneId"),
        assembly_id=optional_text(raw.get("assemblyId"), "assemblyId"),
        aminoacid_change=optional_text(raw.get("aminoacidChange"), "aminoacidChange"),
        genomic_allele_short_form=optional_text(
            raw.get("genomicAlleleShortForm"), "genomicAlleleShortForm"
        ),
        kind="none",
    )
    _check_lengths(query)
    return replace(query, kind=_kind(query))


def _kind(q: VariantQuery) -> QueryKind:
    if q.start or q.end:
        return _coordinate_kind(q)
    if q.genomic_allele_short_form is not None:
        return "hgvs"
    if q.aminoacid_change is not None:
        return "aminoacid"
    if q.gene_id is not None:
        return "gene"
    if q.reference_name is not None:
        raise BadBeaconQuery("referenceName needs start (and end or alternateBases)")
    if q.reference_bases is not None or q.alternate_bases is not None:
        raise BadBeaconQuery("referenceBases and alternateBases need referenceName and start")
    if q.variant_type_raw is not None or q.min_length is not None or q.max_length is not None:
        raise BadBeaconQuery(
            "variantType, variantMinLength and variantMaxLength narrow a range, bracket or "
            "gene query: give referenceName with start and end, or geneId"
        )
    return "none"


def _coordinate_kind(q: VariantQuery) -> QueryKind:
    if q.reference_name is None:
        raise BadBeaconQuery("start and end need referenceName")
    if not q.start:
        raise BadBeaconQuery("end needs start")
    if len(q.start) == 2 or len(q.end) == 2:
        _check_bracket(q.start, q.end)
        return "bracket"
    if not q.end:
        if q.alternate_bases is None:
            raise BadBeaconQuery(
                "start without end is a sequence query and needs alternateBases; "
                "give end as well for a range query"
            )
        return "sequence"
    if q.end[0] < q.start[0]:
        raise BadBeaconQuery(f"end ({q.end[0]}) is before start ({q.start[0]})")
    return "range"


def _check_bracket(start: tuple[int, ...], end: tuple[int, ...]) -> None:
    if len(start) != 2 or len(end) != 2:
        raise BadBeaconQuery(
            "a bracket query needs two start and two end values: start=min,max&end=min,max"
        )
    if start[0] > start[1] or end[0] > end[1]:
        raise BadBeaconQuery("bracket values must be ordered as min,max")
    if end[1] < start[0]:
        raise BadBeaconQuery(f"the end bracket ({end[1]}) lies before the start ({start[0]})")


def _check_lengths(q: VariantQuery) -> None:
    if q.min_length is not None and q.max_length is not None and q.min_length > q.max_length:
        raise BadBeaconQuery(
            f"variantMinLength ({q.min_length}) is above variantMaxLength ({q.max_length})"
        )


def _coordinates(value: object, name: str) -> tuple[int, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    numbers = tuple(non_negative(item, name) for item in items)
    if len(numbers) > 2:
        raise BadBeaconQuery(
            f"{name} takes one value, or two for a bracket query; got {len(numbers)}"
        )
    return numbers


def _bases(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _BASES.match(value.strip().upper()):
        raise BadBeaconQuery(
            f"{name} must be IUPAC nucleotide codes (ACGTUNRYSWKMBDHV, - or .), got {value!r}"
        )
    return value.strip().upper()


def _variant_types(name: str | None) -> frozenset[VariantType] | None:
    if name is None:
        return None
    types = query_types(name)
    if types is None:
        raise BadBeaconQuery(
            f"unknown variantType {name!r}: use SNP, MNP, INDEL, DEL, DUP, INS, INV, BND, CNV "
            "or an EFO term (EFO:0001483, EFO:0030067, EFO:0030070, EFO:0001059)"
        )
    return types
