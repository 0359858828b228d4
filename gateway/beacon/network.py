"""Beacon network: one Beacon v2 answer from the answers of every member state.

``/beacon-network`` (DESIGN.md §2, issue 6) sends a query to every peer's ``/beacon`` and to the
local store. This module is the pure half: it turns their parsed response bodies into one
response of ``framework/json/responses/`` (``reference/beacon-v2.md`` §3, §6):

- boolean (``beaconBooleanResponse.json``): ``exists`` is true when any member's is;
- count (``beaconCountResponse.json``): ``numTotalResults`` is the sum of what the members
  reported, imprecise when any part was (a member's own floor or rounding), and the small-count
  floor applies to the total as :class:`~gateway.beacon.responses.Count` applies it to one store;
- record (``beaconResultsetsResponse.json``): each member's result sets in member order, their
  ids qualified by country (``FR:demo``) so that they stay unique, with the country in ``info``.

The answer's granularity is the least of the request's and of every member's
``returnedGranularity``: a Beacon may return less than it was asked for and says so in its meta,
and a member's bare ``exists`` cannot be added to the others' counts. The local service bounds
its own answer the same way, by the least granularity of the datasets it answers for.

Peers are untrusted input. A document that is not a well-formed Beacon response (not an object,
an unknown granularity, counts that are not non-negative integers, ``exists`` contradicting the
count, more results in a set than the page holds, strings, nesting or size beyond the limits
below) makes its member *missing*, with the reason in ``info``; nothing here raises on it. Only
the parts the answer needs are taken: ``exists``, the counts, and the result sets' records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from gateway.beacon.responses import (
    Count,
    ResponseContext,
    ResultSet,
    boolean_response,
    count_response,
    resultsets_response,
)
from gateway.beacon.scalars import MAX_INTEGER
from gateway.domain.granularity import Granularity, least

# What one member's document may hold. Depth: the deepest part of a variant record sits about
# 15 levels down; far deeper nesting only threatens whoever serialises the answer next.
MAX_DEPTH = 64
# Strings: longer than any allele, identifier or label a record carries.
MAX_STRING = 100_000
# Values in the whole document: about 50 MB of JSON, a large page of variant records with
# thousands of carriers each. The fan-out also caps the bytes it reads.
MAX_NODES = 2_000_000
# Result sets: one per dataset of a member, far more than any member holds.
MAX_RESULT_SETS = 1000
# Identifiers (beacon id, result set id and type), echoed in the combined answer.
MAX_ID = 256
# Peer text quoted in a reason (a Beacon error message, an unknown value).
_QUOTED = 200
_PRECISIONS = ("exact", "imprecise", "rounded")


@dataclass(frozen=True, slots=True)
class NetworkQuery:
    """What the combined answer is for.

    ``context`` is this gateway's network endpoint (its beacon id, the received request summary,
    the returned schemas); ``granularity`` what the caller asked for, or the default; ``limit``
    the page size, which bounds the records taken from each result set; ``floor`` the
    small-count floor applied to the total (0: none).
    """

    context: ResponseContext
    granularity: Granularity
    limit: int
    floor: int = 0

    def __post_init__(self) -> None:
        if self.limit < 1 or self.floor < 0:
            raise ValueError(f"limit must be positive and floor not negative: {self}")


@dataclass(frozen=True, slots=True)
class Answered:
    """A member's parsed response body (any JSON value: it is checked here). ``beacon_id``
    names the member's beacon when the caller knows it; otherwise ``meta.beaconId`` does."""

    country: str
    document: object
    beacon_id: str | None = None


@dataclass(frozen=True, slots=True)
class Missing:
    """A member without a usable answer, e.g. ``"timeout after 3.0 s"`` or ``"unreachable"``."""

    country: str
    reason: str


MemberAnswer = Answered | Missing


def combine(query: NetworkQuery, answers: Sequence[MemberAnswer]) -> dict[str, Any]:
    """One Beacon response from the members' answers, the local store's among them.

    ``info`` lists every member in order, ``{"country", "status": "answered" | "missing", ...}``
    with ``beaconId`` and ``returnedGranularity`` or the ``reason``, and says whether the answer
    is ``partial`` (some member missing).

    :raises ValueError: two answers for one country (a fan-out error, not a peer's).
    """
    countries = [answer.country for answer in answers]
    if len(set(countries)) != len(countries):
        raise ValueError(f"one answer per member state, got {countries}")
    members = [_read(query, a) if isinstance(a, Answered) else a for a in answers]
    parts = [member for member in members if isinstance(member, _Part)]
    granularity = least(query.granularity, *(part.granularity for part in parts))
    document = _respond(query, granularity, parts)
    document["info"] = {
        "members": [_status(member) for member in members],
        "partial": len(parts) < len(members),
    }
    return document


# -- combining ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    """What one member's answer contributes. ``total`` is 0 for a boolean answer."""

    country: str
    beacon_id: str
    granularity: Granularity
    exists: bool
    total: int
    imprecise: bool
    result_sets: tuple[ResultSet, ...]


def _respond(query: NetworkQuery, granularity: Granularity, parts: list[_Part]) -> dict[str, Any]:
    context = query.context
    exists = any(part.exists for part in parts)
    if granularity is Granularity.BOOLEAN:
        return boolean_response(context, exists=exists)
    total = sum(part.total for part in parts)
    count = Count(total, query.floor, imprecise=any(part.imprecise for part in parts))
    if granularity is Granularity.COUNT:
        return count_response(context, exists=exists, count=count)
    result_sets = [result_set for part in parts for result_set in part.result_sets]
    return resultsets_response(context, exists=exists, count=count, result_sets=result_sets)


def _status(member: _Part | Missing) -> dict[str, Any]:
    if isinstance(member, Missing):
        return {"country": member.country, "status": "missing", "reason": member.reason}
    return {
        "country": member.country,
        "status": "answered",
        "beaconId": member.beacon_id,
        "returnedGranularity": member.granularity.value,
    }


# -- reading one member's document ---------------------------------------------------------


class _Unusable(Exception):
    """A member's answer that cannot be combined; the message is the reason in ``info``."""


def _invalid(what: str) -> _Unusable:
    return _Unusable(f"invalid response: {what}")


def _read(query: NetworkQuery, answer: Answered) -> _Part | Missing:
    try:
        return _part(query, answer)
    except _Unusable as unusable:
        return Missing(answer.country, str(unusable))


def _part(query: NetworkQuery, answer: Answered) -> _Part:
    document = _object(answer.document, "the document")
    _check_size(document)
    if "error" in document:
        raise _beacon_error(document["error"])
    meta = _object(document.get("meta"), "meta")
    granularity = _granularity(meta.get("returnedGranularity"))
    beacon_id = answer.beacon_id or _identifier(meta.get("beaconId"), "meta.beaconId")
    summary = _object(document.get("responseSummary"), "responseSummary")
    exists = _boolean(summary.get("exists"), "responseSummary.exists")
    if granularity is Granularity.BOOLEAN:
        return _Part(answer.country, beacon_id, granularity, exists, 0, False, ())
    result_sets: tuple[ResultSet, ...] = ()
    if granularity is Granularity.RECORD:
        origin = _Origin(answer.country, beacon_id)
        result_sets = _result_sets(query, origin, document.get("response"))
    total = _total(summary, granularity, result_sets)
    _agree(exists, total, "responseSummary")
    imprecise = _imprecise(summary, "responseSummary")
    return _Part(answer.country, beacon_id, granularity, exists, total, imprecise, result_sets)


def _total(
    summary: dict[str, object], granularity: Granularity, result_sets: tuple[ResultSet, ...]
) -> int:
    """``numTotalResults``; a record answer may leave it out (the schema allows it), and then
    its sets' counts add up to it."""
    value = summary.get("numTotalResults")
    if value is None and granularity is Granularity.RECORD:
        return sum(result_set.count.value for result_set in result_sets)
    return _count(value, "responseSummary.numTotalResults")


@dataclass(frozen=True, slots=True)
class _Origin:
    country: str
    beacon_id: str


def _result_sets(query: NetworkQuery, origin: _Origin, value: object) -> tuple[ResultSet, ...]:
    response = _object(value, "response")
    items = _list(response.get("resultSets"), "response.resultSets")
    if len(items) > MAX_RESULT_SETS:
        raise _invalid(f"{len(items)} result sets, more than {MAX_RESULT_SETS}")
    result_sets = tuple(
        _result_set(query, origin, item, f"response.resultSets[{index}]")
        for index, item in enumerate(items)
    )
    ids = [result_set.dataset_id for result_set in result_sets]
    if len(set(ids)) != len(ids):
        raise _invalid("two result sets with the same id")
    return result_sets


def _result_set(query: NetworkQuery, origin: _Origin, value: object, where: str) -> ResultSet:
    item = _object(value, where)
    set_id = _identifier(item.get("id"), f"{where}.id")
    exists = _boolean(item.get("exists"), f"{where}.exists")
    count = _count(item.get("resultsCount"), f"{where}.resultsCount")
    _agree(exists, count, where)
    results = _results(item.get("results"), count, query.limit, where)
    return ResultSet(
        dataset_id=f"{origin.country}:{set_id}",
        exists=exists,
        # The member applied its own protection; its numbers pass as reported.
        count=Count(count, 0, imprecise=_imprecise(item, where)),
        results=results,
        set_type=_identifier(item.get("setType", "dataset"), f"{where}.setType"),  # schema default
        # Where the set comes from; the member's own info and handovers are not passed on.
        info={"country": origin.country, "beaconId": origin.beacon_id, "datasetId": set_id},
    )


def _results(value: object, count: int, limit: int, where: str) -> tuple[dict[str, Any], ...]:
    results = _list(value, f"{where}.results")
    if len(results) > limit:
        raise _invalid(f"{where} has {len(results)} results, more than the page of {limit}")
    if len(results) > count:
        raise _invalid(f"{where} has {len(results)} results but resultsCount {count}")
    if not all(isinstance(result, dict) for result in results):
        raise _invalid(f"{where}.results must hold objects")
    return tuple(cast(list[dict[str, Any]], results))


def _agree(exists: bool, count: int, where: str) -> None:
    # Counts are added and exists combined with any: a part that contradicts itself would
    # make the combined answer contradict itself.
    if exists is not (count > 0):
        raise _invalid(f"{where}: exists is {str(exists).lower()} but the count is {count}")


def _imprecise(section: dict[str, object], where: str) -> bool:
    """The v2.2 fields; a v2.1.1 member has neither, and its counts are exact."""
    precision = section.get("countPrecision", "exact")
    if precision not in _PRECISIONS:
        shown = _quote(precision)
        raise _invalid(f"{where}.countPrecision must be one of {_PRECISIONS}, got {shown}")
    adjusted = section.get("countAdjustedTo")
    if adjusted is not None and not isinstance(adjusted, list):
        raise _invalid(f"{where}.countAdjustedTo must be an array")
    return precision != "exact" or bool(adjusted)


def _beacon_error(value: object) -> _Unusable:
    error = value if isinstance(value, dict) else {}
    code, message = error.get("errorCode"), error.get("errorMessage")
    text = f"Beacon error {code if _is_integer(code) else '?'}"
    return _Unusable(f"{text}: {_printable(message)}" if isinstance(message, str) else text)


# -- single values -------------------------------------------------------------------------


def _object(value: object, name: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _invalid(f"{name} must be a JSON object, got {_kind(value)}")
    return cast(dict[str, object], value)


def _list(value: object, name: str) -> list[object]:
    if not isinstance(value, list):
        raise _invalid(f"{name} must be an array, got {_kind(value)}")
    return cast(list[object], value)


def _boolean(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise _invalid(f"{name} must be true or false, got {_quote(value)}")
    return value


def _count(value: object, name: str) -> int:
    if not _is_integer(value):
        raise _invalid(f"{name} must be an integer, got {_quote(value)}")
    number = cast(int, value)
    if not 0 <= number <= MAX_INTEGER:
        raise _invalid(f"{name} must be between 0 and {MAX_INTEGER}, got {number}")
    return number


def _identifier(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{name} must be a non-empty string, got {_quote(value)}")
    if len(value) > MAX_ID or not value.isprintable():
        raise _invalid(f"{name} must be printable and at most {MAX_ID} characters")
    return value


def _granularity(value: object) -> Granularity:
    names = [granularity.value for granularity in Granularity]
    if value not in names:
        raise _invalid(f"meta.returnedGranularity must be one of {names}, got {_quote(value)}")
    return Granularity(value)


def _is_integer(value: object) -> bool:
    # JSON true is not 1, and 7.0 is a float in every Beacon implementation's model.
    return isinstance(value, int) and not isinstance(value, bool)


# -- the document as a whole ---------------------------------------------------------------


def _check_size(document: dict[str, object]) -> None:
    """Depth, string length, number of values and JSON types of the whole document.

    Iterative, because the deep nesting it refuses would overflow a recursive walk.
    """
    stack: list[tuple[object, int]] = [(document, 1)]
    nodes = 0
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise _invalid(f"more than {MAX_NODES} values")
        inside = _inside(value)
        if inside and depth >= MAX_DEPTH:
            raise _invalid(f"nested deeper than {MAX_DEPTH} levels")
        stack.extend((item, depth + 1) for item in inside)


def _inside(value: object) -> list[object]:
    """The keys and values in a container; nothing in a scalar, which must be JSON's."""
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, list):
        return cast(list[object], value)
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise _invalid(f"a string longer than {MAX_STRING} characters")
    # json.loads accepts NaN and Infinity, which no JSON encoder may write back.
    if isinstance(value, float) and not math.isfinite(value):
        raise _invalid("a number that is not finite")
    if not (value is None or isinstance(value, str | int | float)):
        raise _invalid(f"a value that is not JSON ({type(value).__name__})")
    return []


def _kind(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number" if isinstance(value, int | float) else "not JSON")


def _quote(value: object) -> str:
    """A peer's value in a reason: short, on one line."""
    if isinstance(value, dict | list):
        return _kind(value)
    return _printable(repr(value[: _QUOTED + 1] if isinstance(value, str) else value))


def _printable(text: str) -> str:
    shown = "".join(c if c.isprintable() else " " for c in text[: _QUOTED + 1])
    return shown if len(shown) <= _QUOTED else shown[:_QUOTED] + "…"
