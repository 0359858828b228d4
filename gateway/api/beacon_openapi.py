"""OpenAPI descriptions of the Beacon query parameters, so that /docs shows researchers
what a GET takes and what a POST body looks like (the routes parse requests themselves)."""

from __future__ import annotations

from typing import Any

_VARIANT = {
    "referenceName": "chromosome: 1..22, X, Y, MT; chr1, 1 and NC_000001.11 are the same",
    "start": "0-based start; one value (sequence, range) or min,max (bracket)",
    "end": "0-based exclusive end; one value (range) or min,max (bracket)",
    "referenceBases": "reference bases (N matches any base)",
    "alternateBases": "alternate bases (N matches any base)",
    "variantType": "SNP, MNP, INDEL, DEL, DUP, INS, CNV, INV, BND or an EFO term",
    "variantMinLength": "minimum length of the variant on the reference",
    "variantMaxLength": "maximum length of the variant on the reference",
    "geneId": "HGNC gene symbol, e.g. BRCA2",
    "assemblyId": "GRCh38 or GRCh37 (aliases such as hg38 accepted)",
    "genomicAlleleShortForm": "genomic HGVS substitution, e.g. NC_000013.11:g.32316000G>A",
}
_COMMON = {
    "filters": "comma-separated filter CURIEs, ANDed: NCIT:C16576 (female), NCIT:C20197 (male)",
    "datasetIds": "comma-separated dataset ids to query (default: all the caller may see)",
    "skip": "pages to skip (skip=2, limit=8 returns records 17-24)",
    "limit": "records per page (0 = the server maximum)",
    "includeResultsetResponses": "HIT (default), MISS, ALL or NONE",
}

_EXAMPLE_BODY = {
    "meta": {"apiVersion": "v2.0"},
    "query": {
        "requestParameters": {
            "g_variant": {
                "referenceName": "17",
                "start": [43044294],
                "end": [43125364],
                "assemblyId": "GRCh38",
            }
        },
        "filters": [{"id": "NCIT:C16576"}],
        "requestedGranularity": "count",
        "pagination": {"skip": 0, "limit": 10},
    },
}


def parameters(*, variant: bool) -> dict[str, Any]:
    """``openapi_extra`` for a GET query route."""
    names = {**(_VARIANT if variant else {}), **_COMMON}
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, text in names.items()
        ]
    }


_BASES = {"type": "string", "pattern": "^[ACGTN]+$"}
_POSITIONS = {
    "oneOf": [
        {"type": "integer", "minimum": 0},
        {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1, "maxItems": 2},
    ]
}
_VARIANT_PARAMETERS = {
    "type": "object",
    "properties": {
        "referenceName": {"type": "string"},
        "start": _POSITIONS,
        "end": _POSITIONS,
        "referenceBases": _BASES,
        "alternateBases": _BASES,
        "variantType": {"type": "string"},
        "variantMinLength": {"type": "integer", "minimum": 0},
        "variantMaxLength": {"type": "integer", "minimum": 0},
        "geneId": {"type": "string"},
        "assemblyId": {"type": "string"},
        "genomicAlleleShortForm": {"type": "string"},
        "datasetIds": {"type": "array", "items": {"type": "string"}},
    },
}
# beaconRequestBody.json (Beacon v2.1.1) with its references resolved, as far as this gateway
# reads it: enough for a client generator, /docs and the fuzzer to build real queries.
_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "meta": {
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "requestedSchemas": {"type": "array", "items": {"type": "object"}},
            },
        },
        "query": {
            "type": "object",
            "properties": {
                "requestParameters": {
                    "oneOf": [
                        _VARIANT_PARAMETERS,
                        {
                            "type": "object",
                            "properties": {"g_variant": _VARIANT_PARAMETERS},
                            "required": ["g_variant"],
                        },
                    ]
                },
                "filters": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {"type": "string"},
                            {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "includeDescendantTerms": {"type": "boolean"},
                                    "similarity": {"enum": ["exact", "high", "medium", "low"]},
                                },
                                "required": ["id"],
                            },
                        ]
                    },
                },
                "includeResultsetResponses": {"enum": ["ALL", "HIT", "MISS", "NONE"]},
                "pagination": {
                    "type": "object",
                    "properties": {
                        "skip": {"type": "integer", "minimum": 0},
                        "limit": {"type": "integer", "minimum": 0},
                    },
                },
                "requestedGranularity": {"enum": ["boolean", "count", "record", "aggregated"]},
                "testMode": {"type": "boolean"},
            },
        },
    },
}


def request_body() -> dict[str, Any]:
    """``openapi_extra`` for a POST query route: a Beacon v2 request body."""
    return {
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": _REQUEST_SCHEMA, "example": _EXAMPLE_BODY}},
            "description": "Beacon v2 request (beaconRequestBody.json); requestParameters "
            'may be flat or wrapped as {"g_variant": {...}}; requestedGranularity is '
            "honoured up to what the dataset and the caller allow.",
        }
    }
