"""Beacon v2 request parsing: GET parameters, POST bodies, and the echoed request summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.beacon.requests import (
    GET_PARAMETERS,
    AlphanumericFilter,
    BeaconRequest,
    OntologyFilter,
    parse_get,
    parse_post,
)
from gateway.beacon.responses import API_VERSION
from gateway.domain.granularity import Granularity
from gateway.domain.variants import VariantType
from gateway.errors import BadBeaconQuery
from tests.support.beacon_schema import (
    G_VARIANT_PARAMETERS,
    REQUEST_BODY,
    SUMMARY,
    schema_root,
    validate,
)

MAX = 100


@pytest.fixture(scope="module")
def schemas(shared: Path) -> Path:
    return schema_root(shared)


def get(query: str) -> BeaconRequest:
    """Parse ``a=1&b=2`` (no URL decoding needed for these tests)."""
    pairs = [tuple(part.split("=", 1)) for part in query.split("&") if part]
    return parse_get([(name, value) for name, value in pairs], max_limit=MAX)


def post(query: dict[str, Any], **top: Any) -> BeaconRequest:
    return parse_post({"meta": {"apiVersion": "v2.0.0"}, "query": query, **top}, max_limit=MAX)


# --- query types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        ("", "none"),
        ("assemblyId=GRCh38", "none"),
        ("referenceName=22&start=10516172&alternateBases=T", "sequence"),
        ("referenceName=22&start=10516172&referenceBases=C&alternateBases=T", "sequence"),
        ("referenceName=22&start=10516172&end=10516173", "range"),
        ("referenceName=22&start=100&end=100", "range"),
        ("referenceName=22&start=10516172&end=10516200&variantType=SNP", "range"),
        ("referenceName=1&start=5000000,5001000&end=7676592,7677000&variantType=DEL", "bracket"),
        ("geneId=BRCA1", "gene"),
        ("geneid=BRCA1&variantType=DEL", "gene"),
        ("geneId=BRAF&aminoacidChange=V600E", "aminoacid"),
        ("aminoacidChange=V600E", "aminoacid"),
        ("allele=NM_004006.2:c.4375C>T", "hgvs"),
        ("genomicAlleleShortForm=NC_000017.11:g.43057063G>A", "hgvs"),
    ],
)
def test_get_query_kinds(query: str, kind: str) -> None:
    assert get(query).variant.kind == kind


def test_get_sequence_query_values() -> None:
    v = get("referenceName=chr22&start=10516172&referenceBases=c&alternateBases=t").variant
    assert (v.reference_name, v.start, v.end) == ("chr22", (10516172,), ())
    assert (v.reference_bases, v.alternate_bases) == ("C", "T")


def test_get_comma_joined_and_repeated_lists_are_the_same() -> None:
    joined = get("referenceName=1&start=5000000,5001000&end=7676592,7677000")
    repeated = get("referenceName=1&start=5000000&start=5001000&end=7676592&end=7677000")
    assert joined == repeated
    assert joined.variant.start == (5000000, 5001000)
    assert joined.variant.end == (7676592, 7677000)


def test_get_filters_are_ontology_filters_with_descendants() -> None:
    request = get("filters=NCIT:C16576,ICD10:E11&filters=NCIT:C20197")
    assert request.filters == (
        OntologyFilter("NCIT:C16576", include_descendant_terms=True, scope=None),
        OntologyFilter("ICD10:E11", include_descendant_terms=True, scope=None),
        OntologyFilter("NCIT:C20197", include_descendant_terms=True, scope=None),
    )


def test_get_other_parameters() -> None:
    request = get(
        "datasetIds=a,b&requestedSchema=ga4gh-beacon-variant-v2.1.0&includeResultsetResponses=all"
    )
    assert request.dataset_ids == ("a", "b")
    assert request.requested_schemas == ("ga4gh-beacon-variant-v2.1.0",)
    assert request.include_resultset_responses == "ALL"
    assert request.requested_granularity is None
    assert request.test_mode is False


def test_get_accepts_a_mapping() -> None:
    request = parse_get({"referenceName": "22", "start": "1", "end": "5"}, max_limit=MAX)
    assert request.variant.kind == "range"


def test_variant_type_names_and_efo_terms() -> None:
    cnv = get("referenceName=1&start=0,10&end=100,200&variantType=EFO:0001059").variant
    assert cnv.variant_types == frozenset({VariantType.CNV, VariantType.DEL, VariantType.DUP})
    assert cnv.variant_type_raw == "EFO:0001059"
    snv = get("referenceName=1&start=0&end=10&variantType=snv").variant
    assert snv.variant_types == frozenset({VariantType.SNP})


def test_empty_alternate_bases_is_a_deletion_query() -> None:
    v = get("referenceName=1&start=100&referenceBases=AT&alternateBases=").variant
    assert (v.kind, v.reference_bases, v.alternate_bases) == ("sequence", "AT", "")


def test_empty_values_of_other_parameters_are_absent() -> None:
    assert get("referenceName=&assemblyId=&filters=").variant.kind == "none"


# --- pagination ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "skip", "limit"),
    [
        ("", 0, 10),
        ("skip=2&limit=8", 2, 8),
        ("limit=0", 0, MAX),
        (f"limit={MAX + 1}", 0, MAX),
        ("limit=100000", 0, MAX),
    ],
)
def test_pagination(query: str, skip: int, limit: int) -> None:
    request = get(query)
    assert (request.skip, request.limit) == (skip, limit)


def test_skip_counts_pages() -> None:
    # docs/framework.md: skip 2 and limit 8 return records 17-24 (offset 16).
    assert get("skip=2&limit=8").offset == 16


def test_default_limit_is_clamped_to_a_small_maximum() -> None:
    assert parse_get([], max_limit=5).limit == 5


def test_post_pagination() -> None:
    request = post({"pagination": {"skip": 1, "limit": 0}})
    assert (request.skip, request.limit) == (1, MAX)


# --- GET errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("referenceName=1&start=abc&end=5", "start must be an integer"),
        ("referenceName=1&start=1.5&end=5", "start must be an integer"),
        ("referenceName=1&start=-1&end=5", "start must not be negative"),
        ("referenceName=1&start=1&end=-5", "end must not be negative"),
        ("referenceName=1&start=10&end=5", "end (5) is before start (10)"),
        ("referenceName=1&start=10", "needs alternateBases"),
        ("referenceName=1&start=10&referenceBases=A", "needs alternateBases"),
        ("referenceName=1&start=1,2,3&end=5,6", "start takes one value"),
        ("referenceName=1&start=1,2&end=5,6,7", "end takes one value"),
        ("referenceName=1&start=1,2&end=5", "bracket query needs two start and two end"),
        ("referenceName=1&start=1&end=5,6", "bracket query needs two start and two end"),
        ("referenceName=1&start=5,1&end=10,20", "ordered as min,max"),
        ("referenceName=1&start=50,60&end=10,20", "lies before the start"),
        ("start=1&end=5", "start and end need referenceName"),
        ("referenceName=1&end=5", "end needs start"),
        ("referenceName=1", "referenceName needs start (and end or alternateBases)"),
        ("referenceName=1&start=1&alternateBases=X", "alternateBases must be IUPAC"),
        ("referenceName=1&start=1&alternateBases=A&referenceBases=Z", "referenceBases must be"),
        ("alternateBases=A", "need referenceName and start"),
        ("referenceName=1&start=1&end=5&variantType=FOO", "unknown variantType 'FOO'"),
        ("variantType=DEL", "narrow a range, bracket or gene query"),
        ("variantMinLength=5", "narrow a range, bracket or gene query"),
        ("geneId=X&variantMinLength=9&variantMaxLength=2", "variantMinLength (9) is above"),
        ("geneId=X&variantMinLength=-1", "variantMinLength must not be negative"),
        ("skip=-1", "skip must not be negative"),
        ("skip=one", "skip must be an integer"),
        ("limit=-1", "limit must not be negative"),
        ("limit=ten", "limit must be an integer"),
        ("includeResultsetResponses=SOME", "unknown includeResultsetResponses"),
        ("strat=1", "unknown query parameter: 'strat' (did you mean 'start'?)"),
        ("foo=1&bar=2", "unknown query parameters: 'bar', 'foo'"),
        ("requestedGranularity=record", "use POST"),
        ("referenceName=1&referenceName=2&start=1&end=2", "given more than once"),
        ("geneId=A&geneid=B", "geneId is given twice"),
        ("limit=1&limit=2", "limit is given more than once"),
    ],
)
def test_get_errors(query: str, message: str) -> None:
    with pytest.raises(BadBeaconQuery) as caught:
        get(query)
    assert message in caught.value.message


def test_get_parameters_cover_the_model_endpoints(shared: Path) -> None:
    """Every query parameter the default model's endpoints.json declares is accepted."""
    model = schema_root(shared) / "models/json/beacon-v2-default-model"
    declared = set()
    for path in model.glob("*/endpoints.json"):
        parameters = json.loads(path.read_text())["components"]["parameters"]
        declared |= {p["name"] for p in parameters.values() if p["in"] == "query"}
    assert declared <= GET_PARAMETERS
    assert {"datasetIds", "geneId", "genomicAlleleShortForm"} <= GET_PARAMETERS
    assert "requestedGranularity" not in GET_PARAMETERS


# --- POST ---------------------------------------------------------------------------------

FLAT = {"referenceName": "1", "start": [123], "end": 456, "variantType": "DEL"}


def test_flat_and_wrapped_request_parameters_parse_to_the_same_request() -> None:
    common = {"filters": [{"id": "NCIT:C16576"}], "requestedGranularity": "count"}
    flat = post({"requestParameters": FLAT, **common})
    wrapped = post({"requestParameters": {"g_variant": FLAT}, **common})
    assert flat == wrapped
    assert flat.variant.kind == "range"
    assert (flat.variant.start, flat.variant.end) == ((123,), (456,))


def test_post_scalars_and_lists_are_the_same() -> None:
    scalar = post({"requestParameters": {"referenceName": "1", "start": 5, "end": 9}})
    listed = post({"requestParameters": {"referenceName": "1", "start": [5], "end": [9]}})
    assert scalar == listed


def test_post_dataset_ids_flat_and_wrapped() -> None:
    flat = post({"requestParameters": {"datasetIds": ["a", "b"]}})
    wrapped = post({"requestParameters": {"datasets": {"datasetIds": ["a", "b"]}}})
    assert flat.dataset_ids == wrapped.dataset_ids == ("a", "b")


@pytest.mark.parametrize(
    ("body", "granularity"),
    [
        ({"query": {"requestedGranularity": "record"}}, Granularity.RECORD),
        ({"query": {}, "requestedGranularity": "count"}, Granularity.COUNT),
        ({"query": {"requestedGranularity": "Boolean"}}, Granularity.BOOLEAN),
        ({"query": {}}, None),
        ({}, None),
    ],
)
def test_post_granularity(body: dict[str, Any], granularity: Granularity | None) -> None:
    assert parse_post(body, max_limit=MAX).requested_granularity == granularity


def test_post_without_meta_is_accepted() -> None:
    request = parse_post({"query": {"requestParameters": {"geneId": "BRCA1"}}}, max_limit=MAX)
    assert request.variant.kind == "gene"
    assert request.api_version is None
    assert request.summary(Granularity.COUNT)["apiVersion"] == API_VERSION


def test_post_meta_and_query_details() -> None:
    request = parse_post(
        {
            "meta": {
                "apiVersion": "v2.0.0",
                "requestedSchemas": [{"entityType": "individual", "schema": "s1"}, "s2"],
            },
            "query": {"testMode": True, "includeResultsetResponses": "MISS"},
        },
        max_limit=MAX,
    )
    assert request.api_version == "v2.0.0"
    assert request.requested_schemas == ("s1", "s2")
    assert request.test_mode is True
    assert request.include_resultset_responses == "MISS"


def test_post_filters() -> None:
    request = post(
        {
            "filters": [
                "NCIT:C16576",
                {"id": "ICD10:E11", "includeDescendantTerms": False, "scope": "individual"},
                {"id": "age", "operator": ">=", "value": "P70Y"},
                {"id": "bmi", "operator": "<", "value": 30},
                {"id": "sex", "value": "female"},
            ]
        }
    )
    assert request.filters == (
        OntologyFilter("NCIT:C16576", include_descendant_terms=True, scope=None),
        OntologyFilter("ICD10:E11", include_descendant_terms=False, scope="individual"),
        AlphanumericFilter("age", operator=">=", value="P70Y", scope=None),
        AlphanumericFilter("bmi", operator="<", value="30", scope=None),
        AlphanumericFilter("sex", operator="=", value="female", scope=None),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "the request body must be a JSON object"),
        ("query", "the request body must be a JSON object"),
        (None, "the request body must be a JSON object"),
        ({"query": []}, "query must be a JSON object"),
        ({"qurey": {}}, "unknown key in the request body: 'qurey' (did you mean 'query'?)"),
        ({"query": {"filter": []}}, "unknown key in query: 'filter' (did you mean 'filters'?)"),
        ({"query": {"requestParameters": []}}, "requestParameters must be a JSON object"),
        ({"query": {"requestParameters": {"strat": [1]}}}, "unknown request parameter: 'strat'"),
        ({"query": {"requestParameters": {"g_variant": 1}}}, "g_variant must be a JSON object"),
        (
            {"query": {"requestParameters": {"geneId": "A", "g_variant": {"geneId": "A"}}}},
            "gives geneId both flat and in g_variant",
        ),
        ({"query": {"requestParameters": {"mateName": "chr2"}}}, "mateName"),
        (
            {"query": {"requestParameters": {"referenceName": "1", "start": "x", "end": 2}}},
            "start must be an integer",
        ),
        (
            {"query": {"requestParameters": {"referenceName": "1", "start": True, "end": 2}}},
            "start must be an integer",
        ),
        (
            {"query": {"requestParameters": {"referenceName": "1", "start": [1, 2, 3]}}},
            "start takes one value",
        ),
        ({"query": {"requestParameters": {"referenceName": 1}}}, "referenceName must be a string"),
        ({"query": {"requestParameters": {"datasetIds": [1]}}}, "datasetIds must be a list"),
        ({"query": {"requestedGranularity": "aggregated"}}, "unknown requestedGranularity"),
        ({"query": {"requestedGranularity": 2}}, "unknown requestedGranularity"),
        (
            {"query": {"requestedGranularity": "count"}, "requestedGranularity": "record"},
            "requestedGranularity is given twice",
        ),
        ({"query": {"includeResultsetResponses": "SOME"}}, "unknown includeResultsetResponses"),
        ({"query": {"pagination": {"skip": -1}}}, "skip must not be negative"),
        ({"query": {"pagination": {"limit": "many"}}}, "limit must be an integer"),
        ({"query": {"pagination": {"limit": False}}}, "limit must be an integer"),
        ({"query": {"pagination": {"page": 1}}}, "unknown key in query.pagination: 'page'"),
        ({"query": {"pagination": 5}}, "query.pagination must be a JSON object"),
        ({"query": {"testMode": "yes"}}, "query.testMode must be true or false"),
        ({"query": {"filters": "NCIT:C16576"}}, "query.filters must be an array"),
        ({"query": {"filters": [5]}}, "a filter must be a CURIE string or an object"),
        ({"query": {"filters": [""]}}, "a filter must be a CURIE string or an object"),
        ({"query": {"filters": [{"scope": "individual"}]}}, "a filter needs an id"),
        ({"query": {"filters": [{"id": ""}]}}, "a filter needs an id"),
        ({"query": {"filters": [{"id": "a", "operator": "~", "value": "1"}]}}, "operator '~'"),
        ({"query": {"filters": [{"id": "a", "operator": "="}]}}, "needs a value"),
        ({"query": {"filters": [{"id": "a", "value": True}]}}, "needs a value"),
        ({"query": {"filters": [{"id": "a", "similarity": "some"}]}}, "similarity must be"),
        ({"query": {"filters": [{"id": "a", "includeDescendantTerms": 1}]}}, "true or false"),
        ({"query": {"filters": [{"id": "a", "colour": "red"}]}}, "unknown key in a filter"),
        ({"meta": {"requestedSchemas": "x"}}, "meta.requestedSchemas must be an array"),
        ({"meta": {"requestedSchemas": [{"entityType": "x"}]}}, "needs a schema name"),
        ({"meta": {"apiVersion": 2}}, "meta.apiVersion must be a string"),
    ],
)
def test_post_errors(body: object, message: str) -> None:
    with pytest.raises(BadBeaconQuery) as caught:
        parse_post(body, max_limit=MAX)
    assert message in caught.value.message


def test_post_limit_is_clamped() -> None:
    assert post({"pagination": {"limit": 10_000}}).limit == MAX


def test_max_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_limit"):
        parse_get([], max_limit=0)


# --- receivedRequestSummary ---------------------------------------------------------------


def test_summary_of_get_is_schema_valid(schemas: Path) -> None:
    request = get(
        "referenceName=1&start=5000000,5001000&end=7676592,7677000&variantType=DEL"
        "&assemblyId=GRCh38&filters=NCIT:C16576&datasetIds=demo&skip=1&limit=5"
        "&requestedSchema=ga4gh-beacon-variant-v2.1.0"
    )
    summary = request.summary(Granularity.COUNT)
    assert validate(summary, SUMMARY, schemas) == []
    assert summary["requestedGranularity"] == "count"
    assert summary["pagination"] == {"skip": 1, "limit": 5}
    assert summary["filters"] == ["NCIT:C16576"]
    assert summary["requestedSchemas"] == [{"schema": "ga4gh-beacon-variant-v2.1.0"}]
    assert summary["requestParameters"] == {
        "g_variant": {
            "assemblyId": "GRCh38",
            "referenceName": "1",
            "start": [5000000, 5001000],
            "end": [7676592, 7677000],
            "variantType": "DEL",
        },
        "datasets": {"datasetIds": ["demo"]},
    }
    assert validate(summary["requestParameters"]["g_variant"], G_VARIANT_PARAMETERS, schemas) == []


@pytest.mark.parametrize("wrapped", [False, True], ids=["flat", "wrapped"])
def test_summary_of_post_is_schema_valid_and_wrapped(schemas: Path, wrapped: bool) -> None:
    parameters = {"referenceName": "22", "start": [10516172], "alternateBases": "t"}
    body = {
        "meta": {"apiVersion": "v2.0.0"},
        "query": {
            "requestParameters": {"g_variant": parameters} if wrapped else parameters,
            "filters": [{"id": "NCIT:C20197"}, {"id": "age", "operator": ">", "value": "P70Y"}],
            "requestedGranularity": "record",
            "testMode": True,
        },
    }
    summary = parse_post(body, max_limit=MAX).summary(Granularity.COUNT)
    assert validate(summary, SUMMARY, schemas) == []
    assert summary["apiVersion"] == "v2.0.0"
    assert summary["requestedGranularity"] == "record"
    assert summary["filters"] == ["NCIT:C20197", "age>P70Y"]
    assert summary["testMode"] is True
    assert summary["requestParameters"] == {
        "g_variant": {"referenceName": "22", "start": [10516172], "alternateBases": "T"}
    }


def test_summary_without_parameters_is_schema_valid(schemas: Path) -> None:
    summary = get("").summary(Granularity.BOOLEAN)
    assert validate(summary, SUMMARY, schemas) == []
    assert "requestParameters" not in summary
    assert "filters" not in summary


def test_the_schema_accepts_only_the_wrapped_request_body(schemas: Path) -> None:
    """Pitfall 1: flat requestParameters are schema-invalid, yet the parser accepts both."""
    meta = {"apiVersion": "v2.0.0"}
    wrapped = {"meta": meta, "query": {"requestParameters": {"g_variant": FLAT}}}
    flat = {"meta": meta, "query": {"requestParameters": FLAT}}
    assert validate(wrapped, REQUEST_BODY, schemas) == []
    assert validate(flat, REQUEST_BODY, schemas) != []
    assert parse_post(flat, max_limit=MAX) == parse_post(wrapped, max_limit=MAX)
