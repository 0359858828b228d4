"""Beacon v2 response builders: every output validated against the official v2.1.1 schemas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gateway.beacon.records import (
    CaseLevel,
    dataset_record,
    individual_record,
    returned_schema,
    variant_record,
)
from gateway.beacon.requests import parse_get, parse_post
from gateway.beacon.responses import (
    API_VERSION,
    Count,
    ResponseContext,
    ResultSet,
    boolean_response,
    collections_response,
    count_response,
    error_response,
    fallback_summary,
    resultsets_response,
    select_result_sets,
)
from gateway.domain.granularity import Granularity, SecurityLevel
from gateway.domain.samples import Sex
from gateway.domain.variants import Variant, VariantType
from tests.support.beacon_schema import (
    COLLECTIONS,
    ERROR,
    RESPONSE_SCHEMAS,
    schema_root,
    validate,
)

BEACON_ID = "eu.example.gateway.de"
FLOOR = 5

SNV = Variant("GRCh38", "22", 10516172, 10516173, "C", "T", VariantType.SNP, genes=("XKR3",))
SYMBOLIC_DEL = Variant("GRCh38", "1", 999, 2000, "N", "<DEL>", VariantType.DEL)
ALT_CONTIG = Variant("GRCh38", "chrUn_KI270302v1", 99, 100, "A", "G", VariantType.SNP)
CARRIERS = (CaseLevel("S1", "I1", homozygous=False), CaseLevel("S2", "I2", homozygous=True))


@pytest.fixture(scope="module")
def schemas(shared: Path) -> Path:
    return schema_root(shared)


def context(
    entity: str = "genomicVariation", granularity: Granularity = Granularity.COUNT
) -> ResponseContext:
    """The meta context of a parsed POST request for one entry type."""
    request = parse_post(
        {
            "meta": {"apiVersion": API_VERSION},
            "query": {
                "requestParameters": {
                    "referenceName": "22",
                    "start": [10516172],
                    "end": [10516173],
                },
                "filters": [{"id": "NCIT:C16576"}],
                "requestedGranularity": granularity.value,
            },
        },
        max_limit=100,
    )
    return ResponseContext(
        beacon_id=BEACON_ID,
        api_version=API_VERSION,
        returned_schemas=(returned_schema(entity),),
        received_summary=request.summary(Granularity.COUNT),
    )


def variant_results() -> tuple[dict[str, Any], ...]:
    return (
        variant_record(SNV, case_level=CARRIERS),
        variant_record(SYMBOLIC_DEL, case_level=CARRIERS[:1]),
        variant_record(ALT_CONTIG),
    )


# --- Count --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "floor", "reported", "fields"),
    [
        (0, FLOOR, 0, {"countPrecision": "exact"}),
        (1, FLOOR, FLOOR, {"countAdjustedTo": [FLOOR], "countPrecision": "imprecise"}),
        (4, FLOOR, FLOOR, {"countAdjustedTo": [FLOOR], "countPrecision": "imprecise"}),
        (5, FLOOR, 5, {"countPrecision": "exact"}),
        (1234, FLOOR, 1234, {"countPrecision": "exact"}),
        (1, 0, 1, {"countPrecision": "exact"}),
        (1, 1, 1, {"countPrecision": "exact"}),
    ],
)
def test_count_protection(value: int, floor: int, reported: int, fields: dict[str, Any]) -> None:
    count = Count(value, floor)
    assert count.reported == reported
    assert count.fields() == fields
    assert count.adjusted is ("countAdjustedTo" in fields)


@pytest.mark.parametrize(
    ("value", "reported", "fields"),
    [
        (3, FLOOR, {"countAdjustedTo": [FLOOR], "countPrecision": "imprecise"}),
        (12, 12, {"countPrecision": "imprecise"}),
        (0, 0, {"countPrecision": "imprecise"}),
    ],
)
def test_an_approximate_count_is_never_exact(
    value: int, reported: int, fields: dict[str, Any]
) -> None:
    count = Count(value, FLOOR, imprecise=True)
    assert count.reported == reported
    assert count.fields() == fields


@pytest.mark.parametrize(("value", "floor"), [(-1, 5), (1, -5)])
def test_negative_counts_are_refused(value: int, floor: int) -> None:
    with pytest.raises(ValueError, match="never negative"):
        Count(value, floor)


# --- boolean / count / record -------------------------------------------------------------


@pytest.mark.parametrize("exists", [True, False])
def test_boolean_response(schemas: Path, exists: bool) -> None:
    doc = boolean_response(context(), exists=exists)
    assert validate(doc, RESPONSE_SCHEMAS["boolean"], schemas) == []
    assert doc["meta"]["returnedGranularity"] == "boolean"
    assert doc["responseSummary"] == {"exists": exists}


@pytest.mark.parametrize("value", [0, 3, 5, 120])
def test_count_response(schemas: Path, value: int) -> None:
    doc = count_response(context(), exists=value > 0, count=Count(value, FLOOR))
    assert validate(doc, RESPONSE_SCHEMAS["count"], schemas) == []
    summary = doc["responseSummary"]
    assert doc["meta"]["returnedGranularity"] == "count"
    assert summary["exists"] is (value > 0)
    assert summary["numTotalResults"] == (FLOOR if 0 < value < FLOOR else value)
    assert ("countAdjustedTo" in summary) is (0 < value < FLOOR)


def test_count_response_meta(schemas: Path) -> None:
    ctx = context()
    meta = count_response(ctx, exists=True, count=Count(10, FLOOR))["meta"]
    assert meta == {
        "beaconId": BEACON_ID,
        "apiVersion": API_VERSION,
        "returnedSchemas": [
            {"entityType": "genomicVariation", "schema": "ga4gh-beacon-variant-v2.1.0"}
        ],
        "returnedGranularity": "count",
        "receivedRequestSummary": ctx.received_summary,
    }


@pytest.mark.parametrize("value", [2, 40], ids=["adjusted", "exact"])
def test_resultsets_response_with_variants(schemas: Path, value: int) -> None:
    result_sets = [
        ResultSet("demo", True, Count(value, FLOOR), variant_results(), info={"note": "x"}),
        ResultSet("empty", False, Count(0, FLOOR), ()),
    ]
    doc = resultsets_response(
        context(), exists=True, count=Count(value, FLOOR), result_sets=result_sets
    )
    assert validate(doc, RESPONSE_SCHEMAS["record"], schemas) == []
    assert doc["meta"]["returnedGranularity"] == "record"
    first, second = doc["response"]["resultSets"]
    assert first["id"] == "demo"
    assert first["setType"] == "dataset"
    assert first["resultsCount"] == max(value, FLOOR)
    assert first["countPrecision"] == ("imprecise" if value < FLOOR else "exact")
    assert first["info"] == {"note": "x"}
    assert len(first["results"]) == 3
    assert second == {
        "id": "empty",
        "setType": "dataset",
        "exists": False,
        "resultsCount": 0,
        "countPrecision": "exact",
        "results": [],
    }


def test_resultsets_response_with_individuals(schemas: Path) -> None:
    individuals = (
        individual_record("I1", Sex.FEMALE, diseases=[("ICD10:E11", "Type 2 diabetes")]),
        individual_record("I2", Sex.MALE),
        individual_record("I3", Sex.UNKNOWN),
    )
    doc = resultsets_response(
        context("individual"),
        exists=True,
        count=Count(3, 0),
        result_sets=[ResultSet("demo", True, Count(3, 0), individuals)],
    )
    assert validate(doc, RESPONSE_SCHEMAS["record"], schemas) == []
    assert doc["meta"]["returnedSchemas"][0]["entityType"] == "individual"


def test_collections_response(schemas: Path) -> None:
    datasets = [
        dataset_record(
            "demo",
            "Demo cohort",
            description="Synthetic",
            assembly="GRCh38",
            security=SecurityLevel.PUBLIC,
            duo=["DUO:0000042"],
            created="2024-05-01T12:00:00Z",
            variant_count=3042,
        ),
        dataset_record(
            "bare",
            "Bare",
            description=None,
            assembly="GRCh37",
            security=SecurityLevel.CONTROLLED,
            duo=[],
            created=None,
            variant_count=None,
        ),
    ]
    doc = collections_response(
        context("dataset"), exists=True, count=Count(2, 0), collections=datasets
    )
    assert validate(doc, COLLECTIONS, schemas) == []
    assert doc["meta"]["returnedGranularity"] == "record"
    assert [c["id"] for c in doc["response"]["collections"]] == ["demo", "bare"]


def test_test_mode_is_repeated_in_meta(schemas: Path) -> None:
    summary = parse_post({"query": {"testMode": True}}, max_limit=10).summary(Granularity.COUNT)
    ctx = ResponseContext(BEACON_ID, API_VERSION, (returned_schema("individual"),), summary)
    doc = boolean_response(ctx, exists=False)
    assert validate(doc, RESPONSE_SCHEMAS["boolean"], schemas) == []
    assert doc["meta"]["testMode"] is True


def test_get_request_context_is_valid(schemas: Path) -> None:
    summary = parse_get([("geneId", "BRCA1")], max_limit=10).summary(Granularity.COUNT)
    ctx = ResponseContext(BEACON_ID, API_VERSION, (returned_schema("genomicVariation"),), summary)
    doc = count_response(ctx, exists=False, count=Count(0, FLOOR))
    assert validate(doc, RESPONSE_SCHEMAS["count"], schemas) == []
    assert doc["meta"]["receivedRequestSummary"]["requestedGranularity"] == "count"


@pytest.mark.parametrize(
    ("include", "expected"),
    [("ALL", ["hit", "miss"]), ("HIT", ["hit"]), ("MISS", ["miss"]), ("NONE", [])],
)
def test_select_result_sets(include: Any, expected: list[str]) -> None:
    sets = [ResultSet("hit", True, Count(1, 0), ()), ResultSet("miss", False, Count(0, 0), ())]
    assert [rs.dataset_id for rs in select_result_sets(sets, include)] == expected


# --- errors -------------------------------------------------------------------------------


def test_error_response_for_a_parsed_request(schemas: Path) -> None:
    ctx = context()
    doc = error_response(
        ctx, code=403, message="dataset is controlled", beacon_id=BEACON_ID, api_version=API_VERSION
    )
    assert validate(doc, ERROR, schemas) == []
    assert doc["error"] == {"errorCode": 403, "errorMessage": "dataset is controlled"}
    assert doc["meta"]["receivedRequestSummary"] == ctx.received_summary


def test_error_response_for_an_unparseable_request(schemas: Path) -> None:
    doc = error_response(
        None, code=400, message="start must be an integer", beacon_id=BEACON_ID, api_version="v2"
    )
    assert validate(doc, ERROR, schemas) == []
    assert doc["meta"]["receivedRequestSummary"] == fallback_summary("v2")
    assert doc["meta"]["returnedSchemas"] == []


# --- the validator really rejects broken documents ----------------------------------------


def _broken_count(doc: dict[str, Any]) -> None:
    del doc["responseSummary"]["numTotalResults"]


def _negative_count(doc: dict[str, Any]) -> None:
    doc["responseSummary"]["numTotalResults"] = -1


def _string_exists(doc: dict[str, Any]) -> None:
    doc["responseSummary"]["exists"] = "yes"


def _no_pagination(doc: dict[str, Any]) -> None:
    del doc["meta"]["receivedRequestSummary"]["pagination"]


def _aggregated(doc: dict[str, Any]) -> None:
    doc["meta"]["returnedGranularity"] = "aggregated"


def _filter_objects(doc: dict[str, Any]) -> None:
    doc["meta"]["receivedRequestSummary"]["filters"] = [{"id": "NCIT:C16576"}]


def _flat_parameters(doc: dict[str, Any]) -> None:
    doc["meta"]["receivedRequestSummary"]["requestParameters"] = {"start": [1]}


@pytest.mark.parametrize(
    "breaks",
    [
        _broken_count,
        _negative_count,
        _string_exists,
        _no_pagination,
        _aggregated,
        _filter_objects,
        _flat_parameters,
    ],
)
def test_validator_rejects_broken_count_responses(schemas: Path, breaks: Any) -> None:
    doc = copy.deepcopy(count_response(context(), exists=True, count=Count(9, FLOOR)))
    assert validate(doc, RESPONSE_SCHEMAS["count"], schemas) == []
    breaks(doc)
    assert validate(doc, RESPONSE_SCHEMAS["count"], schemas) != []


def test_validator_rejects_a_result_set_without_results_count(schemas: Path) -> None:
    rs = ResultSet("demo", True, Count(1, 0), variant_results())
    doc = resultsets_response(context(), exists=True, count=Count(1, 0), result_sets=[rs])
    del doc["response"]["resultSets"][0]["resultsCount"]
    errors = validate(doc, RESPONSE_SCHEMAS["record"], schemas)
    assert any("resultsCount" in error for error in errors)


def test_validator_rejects_an_error_without_code(schemas: Path) -> None:
    doc = error_response(None, code=400, message="x", beacon_id=BEACON_ID, api_version="v2")
    del doc["error"]["errorCode"]
    assert validate(doc, ERROR, schemas) != []
