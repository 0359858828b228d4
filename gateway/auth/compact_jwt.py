"""Strict reading of compact JWTs before any key is touched.

joserfc verifies signatures well, but what it accepts around them is broad: padded or
non-url base64, duplicate JSON keys (Python keeps the last), headers that name their own keys
(``jku``, ``x5u``, ``jwk``). A token here is refused on its shape first, with a reason fit
for a ``WWW-Authenticate`` header and the audit record; only then is the signature checked
by joserfc with the algorithm and key the gateway chose, never the ones the token names.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from gateway.auth.canonical_json import NotIJSON, parse_object

__all__ = ["CompactJWT", "TokenRefused", "read_compact", "verify_signature"]

MAX_TOKEN_BYTES = 8192
_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
# Headers that would let a token choose its own key or change how it is verified.
_REFUSED_HEADERS = frozenset({"jku", "x5u", "jwk", "crit", "b64", "zip", "enc"})


class TokenRefused(ValueError):
    """A token or assertion the gateway will not accept; the message names the rule, never
    the token's content."""


@dataclass(frozen=True, slots=True)
class CompactJWT:
    text: str
    header: dict[str, Any]
    claims: dict[str, Any]


def read_compact(token: str) -> CompactJWT:
    """Header and claims of a compact JWS, read strictly (3 url-safe base64 segments without
    padding, each JSON part an object with unique keys). The signature is not checked here.

    :raises TokenRefused:
    """
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenRefused(f"the token is longer than {MAX_TOKEN_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenRefused("the token is not a compact JWS (three dot-separated parts)")
    if not all(_SEGMENT.match(part) for part in parts):
        raise TokenRefused("the token is not url-safe base64 without padding")
    header = _json_part(parts[0], "header")
    refused = _REFUSED_HEADERS & header.keys()
    if refused:
        raise TokenRefused(f"the token header may not carry {', '.join(sorted(refused))}")
    if not isinstance(header.get("alg"), str):
        raise TokenRefused("the token header has no algorithm")
    return CompactJWT(token, header, _json_part(parts[1], "payload"))


def verify_signature(token: CompactJWT, key: ECKey | RSAKey, algorithm: str) -> None:
    """Check the signature with ``key`` under ``algorithm`` alone (the caller pinned both).

    :raises TokenRefused:
    """
    if token.header.get("alg") != algorithm:
        raise TokenRefused(f"the token must be signed with {algorithm}")
    try:
        jws.deserialize_compact(token.text, key, algorithms=[algorithm])
    except (JoseError, ValueError, TypeError):
        raise TokenRefused("the token signature does not verify") from None


def _json_part(segment: str, name: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        return parse_object(raw)
    except NotIJSON as exc:
        if exc.reason == "duplicate_key":
            raise TokenRefused(f"the token {name} has a duplicate JSON key") from None
        raise TokenRefused(f"the token {name} is not a JSON object") from None
    except (binascii.Error, ValueError):
        raise TokenRefused(f"the token {name} is not base64url") from None
