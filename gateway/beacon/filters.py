"""Beacon v2 filters (``requests/filteringTerms.json``): ontology and alphanumeric terms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from gateway.beacon.scalars import boolean, optional_text, printable, refuse_unknown_keys
from gateway.errors import BadBeaconQuery

FILTER_OPERATORS = ("=", "<", ">", "!", ">=", "<=")
_SIMILARITIES = ("exact", "high", "medium", "low")
_FILTER_KEYS = ("id", "scope", "includeDescendantTerms", "similarity", "operator", "value")


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


def parse_filter(item: object) -> Filter:
    if isinstance(item, str) and item.strip():
        term = printable(item, "filters").strip()
        return OntologyFilter(term, include_descendant_terms=True, scope=None)
    if isinstance(item, dict):
        return _filter_object(cast(dict[str, object], item))
    raise BadBeaconQuery(f"a filter must be a CURIE string or an object with an id, got {item!r}")


def _filter_object(item: dict[str, object]) -> Filter:
    refuse_unknown_keys(item, _FILTER_KEYS, "a filter")
    term = item.get("id")
    if not isinstance(term, str) or not term.strip():
        raise BadBeaconQuery(f"a filter needs an id, got {item!r}")
    printable(term, "filter id")
    scope = optional_text(item.get("scope"), "filter scope")
    if "operator" in item or "value" in item:
        return _alphanumeric(term.strip(), item, scope)
    similarity = item.get("similarity", "exact")
    if similarity not in _SIMILARITIES:
        raise BadBeaconQuery(f"filter {term}: similarity must be one of {', '.join(_SIMILARITIES)}")
    descendants = boolean(item.get("includeDescendantTerms", True), "includeDescendantTerms")
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
