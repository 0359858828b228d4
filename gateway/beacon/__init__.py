"""GA4GH Beacon v2 (schema release v2.1.1, plus the v2.2 count-precision fields): pure
functions from data to data, no I/O.

- :mod:`gateway.beacon.requests`: GET parameters and POST bodies → :class:`BeaconRequest`,
  built from :mod:`gateway.beacon.variant_query`, :mod:`gateway.beacon.filters` and
  :mod:`gateway.beacon.scalars`
- :mod:`gateway.beacon.responses`: boolean, count, result-set, collection and error responses
- :mod:`gateway.beacon.records`: genomic variation, individual and dataset records
- :mod:`gateway.beacon.framework`: info, service-info, configuration, map, entry types,
  filtering terms

The schemas live in ``../shared/conformance/beacon-v2``; notes in ``reference/beacon-v2.md``.
"""

from __future__ import annotations

from gateway.beacon.framework import BeaconDescription, FilteringTerm
from gateway.beacon.records import CaseLevel
from gateway.beacon.requests import (
    AlphanumericFilter,
    BeaconRequest,
    OntologyFilter,
    VariantQuery,
    parse_get,
    parse_post,
)
from gateway.beacon.responses import API_VERSION, Count, ResponseContext, ResultSet

__all__ = [
    "API_VERSION",
    "AlphanumericFilter",
    "BeaconDescription",
    "BeaconRequest",
    "CaseLevel",
    "Count",
    "FilteringTerm",
    "OntologyFilter",
    "ResponseContext",
    "ResultSet",
    "VariantQuery",
    "parse_get",
    "parse_post",
]
