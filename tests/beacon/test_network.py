"""Beacon network aggregation: members' answers combined, garbage turned into missing members,
every combined document validated against the official v2.1.1 schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.beacon import network
from gateway.beacon.network import (
    MAX_DEPTH,
    MAX_RESULT_SETS,
    MAX_STRING,
    Answered,
    MemberAnswer,
    Missing,
    NetworkQuery,
    combine,
)
from gateway.beacon.records import individual_record, returned_schema
from gateway.beacon.requests import parse_post
from gateway.beacon.responses import (
    API_VERSION,
    Count,
    ResponseContext,
    ResultSet,
    boolean_response,
    count_response,
    resultsets_response,
)
from gateway.domain.granularity import Granularity
from gateway.domain.samples import Sex
from tests.support.beacon_schema import RESPONSE_SCHEMAS, schema_root, validate

NETWORK_ID = "eu.example.gateway.de.network"
FLOOR = 5
LIMIT = 10
EXACT = {"countPrecision": "exact"}
IMPRECISE = {"countPrecision": "imprecise"}
ADJUSTED = {"countAdjustedTo": [FLOOR], "countPrecision": "imprecise"}
Document = dict[str, Any]


@pytest.fixture(scope="module")
def schemas(shared: Path) -> Path:
    return schema_root(shared)


def context(beacon_id: str, granularity: Granularity) -> ResponseContext:
    request = parse_post(
        {
            "meta": {"apiVersion": API_VERSION},
            "query": {"filters": [{"id": "NCIT:C16576"}], "requestedGranularity": granularity},
        },
        max_limit=100,
    )
    return ResponseContext(
        beacon_id=beacon_id,
        api_version=API_VERSION,
        returned_schemas=(returned_schema("individual"),),
        received_summary=request.summary(granularity),
    )


def query(granularity: Granularity, *, floor: int = 0, limit: int = LIMIT) -> NetworkQuery:
    return NetworkQuery(context(NETWORK_ID, granularity), granularity, limit, floor)


def peer(country: str, granularity: Granularity) -> ResponseContext:
    return context(f"eu.example.gateway.{country.lower()}", granularity)


def parsed(document: Document) -> Document:
    """What the fan-out hands over: the body as it came off the wire."""
    loaded: Document = json.loads(json.dumps(document))
    return loaded


def boolean_doc(country: str, exists: bool) -> Document:
    return parsed(boolean_response(peer(country, Granularity.BOOLEAN), exists=exists))


def count_doc(country: str, value: int, floor: int = 0) -> Document:
    count = Count(value, floor)
    return parsed(count_response(peer(country, Granularity.COUNT), exists=value > 0, count=count))


def people(n: int, prefix: str = "I") -> tuple[dict[str, Any], ...]:
    return tuple(individual_record(f"{prefix}{i}", Sex.FEMALE) for i in range(n))


def record_doc(country: str, *sets: tuple[str, int, int]) -> Document:
    """Result sets as (dataset, total, records shown)."""
    result_sets = [
        ResultSet(name, total > 0, Count(total, 0), people(shown, f"{country}-{name}-"))
        for name, total, shown in sets
    ]
    total = sum(total for _, total, _ in sets)
    ctx = peer(country, Granularity.RECORD)
    return parsed(
        resultsets_response(ctx, exists=total > 0, count=Count(total, 0), result_sets=result_sets)
    )


def assert_valid(doc: Document, schemas: Path) -> None:
    """Schema-valid, and writable as the API writes JSON (no NaN, nothing but JSON types)."""
    granularity = doc["meta"]["returnedGranularity"]
    assert validate(doc, RESPONSE_SCHEMAS[granularity], schemas) == []
    json.dumps(doc, allow_nan=False)


def members(doc: Document) -> dict[str, dict[str, Any]]:
    return {member["country"]: member for member in doc["info"]["members"]}


# --- boolean ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "exists"),
    [((False, False), False), ((True, False), True), ((False, True), True), ((True, True), True)],
)
def test_booleans_combine_with_any(schemas: Path, parts: tuple[bool, bool], exists: bool) -> None:
    answers = [
        Answered("DE", boolean_doc("DE", parts[0])),
        Answered("FR", boolean_doc("FR", parts[1])),
    ]
    doc = combine(query(Granularity.BOOLEAN), answers)
    assert_valid(doc, schemas)
    assert doc["responseSummary"] == {"exists": exists}
    assert doc["info"] == {
        "members": [
            {
                "country": country,
                "status": "answered",
                "beaconId": f"eu.example.gateway.{country.lower()}",
                "returnedGranularity": "boolean",
            }
            for country in ("DE", "FR")
        ],
        "partial": False,
    }


def test_meta_is_the_network_endpoints(schemas: Path) -> None:
    network_query = query(Granularity.COUNT)
    doc = combine(network_query, [Answered("FR", count_doc("FR", 7))])
    assert_valid(doc, schemas)
    assert (
        doc["meta"] == count_response(network_query.context, exists=True, count=Count(7, 0))["meta"]
    )
    assert doc["meta"]["beaconId"] == NETWORK_ID


# --- count --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "floor", "total", "fields"),
    [
        # Each part alone would be floored at a gateway with floor 5; they report what they did.
        ([(3, 0), (4, 0)], FLOOR, 7, EXACT),
        # Small parts: the floor applies to their total.
        ([(2, 0), (1, 0)], FLOOR, FLOOR, ADJUSTED),
        ([(0, 0), (0, 0)], FLOOR, 0, EXACT),
        ([(0, 0), (1, 0)], 0, 1, EXACT),
        # DE adjusted 2 to 5 (its floor): the sum of what was reported, imprecise.
        ([(2, FLOOR), (10, 0)], FLOOR, 15, IMPRECISE),
        ([(1, FLOOR), (0, 0)], FLOOR, FLOOR, IMPRECISE),
        ([(1, FLOOR), (1, FLOOR)], 0, 2 * FLOOR, IMPRECISE),
        # A peer with a floor of 3, under a network floor of 5.
        ([(1, 3), (0, 0)], FLOOR, FLOOR, ADJUSTED),
    ],
)
def test_counts_add_up(
    schemas: Path, parts: list[tuple[int, int]], floor: int, total: int, fields: dict[str, Any]
) -> None:
    answers = [
        Answered(country, count_doc(country, value, peer_floor))
        for country, (value, peer_floor) in zip(("DE", "FR"), parts, strict=True)
    ]
    doc = combine(query(Granularity.COUNT, floor=floor), answers)
    assert_valid(doc, schemas)
    exists = any(value for value, _ in parts)
    assert doc["responseSummary"] == {"exists": exists, "numTotalResults": total, **fields}


@pytest.mark.parametrize(
    ("section", "precision"),
    [
        ({"countPrecision": "rounded", "countAdjustedTo": ["immediate ten"]}, "imprecise"),
        ({"countPrecision": "exact", "countAdjustedTo": [20]}, "imprecise"),
        ({"countPrecision": "exact"}, "exact"),
        ({}, "exact"),  # a v2.1.1 beacon without the v2.2 fields
    ],
)
def test_precision_of_other_beacons(schemas: Path, section: dict[str, Any], precision: str) -> None:
    fr = count_doc("FR", 20)
    fr["responseSummary"] = {"exists": True, "numTotalResults": 20, **section}
    doc = combine(
        query(Granularity.COUNT), [Answered("DE", count_doc("DE", 3)), Answered("FR", fr)]
    )
    assert_valid(doc, schemas)
    assert doc["responseSummary"]["numTotalResults"] == 23
    assert doc["responseSummary"]["countPrecision"] == precision


# --- record -------------------------------------------------------------------------------


def test_record_sets_per_member_state(schemas: Path) -> None:
    answers = [
        Answered("DE", record_doc("DE", ("demo", 12, LIMIT), ("empty", 0, 0))),
        Answered("FR", record_doc("FR", ("demo", 3, 3)), beacon_id="eu.example.fr.beacon"),
    ]
    doc = combine(query(Granularity.RECORD), answers)
    assert_valid(doc, schemas)
    assert doc["responseSummary"] == {
        "exists": True,
        "numTotalResults": 15,
        "countPrecision": "exact",
    }
    sets = doc["response"]["resultSets"]
    assert [(s["id"], s["exists"], s["resultsCount"], len(s["results"])) for s in sets] == [
        ("DE:demo", True, 12, LIMIT),
        ("DE:empty", False, 0, 0),
        ("FR:demo", True, 3, 3),
    ]
    assert sets[2]["info"] == {
        "country": "FR",
        "beaconId": "eu.example.fr.beacon",
        "datasetId": "demo",
    }
    assert sets[0]["info"]["beaconId"] == "eu.example.gateway.de"
    assert sets[2]["results"] == list(people(3, "FR-demo-"))
    assert members(doc)["FR"]["beaconId"] == "eu.example.fr.beacon"


def test_record_counts_keep_what_the_member_reported(schemas: Path) -> None:
    fr = record_doc("FR", ("demo", 5, 2))
    fr["responseSummary"].update(countPrecision="imprecise", countAdjustedTo=[FLOOR])
    fr["response"]["resultSets"][0]["countPrecision"] = "imprecise"
    doc = combine(
        query(Granularity.RECORD),
        [Answered("DE", record_doc("DE", ("demo", 7, 7))), Answered("FR", fr)],
    )
    assert_valid(doc, schemas)
    assert doc["responseSummary"] == {
        "exists": True,
        "numTotalResults": 12,
        "countPrecision": "imprecise",
    }
    de, fr_set = doc["response"]["resultSets"]
    assert (de["resultsCount"], de["countPrecision"]) == (7, "exact")
    assert (fr_set["resultsCount"], fr_set["countPrecision"]) == (5, "imprecise")


def test_record_total_without_num_total_results(schemas: Path) -> None:
    fr = record_doc("FR", ("a", 2, 2), ("b", 4, 1))
    del fr["responseSummary"]["numTotalResults"]
    doc = combine(query(Granularity.RECORD), [Answered("FR", fr)])
    assert_valid(doc, schemas)
    assert doc["responseSummary"]["numTotalResults"] == 6


# --- granularity --------------------------------------------------------------------------


def test_a_member_answering_counts_makes_the_answer_a_count(schemas: Path) -> None:
    answers = [Answered("DE", record_doc("DE", ("demo", 4, 4))), Answered("FR", count_doc("FR", 9))]
    doc = combine(query(Granularity.RECORD, floor=FLOOR), answers)
    assert_valid(doc, schemas)
    assert doc["meta"]["returnedGranularity"] == "count"
    assert doc["responseSummary"] == {
        "exists": True,
        "numTotalResults": 13,
        "countPrecision": "exact",
    }
    assert "response" not in doc
    assert [m["returnedGranularity"] for m in doc["info"]["members"]] == ["record", "count"]


def test_a_member_answering_boolean_makes_the_answer_boolean(schemas: Path) -> None:
    answers = [Answered("DE", count_doc("DE", 0)), Answered("FR", boolean_doc("FR", True))]
    doc = combine(query(Granularity.COUNT), answers)
    assert_valid(doc, schemas)
    assert doc["meta"]["returnedGranularity"] == "boolean"
    assert doc["responseSummary"] == {"exists": True}


def test_more_than_asked_is_reduced(schemas: Path) -> None:
    answers = [Answered("DE", record_doc("DE", ("demo", 2, 2))), Answered("FR", count_doc("FR", 0))]
    doc = combine(query(Granularity.BOOLEAN), answers)
    assert_valid(doc, schemas)
    assert doc["meta"]["returnedGranularity"] == "boolean"
    assert doc["responseSummary"] == {"exists": True}


# --- missing members ----------------------------------------------------------------------


@pytest.mark.parametrize("granularity", list(Granularity))
def test_a_missing_peer_leaves_a_partial_answer(schemas: Path, granularity: Granularity) -> None:
    answers: list[MemberAnswer] = [
        Answered("DE", record_doc("DE", ("demo", 8, 8))),
        Missing("FR", "timeout after 3.0 s"),
        Answered("IT", record_doc("IT", ("cohort", 1, 1))),
    ]
    doc = combine(query(granularity), answers)
    assert_valid(doc, schemas)
    assert doc["meta"]["returnedGranularity"] == granularity.value
    assert doc["responseSummary"]["exists"] is True
    if granularity is not Granularity.BOOLEAN:
        assert doc["responseSummary"]["numTotalResults"] == 9
    assert doc["info"]["partial"] is True
    assert members(doc)["FR"] == {
        "country": "FR",
        "status": "missing",
        "reason": "timeout after 3.0 s",
    }
    assert [m["status"] for m in doc["info"]["members"]] == ["answered", "missing", "answered"]


@pytest.mark.parametrize("granularity", list(Granularity))
def test_no_member_answering(schemas: Path, granularity: Granularity) -> None:
    doc = combine(
        query(granularity, floor=FLOOR),
        [Missing("DE", "unreachable"), Missing("FR", "answered 503")],
    )
    assert_valid(doc, schemas)
    assert doc["meta"]["returnedGranularity"] == granularity.value
    assert doc["responseSummary"]["exists"] is False
    assert doc["info"]["partial"] is True
    if granularity is Granularity.RECORD:
        assert doc["response"] == {"resultSets": []}


# --- garbage from peers -------------------------------------------------------------------


Spoil = Callable[[Document], object]


def _at(path: str, value: object) -> Spoil:
    """Replace the value at a dotted path (list indexes as numbers)."""

    def spoil(doc: Document) -> object:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[int(last) if isinstance(node, list) else last] = value
        return doc

    return spoil


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = {"x": value}
    return value


def _error(doc: Document) -> Document:
    return {"meta": doc["meta"], "error": {"errorCode": 503, "errorMessage": "down\nfor repairs"}}


def _without_meta(doc: Document) -> Document:
    return {key: value for key, value in doc.items() if key != "meta"}


def _many_sets(doc: Document) -> Document:
    doc["response"]["resultSets"] *= MAX_RESULT_SETS
    return doc


SUMMARY = "responseSummary."
SET = "response.resultSets.0."
HUGE = "y" * (MAX_STRING + 1)
COUNT, RECORD = Granularity.COUNT, Granularity.RECORD
GARBAGE = [
    pytest.param(COUNT, lambda d: [d], "must be a JSON object, got an array", id="array"),
    pytest.param(COUNT, lambda d: "exists", "got a string", id="string"),
    pytest.param(COUNT, lambda d: None, "got null", id="null"),
    pytest.param(COUNT, lambda d: 42, "got a number", id="number"),
    pytest.param(COUNT, _without_meta, "meta must be a JSON object", id="no meta"),
    pytest.param(
        COUNT, _at("meta.returnedGranularity", "aggregated"), "'aggregated'", id="aggregated"
    ),
    pytest.param(
        COUNT, _at("meta.returnedGranularity", "record"), "response must be", id="no response"
    ),
    pytest.param(COUNT, _at(SUMMARY + "numTotalResults", "7"), "got '7'", id="count as string"),
    pytest.param(COUNT, _at(SUMMARY + "numTotalResults", 7.0), "got 7.0", id="count as float"),
    pytest.param(COUNT, _at(SUMMARY + "numTotalResults", True), "got True", id="count as boolean"),
    pytest.param(COUNT, _at("responseSummary", {"exists": True}), "got None", id="no count"),
    pytest.param(COUNT, _at(SUMMARY + "numTotalResults", -1), "between 0 and", id="negative"),
    pytest.param(COUNT, _at(SUMMARY + "numTotalResults", 2**40), "between 0 and", id="huge count"),
    pytest.param(COUNT, _at(SUMMARY + "exists", "true"), "must be true or false", id="exists text"),
    pytest.param(
        COUNT, _at(SUMMARY + "exists", False), "exists is false but the count is 7", id="lie"
    ),
    pytest.param(COUNT, _at(SUMMARY + "countPrecision", "about"), "countPrecision", id="precision"),
    pytest.param(COUNT, _at(SUMMARY + "countAdjustedTo", 5), "countAdjustedTo", id="adjusted to"),
    pytest.param(COUNT, _at("info", {"x": HUGE}), "a string longer than", id="huge string"),
    pytest.param(COUNT, _at("info", {HUGE: 1}), "a string longer than", id="huge key"),
    pytest.param(COUNT, _at("info", _nested(100_000)), "nested deeper than", id="deep"),
    pytest.param(COUNT, _at("info", {"x": float("nan")}), "not finite", id="NaN"),
    pytest.param(COUNT, _at("info", {"x": {1, 2}}), "not JSON (set)", id="not JSON"),
    pytest.param(COUNT, _at("meta.beaconId", ""), "meta.beaconId", id="empty beacon id"),
    pytest.param(COUNT, _at("meta.beaconId", "b" * 1000), "at most 256", id="huge beacon id"),
    pytest.param(COUNT, _error, "Beacon error 503: down for repairs", id="Beacon error"),
    pytest.param(
        RECORD, _at("response", {}), "resultSets must be an array, got null", id="no sets"
    ),
    pytest.param(RECORD, _at(SET + "results", {"a": 1}), "results must be an array", id="results"),
    pytest.param(
        RECORD,
        _at(SET + "results", list(people(1)) * 10_000),
        "has 10000 results, more than the page of 10",
        id="10,000 results",
    ),
    pytest.param(RECORD, _at(SET + "results", [1, 2]), "must hold objects", id="not objects"),
    pytest.param(RECORD, _at(SET + "resultsCount", 2), "resultsCount 2", id="results > count"),
    pytest.param(RECORD, _at(SET + "id", 42), "resultSets[0].id", id="set id number"),
    pytest.param(RECORD, _at("response.resultSets.1.id", "a"), "same id", id="duplicate id"),
    pytest.param(RECORD, _at(SET + "resultsCount", "3"), "got '3'", id="set count text"),
    pytest.param(RECORD, _at(SET + "exists", False), "[0]: exists is false", id="set lie"),
    pytest.param(RECORD, _at(SET + "results.0.id", HUGE), "a string longer", id="huge record"),
    pytest.param(RECORD, _many_sets, "2000 result sets, more than", id="too many sets"),
]


@pytest.mark.parametrize(("granularity", "spoil", "reason"), GARBAGE)
def test_garbage_makes_the_peer_missing(
    schemas: Path, granularity: Granularity, spoil: Spoil, reason: str
) -> None:
    if granularity is Granularity.COUNT:
        local, sound = count_doc("DE", 4), count_doc("FR", 7)
    else:
        local, sound = record_doc("DE", ("demo", 4, 4)), record_doc("FR", ("a", 3, 3), ("b", 4, 4))
    answers = [Answered("DE", local), Answered("FR", spoil(copy.deepcopy(sound)))]
    doc = combine(query(granularity), answers)
    assert_valid(doc, schemas)
    assert doc["meta"]["returnedGranularity"] == granularity.value
    assert doc["responseSummary"]["numTotalResults"] == 4  # DE alone, still combined
    assert doc["info"]["partial"] is True
    fr = members(doc)["FR"]
    assert fr["status"] == "missing"
    assert reason in fr["reason"]
    assert len(fr["reason"]) < 400
    # The sound document really is sound: only the spoiling made FR missing.
    assert (
        members(combine(query(granularity), [Answered("FR", sound)]))["FR"]["status"] == "answered"
    )


def test_invalid_response_reasons_say_so() -> None:
    doc = combine(query(Granularity.COUNT), [Answered("FR", [])])
    assert members(doc)["FR"]["reason"] == (
        "invalid response: the document must be a JSON object, got an array"
    )


def test_a_peers_error_message_is_quoted_short_and_on_one_line() -> None:
    error = {"meta": {}, "error": {"errorCode": 500, "errorMessage": "boom\r\n" * 10_000}}
    reason = members(combine(query(Granularity.COUNT), [Answered("FR", error)]))["FR"]["reason"]
    assert reason.startswith("Beacon error 500: boom  boom")
    assert len(reason) <= len("Beacon error 500: ") + 201
    assert reason.isprintable()


@pytest.mark.parametrize("error", [None, "down", {"errorCode": "x"}])
def test_a_malformed_error_document(error: object) -> None:
    reason = members(combine(query(Granularity.BOOLEAN), [Answered("FR", {"error": error})]))["FR"][
        "reason"
    ]
    assert reason == "Beacon error ?"


def test_too_many_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "MAX_NODES", 200)
    fr = count_doc("FR", 7)
    assert (
        members(combine(query(Granularity.COUNT), [Answered("FR", fr)]))["FR"]["status"]
        == "answered"
    )
    fr["info"] = {"padding": list(range(200))}
    reason = members(combine(query(Granularity.COUNT), [Answered("FR", fr)]))["FR"]["reason"]
    assert reason == "invalid response: more than 200 values"


@pytest.mark.parametrize(
    ("levels", "status"), [(MAX_DEPTH - 2, "answered"), (MAX_DEPTH - 1, "missing")]
)
def test_nesting_limit(levels: int, status: str) -> None:
    fr = count_doc("FR", 7)
    fr["info"] = _nested(levels)  # with the document and its leaf: levels + 2 deep
    assert (
        members(combine(query(Granularity.COUNT), [Answered("FR", fr)]))["FR"]["status"] == status
    )


# --- the caller's own mistakes ------------------------------------------------------------


def test_two_answers_for_one_country_are_refused() -> None:
    with pytest.raises(ValueError, match="one answer per member state"):
        combine(query(Granularity.COUNT), [Answered("FR", count_doc("FR", 1)), Missing("FR", "x")])


@pytest.mark.parametrize(("limit", "floor"), [(0, 0), (10, -1)])
def test_query_bounds(limit: int, floor: int) -> None:
    with pytest.raises(ValueError, match="limit must be positive"):
        NetworkQuery(context(NETWORK_ID, Granularity.COUNT), Granularity.COUNT, limit, floor)
