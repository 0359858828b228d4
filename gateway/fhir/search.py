"""Searchset Bundles: what ``GET /fhir/<type>?...`` answers."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.fhir.datatypes import Json

__all__ = ["searchset"]


def searchset(base_url: str, resources: Sequence[Json], self_link: str, total: int) -> Json:
    """A searchset Bundle of ``resources`` (each with an ``id``), ``total`` matches in all."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": "self", "url": self_link}],
        "entry": [
            {
                "fullUrl": f"{base_url}/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }
