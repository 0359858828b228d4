"""FHIR JSON bytes to the reader's tree: strict JSON, UTF-8 only, no duplicate keys.

RFC 8259 JSON exchanged between systems is UTF-8; FHIR numbers are decimals, so they are read
as :class:`~decimal.Decimal` and keep their precision (``7.50``); ``NaN`` and ``Infinity`` are
not JSON. A duplicate key makes a document mean two things (the one a signature covered and the
one a reader took), so it is refused as the gateway's signatures are (``DESIGN.md`` §3).

The standard library's C parser does the work. Where it cannot say where a problem is (a
duplicate key, nesting deeper than the interpreter's recursion limit), the text is scanned
again, on that error path only, to name the line and column.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from gateway.errors import RecordError
from gateway.ingest.records.text import decode_text

__all__ = ["parse_fhir_json"]

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# A key (a string followed by a colon), any other string, a bracket, or one of Python's non-JSON
# constants: enough to follow the nesting of text the C parser has accepted up to the error.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[{}\[\]]|(-?(?:NaN|Infinity))')
# What no FHIR string holds: C0 controls but tab, LF and CR; lone surrogates.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


class _DuplicateKey(Exception):
    """Raised from the object hook; not a ValueError, so no JSON error is mistaken for it."""


class _NotJson(Exception):
    """NaN, Infinity and -Infinity: Python's extensions, not JSON."""


def parse_fhir_json(data: bytes) -> dict[str, Any]:
    """The JSON object in ``data``.

    :raises RecordError: for text that is not UTF-8, not JSON, has duplicate keys, is nested
        too deeply, or is not an object; the location is a line and column where known.
    """
    if data.startswith(_UTF16_BOMS):
        raise RecordError("FHIR JSON must be UTF-8, not UTF-16", "encoding")
    text = decode_text(data, "utf-8")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
        )
    except _DuplicateKey:
        where = _duplicate_key_at(text)
        raise RecordError("an object has the same key twice", where) from None
    except _NotJson:
        raise RecordError("NaN and Infinity are not JSON numbers", _constant_at(text)) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise RecordError(f"malformed JSON ({exc.msg})", where) from None
    except RecursionError:
        raise RecordError("JSON nested too deeply", _deepest_at(text)) from None
    except ValueError:  # an integer longer than Python converts (sys.int_info)
        raise RecordError("a JSON number is too long", "JSON") from None
    if not isinstance(value, dict):
        raise RecordError("FHIR JSON is an object with a resourceType", "line 1, column 1")
    unreadable = _unreadable_string_at(value)
    if unreadable is not None:
        raise RecordError("a string holds a control character or a lone surrogate", unreadable)
    return value


def _unreadable_string_at(tree: dict[str, Any]) -> str | None:
    """The path of the first key or string value that no FHIR string may hold: a control
    character other than tab, line feed and carriage return (FHIR's XML form cannot carry
    them; PostgreSQL refuses NUL) or a lone surrogate (no UTF-8 spelling). JSON escapes
    (``\\u0000``, ``\\ud800``) are the only way they get this far. Walked with a stack, as
    the C parser walked the nesting."""
    kind = tree.get("resourceType")
    root = kind if isinstance(kind, str) and kind.isalpha() else ""
    pending: list[tuple[str, Any]] = [(root, tree)]
    while pending:
        path, node = pending.pop()
        if isinstance(node, str):
            if _UNREADABLE.search(node):
                return path or "JSON"
        elif isinstance(node, dict):
            for key, item in node.items():
                if _UNREADABLE.search(key):
                    return path or "JSON"
                pending.append((f"{path}.{key}" if path else key, item))
        elif isinstance(node, list):
            pending.extend((f"{path}[{n}]", item) for n, item in enumerate(node))
    return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _DuplicateKey
    return found


def _refuse_constant(name: str) -> Any:
    raise _NotJson


def _duplicate_key_at(text: str) -> str:
    """Line and column of the first key that repeats within its object."""
    objects: list[set[str] | None] = []  # one entry per open bracket; None for an array
    for match in _TOKEN.finditer(text):
        piece = match.group()
        if piece in ("{", "["):
            objects.append(set() if piece == "{" else None)
        elif piece in ("}", "]"):
            if objects:
                objects.pop()
        elif match.group(1) is not None and objects and objects[-1] is not None:
            key = json.loads(piece[: -len(match.group(1))])
            if key in objects[-1]:
                return _line_column(text, match.start())
            objects[-1].add(key)
    return "JSON"  # not reached: the C parser found the duplicate in this text


def _constant_at(text: str) -> str:
    found = next((m for m in _TOKEN.finditer(text) if m.group(2) is not None), None)
    return _line_column(text, found.start()) if found is not None else "JSON"


def _deepest_at(text: str) -> str:
    """Line and column where the nesting first reaches its deepest."""
    depth = deepest = position = 0
    for match in _TOKEN.finditer(text):
        piece = match.group()
        if piece in ("{", "["):
            depth += 1
            if depth > deepest:
                deepest, position = depth, match.start()
        elif piece in ("}", "]"):
            depth -= 1
    return _line_column(text, position)


def _line_column(text: str, position: int) -> str:
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return f"line {line}, column {column}"
