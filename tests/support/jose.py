"""Hand-made compact JWS for attack tests: any header and payload bytes (duplicate keys, odd
types), signed with any key and algorithm, so that a refusal is shown to come from the rule
under test and not from a signature that happened not to verify."""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc.jwk import ECKey, OctKey, RSAKey
from joserfc.jws import JWSRegistry

__all__ = ["b64url", "forge", "part", "resign", "segments"]

Part = dict[str, Any] | bytes


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def part(value: Part) -> str:
    """A JSON object (serialised compactly) or raw bytes, as a base64url segment."""
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64url(raw)


def forge(header: Part, claims: Part, key: ECKey | RSAKey | OctKey | None, algorithm: str) -> str:
    """``header.claims.signature`` signed with ``algorithm`` over exactly these segments
    (``key`` None: an empty signature, as ``alg: none`` has)."""
    signing_input = f"{part(header)}.{part(claims)}"
    if key is None:
        return f"{signing_input}."
    signature = JWSRegistry.algorithms[algorithm].sign(signing_input.encode("ascii"), key)
    return f"{signing_input}.{b64url(signature)}"


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of a well-formed compact token."""
    header, claims, _ = token.split(".")
    return _decode(header), _decode(claims)


def resign(token: str, key: ECKey | RSAKey, algorithm: str, **header: Any) -> str:
    """``token`` with header members changed or added (None removes one), signed again."""
    old, claims = segments(token)
    new = {name: value for name, value in {**old, **header}.items() if value is not None}
    return forge(new, claims, key, algorithm)


def _decode(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded
