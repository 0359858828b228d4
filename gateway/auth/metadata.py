"""The discovery documents of the authorization server (RFC 8414) and SMART (App Launch 2.x)."""

from __future__ import annotations

from typing import Any

from gateway.auth.client_assertion import CLIENT_ALGORITHMS

__all__ = ["authorization_server_metadata", "smart_configuration"]

SCOPES = (
    "system/Patient.rs",
    "system/Bundle.c",
    "system/Consent.rs",
    "system/AuditEvent.rs",
    "system/DiagnosticReport.rs",
    "system/Observation.rs",
)


def authorization_server_metadata(base_url: str) -> dict[str, Any]:
    return {
        "issuer": base_url,
        "token_endpoint": f"{base_url}/oauth/token",
        "jwks_uri": f"{base_url}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ALGORITHMS),
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["token"],
        "introspection_endpoint": f"{base_url}/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["bearer"],
        "tls_client_certificate_bound_access_tokens": True,
    }


def smart_configuration(base_url: str) -> dict[str, Any]:
    return {
        "issuer": base_url,
        "jwks_uri": f"{base_url}/.well-known/jwks.json",
        "token_endpoint": f"{base_url}/oauth/token",
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": list(CLIENT_ALGORITHMS),
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": list(SCOPES),
        "introspection_endpoint": f"{base_url}/oauth/introspect",
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    }
