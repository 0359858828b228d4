"""Beacon v2 response builders: boolean, count, result sets, collections and errors.

Implements ``framework/json/responses/`` of the Beacon v2 schema release v2.1.1:
``beaconBooleanResponse.json``, ``beaconCountResponse.json``, ``beaconResultsetsResponse.json``
(``sections/beaconResultsets.json``), ``beaconCollectionsResponse.json`` and
``beaconErrorResponse.json``, all with the ``sections/beaconResponseMeta.json`` meta. See
``reference/beacon-v2.md`` §3 and §6.

Small-count protection follows the Beacon v2.2 fields (beacon-v2 PRs #220/#223, as
beacon2-pi-api implements them): a count ``0 < n < floor`` is reported as ``floor`` with
``countAdjustedTo: [floor]`` and ``countPrecision: "imprecise"``; any other count is reported
as it is, with ``countPrecision: "exact"``. The fields sit on ``responseSummary`` and on every
result set; the v2.1.1 sections do not forbid extra properties, so the documents stay valid.
``exists`` is the caller's ``count > 0`` and is never adjusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gateway.domain.granularity import Granularity

# Beacon uses "v"-prefixed semantic versions (beaconCommonComponents.json#/$defs/ApiVersion);
# this is the schema release the gateway validates against.
API_VERSION = "v2.1.1"
# beaconCommonComponents.json#/$defs/Limit: "default": 10.
DEFAULT_LIMIT = 10

IncludeResultsets = Literal["ALL", "HIT", "MISS", "NONE"]


@dataclass(frozen=True, slots=True)
class ResponseContext:
    """What every data response repeats in ``meta``."""

    beacon_id: str
    api_version: str
    returned_schemas: tuple[dict[str, str], ...]
    received_summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Count:
    """A count and the floor below which it is reported imprecisely (0 or 1: no protection).

    ``imprecise`` marks a value that is already approximate, such as a Beacon network's sum of
    answers that some member adjusted: reported as it is, but never as exact.
    """

    value: int
    floor: int
    imprecise: bool = False

    def __post_init__(self) -> None:
        if self.value < 0 or self.floor < 0:
            raise ValueError(f"counts are never negative: value={self.value} floor={self.floor}")

    @property
    def adjusted(self) -> bool:
        return 0 < self.value < self.floor

    @property
    def reported(self) -> int:
        return self.floor if self.adjusted else self.value

    def fields(self) -> dict[str, Any]:
        """The v2.2 companions of ``numTotalResults`` and ``resultsCount``."""
        if self.adjusted:
            return {"countAdjustedTo": [self.floor], "countPrecision": "imprecise"}
        return {"countPrecision": "imprecise" if self.imprecise else "exact"}


@dataclass(frozen=True, slots=True)
class ResultSet:
    """One ``ResultsetInstance``: the answer of one dataset."""

    dataset_id: str
    exists: bool
    count: Count
    results: tuple[dict[str, Any], ...]
    set_type: str = "dataset"
    info: dict[str, Any] | None = None


def boolean_response(ctx: ResponseContext, *, exists: bool) -> dict[str, Any]:
    return {
        "meta": _meta(ctx, Granularity.BOOLEAN),
        "responseSummary": {"exists": exists},
    }


def count_response(ctx: ResponseContext, *, exists: bool, count: Count) -> dict[str, Any]:
    return {
        "meta": _meta(ctx, Granularity.COUNT),
        "responseSummary": _counted_summary(exists, count),
    }


def resultsets_response(
    ctx: ResponseContext, *, exists: bool, count: Count, result_sets: Sequence[ResultSet]
) -> dict[str, Any]:
    """Record granularity: ``count`` is the total before pagination over all result sets."""
    return {
        "meta": _meta(ctx, Granularity.RECORD),
        "responseSummary": _counted_summary(exists, count),
        "response": {"resultSets": [_result_set(rs) for rs in result_sets]},
    }


def collections_response(
    ctx: ResponseContext, *, exists: bool, count: Count, collections: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """``/datasets`` at record granularity: the dataset records themselves."""
    return {
        "meta": _meta(ctx, Granularity.RECORD),
        "responseSummary": _counted_summary(exists, count),
        "response": {"collections": list(collections)},
    }


def error_response(
    ctx: ResponseContext | None, *, code: int, message: str, beacon_id: str, api_version: str
) -> dict[str, Any]:
    """``beaconErrorResponse.json``. Without a context (the request could not be parsed) the
    meta carries :func:`fallback_summary`, because the schema requires a full summary."""
    summary = ctx.received_summary if ctx is not None else fallback_summary(api_version)
    schemas = list(ctx.returned_schemas) if ctx is not None else []
    return {
        "meta": {
            "beaconId": beacon_id,
            "apiVersion": api_version,
            "returnedSchemas": schemas,
            # Nothing was returned; boolean is the least a response can say.
            "returnedGranularity": Granularity.BOOLEAN.value,
            "receivedRequestSummary": summary,
        },
        "error": {"errorCode": code, "errorMessage": message},
    }


def fallback_summary(api_version: str) -> dict[str, Any]:
    """The smallest schema-valid ``receivedRequestSummary``: spec defaults throughout."""
    return {
        "apiVersion": api_version,
        "requestedSchemas": [],
        "pagination": {"skip": 0, "limit": DEFAULT_LIMIT},
        "requestedGranularity": Granularity.BOOLEAN.value,
    }


def select_result_sets(
    result_sets: Sequence[ResultSet], include: IncludeResultsets
) -> tuple[ResultSet, ...]:
    """Apply ``includeResultsetResponses``: ALL, only HITs, only MISSes, or NONE."""
    if include == "ALL":
        return tuple(result_sets)
    if include == "NONE":
        return ()
    wanted = include == "HIT"
    return tuple(rs for rs in result_sets if rs.exists is wanted)


def _meta(ctx: ResponseContext, granularity: Granularity) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "beaconId": ctx.beacon_id,
        "apiVersion": ctx.api_version,
        "returnedSchemas": list(ctx.returned_schemas),
        "returnedGranularity": granularity.value,
        "receivedRequestSummary": ctx.received_summary,
    }
    if ctx.received_summary.get("testMode") is True:
        meta["testMode"] = True
    return meta


def _counted_summary(exists: bool, count: Count) -> dict[str, Any]:
    return {"exists": exists, "numTotalResults": count.reported, **count.fields()}


def _result_set(rs: ResultSet) -> dict[str, Any]:
    instance: dict[str, Any] = {
        "id": rs.dataset_id,
        "setType": rs.set_type,
        "exists": rs.exists,
        "resultsCount": rs.count.reported,
        **rs.count.fields(),
        "results": list(rs.results),
    }
    if rs.info is not None:
        instance["info"] = rs.info
    return instance
