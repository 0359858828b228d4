"""What ``/openapi.json`` says beyond what FastAPI can see.

Several routes read their bodies themselves (OAuth forms, signed webhooks, national records)
and answer with their own response classes, so the generated document would declare no
request body, ``application/json`` everywhere and FastAPI's 422 validation error, which this
gateway never sends (it answers 400). This completes the document from what the routes and
``gateway.api.errors`` really do: each family of routes with its error format and media type,
its success media type and the shape of its bodies. Clients and the fuzzer read it.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

Json = dict[str, Any]

_BEACON_META: Json = {
    "type": "object",
    "required": ["beaconId", "apiVersion", "returnedSchemas"],
    "properties": {
        "beaconId": {"type": "string"},
        "apiVersion": {"type": "string"},
        "returnedSchemas": {"type": "array"},
    },
}
BEACON_RESPONSE: Json = {
    "type": "object",
    "description": "A Beacon v2 framework response (beaconResponses, beaconInfoResponse, ...)",
    "required": ["meta"],
    "properties": {"meta": _BEACON_META, "response": {"type": "object"}},
}
SERVICE_INFO: Json = {
    "type": "object",
    "description": "GA4GH service-info",
    "required": ["id", "name", "type", "organization", "version"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "type": {"type": "object", "required": ["group", "artifact", "version"]},
        "organization": {"type": "object", "required": ["name", "url"]},
        "version": {"type": "string"},
    },
}
BEACON_ERROR: Json = {
    "type": "object",
    "description": "beaconErrorResponse.json",
    "required": ["meta", "error"],
    "properties": {
        "meta": _BEACON_META,
        "error": {
            "type": "object",
            "required": ["errorCode", "errorMessage"],
            "properties": {
                "errorCode": {"type": "integer"},
                "errorMessage": {"type": "string"},
            },
        },
    },
}
FHIR_RESOURCE: Json = {
    "type": "object",
    "description": "A FHIR R4 resource (JSON)",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}
OPERATION_OUTCOME: Json = {
    "type": "object",
    "description": "A FHIR R4 OperationOutcome with at least one issue",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "location": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}
PROBLEM: Json = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}
OAUTH_ERROR: Json = {
    "type": "object",
    "description": "RFC 6749 §5.2 error response",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}
TOKEN_RESPONSE: Json = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in", "scope"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
        "scope": {"type": "string"},
    },
}
TOKEN_FORM: Json = {
    "type": "object",
    "description": "client_credentials with private_key_jwt (RFC 7523, SMART Backend Services)",
    "required": ["grant_type", "client_assertion_type", "client_assertion"],
    "properties": {
        "grant_type": {"type": "string", "example": "client_credentials"},
        "client_assertion_type": {
            "type": "string",
            "example": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        },
        "client_assertion": {"type": "string", "description": "a signed JWT"},
        "scope": {"type": "string", "example": "system/Patient.rs"},
    },
}
INTROSPECTION_FORM: Json = {
    "type": "object",
    "required": ["token"],
    "properties": {"token": {"type": "string"}},
}
INTROSPECTION: Json = {
    "type": "object",
    "description": "RFC 7662 introspection response",
    "required": ["active"],
    "properties": {"active": {"type": "boolean"}},
}
CONSENT_EVENT: Json = {
    "type": "object",
    "description": "A consent portal event; the body is signed (Standard Webhooks)",
    "required": ["type", "timestamp", "data"],
    "properties": {
        "type": {"type": "string", "example": "consent.granted"},
        "timestamp": {"type": "string", "format": "date-time"},
        "data": {
            "type": "object",
            "required": ["citizen"],
            "properties": {
                "citizen": {
                    "type": "object",
                    "required": ["system", "value"],
                    "properties": {"system": {"type": "string"}, "value": {"type": "string"}},
                },
                "purposes": {"type": "array", "items": {"type": "string"}},
                "recipientCountries": {"type": "array", "items": {"type": "string"}},
                "categories": {"type": "array", "items": {"type": "string"}},
                "period": {"type": "object"},
            },
        },
    },
}
CONSENT_STORED: Json = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"enum": ["stored", "already received"]}},
}
WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
JWKS: Json = {
    "type": "object",
    "required": ["keys"],
    "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
}
FORM = "application/x-www-form-urlencoded"
FHIR_JSON = "application/fhir+json"


def complete(document: Json) -> Json:
    """``document`` (FastAPI's) with the real bodies, media types and error responses."""
    document = deepcopy(document)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _describe(path, operation)
    schemas = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def _describe(path: str, operation: Json) -> None:
    media_type, error = _error_format(path)
    responses: Json = operation.setdefault("responses", {})
    responses.pop("422", None)  # validation errors are answered 400 (gateway.api.errors)
    for status, response in responses.items():
        if status.startswith("2"):
            _success(path, response)
    described = "Refused: what the request lacks or may not have"
    responses["4XX"] = _content(media_type, error, described)
    responses["5XX"] = _content(media_type, error, "A dependency failed or took too long")
    body = _request_body(path)
    if body is not None:
        operation["requestBody"] = body
    if path == "/consent/events":
        operation["parameters"] = [
            {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
            for name in WEBHOOK_HEADERS
        ]


def _error_format(path: str) -> tuple[str, Json]:
    if path.startswith(("/beacon/", "/beacon-network/")):
        return "application/json", BEACON_ERROR
    if path.startswith(("/fhir/", "/national/")) and "/.well-known/" not in path:
        return FHIR_JSON, OPERATION_OUTCOME
    if path == "/oauth/token":
        return "application/json", OAUTH_ERROR
    if path == "/oauth/introspect":  # a missing token is a problem; a bad form an OAuth error
        return "application/*", {"anyOf": [OAUTH_ERROR, PROBLEM]}
    return "application/problem+json", PROBLEM


def _success(path: str, response: Json) -> None:
    media_type, schema = _SUCCESS.get(path) or _success_by_family(path)
    response["content"] = {media_type: {"schema": schema}}
    if path == "/national/records":
        response.setdefault("headers", {})["Location"] = {
            "description": "The patient's FHIR URL",
            "schema": {"type": "string"},
        }


_SUCCESS: dict[str, tuple[str, Json]] = {
    "/beacon/service-info": ("application/json", SERVICE_INFO),
    "/national/records": (FHIR_JSON, OPERATION_OUTCOME),
    "/oauth/token": ("application/json", TOKEN_RESPONSE),
    "/oauth/introspect": ("application/json", INTROSPECTION),
    "/consent/events": ("application/json", CONSENT_STORED),
    "/.well-known/jwks.json": ("application/jwk-set+json", JWKS),
}


def _success_by_family(path: str) -> tuple[str, Json]:
    if path.startswith(("/beacon/", "/beacon-network/")):
        return "application/json", BEACON_RESPONSE
    if path.startswith("/fhir/") and "/.well-known/" not in path:
        return FHIR_JSON, FHIR_RESOURCE
    return "application/json", {"type": "object"}


def _request_body(path: str) -> Json | None:
    if path == "/oauth/token":
        return {"required": True, "content": {FORM: {"schema": TOKEN_FORM}}}
    if path == "/oauth/introspect":
        return {"required": True, "content": {FORM: {"schema": INTROSPECTION_FORM}}}
    if path == "/consent/events":
        return {"required": True, "content": {"application/json": {"schema": CONSENT_EVENT}}}
    return None


def _content(media_type: str, schema: Json, description: str) -> Json:
    return {"description": description, "content": {media_type: {"schema": schema}}}
