"""RFC 8785 (JCS) canonical JSON over I-JSON (RFC 7493) input.

JCS assumes I-JSON: unique member names, finite numbers that fit an IEEE double, valid Unicode.
Python's :mod:`json` silently keeps the last of two equal keys, so a signer and a verifier that
read the same bytes could disagree on what was signed; :func:`parse_object` refuses such input
before anything is canonicalised (``reference/crossborder-security.md`` §6).
"""

from __future__ import annotations

import json
from typing import Any

import jcs

__all__ = ["NotIJSON", "canonicalize", "parse_object"]

# Integers beyond 2**53 do not survive the round trip through an IEEE double that JCS mandates.
_MAX_SAFE_INTEGER = 2**53 - 1


class NotIJSON(ValueError):
    """The input is not I-JSON. ``reason`` is a short code; the message never quotes content."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_object(data: bytes) -> dict[str, Any]:
    """Parse ``data`` as one JSON object, refusing duplicate keys and non-finite numbers.

    :raises NotIJSON: the bytes are not a well-formed I-JSON object.
    """
    try:
        parsed = json.loads(
            data,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_int=_safe_int,
        )
    except NotIJSON:
        raise
    except (ValueError, UnicodeDecodeError):
        raise NotIJSON("malformed_json", "the document is not well-formed JSON") from None
    except RecursionError:
        raise NotIJSON("malformed_json", "the document is nested too deeply") from None
    if not isinstance(parsed, dict):
        raise NotIJSON("malformed_json", "the document is not a JSON object")
    return parsed


def canonicalize(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``value`` (plain JSON types only).

    :raises NotIJSON: a lone surrogate, a non-finite float or a non-JSON type.
    """
    try:
        return bytes(jcs.canonicalize(value))
    except UnicodeEncodeError:
        raise NotIJSON("not_i_json", "the document holds a lone Unicode surrogate") from None
    except (TypeError, ValueError):
        raise NotIJSON("not_i_json", "the document holds a value JSON cannot express") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        # The key itself is not named: it may be patient data.
        raise NotIJSON("duplicate_key", "the document has a duplicate JSON key")
    return found


def _refuse_constant(name: str) -> Any:
    raise NotIJSON("not_i_json", "the document holds NaN or Infinity")


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > _MAX_SAFE_INTEGER:
        raise NotIJSON("not_i_json", "the document holds an integer beyond 2**53")
    return value
