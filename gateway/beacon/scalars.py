"""Type checks for single values of a Beacon request, each refusing a bad one by name."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import cast

from gateway.errors import BadBeaconQuery

_DIGITS = re.compile(r"^[+-]?\d+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Coordinates, lengths and page numbers: far above any chromosome (248 Mbp) and any page
# count, and within every integer type the back ends and JSON encoders use.
MAX_INTEGER = 2**31 - 1


def non_negative(value: object, name: str) -> int:
    number = integer(value, name)
    if number < 0:
        raise BadBeaconQuery(f"{name} must not be negative, got {number}")
    return number


def integer(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _DIGITS.match(value.strip()) and len(value.strip()) < 20:
        number = int(value.strip())
    else:
        raise BadBeaconQuery(f"{name} must be an integer, got {str(value)[:40]!r}")
    if abs(number) > MAX_INTEGER:
        raise BadBeaconQuery(f"{name} is out of range (at most {MAX_INTEGER})")
    return number


def optional_count(value: object, name: str) -> int | None:
    return None if value is None else non_negative(value, name)


def optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadBeaconQuery(f"{name} must be a string, got {value!r}")
    return printable(value, name).strip() or None


def text_list(value: object, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) and item.strip() for item in items):
        raise BadBeaconQuery(f"{name} must be a list of non-empty strings")
    return tuple(printable(cast(str, item), name).strip() for item in items)


def printable(value: str, name: str) -> str:
    """Refuse control characters (NUL breaks PostgreSQL text; none belongs in a query)."""
    if _CONTROL.search(value):
        raise BadBeaconQuery(f"{name} contains control characters")
    return value


def boolean(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise BadBeaconQuery(f"{name} must be true or false, got {value!r}")
    return value


def json_object(value: object, name: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadBeaconQuery(f"{name} must be a JSON object")
    return cast(dict[str, object], value)


def refuse_unknown_keys(document: Mapping[str, object], known: Iterable[str], where: str) -> None:
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise unknown_error("key", unknown, known, where=f" in {where}")


def unknown_error(
    what: str, names: list[str], known: Iterable[str], *, where: str = ""
) -> BadBeaconQuery:
    """Name every unknown parameter, with the closest known one as a hint for typos."""
    hints = [
        f"{name!r} (did you mean {match[0]!r}?)" if match else repr(name)
        for name in names
        for match in [difflib.get_close_matches(name, sorted(known), n=1)]
    ]
    plural = "s" if len(names) > 1 else ""
    return BadBeaconQuery(f"unknown {what}{plural}{where}: {', '.join(hints)}")
