"""FHIR R4 data types as plain dicts, from the neutral record's values.

Plain dicts, not ``fhir.resources`` models: a model validates every element on construction and
runs at ~400 resources/s (``DESIGN.md`` §5); documents are built in bulk, so the models are
kept for the tests, which parse every document the builders make.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from gateway.domain.records import (
    Address,
    Code,
    Concept,
    DateValue,
    HumanName,
    Identifier,
    Quantity,
    Telecom,
    Value,
)
from gateway.fhir.canonical import DATA_ABSENT_REASON

Json = dict[str, Any]


def coding(code: Code) -> Json:
    out: Json = {"system": code.system, "code": code.code}
    if code.display is not None:
        out["display"] = code.display
    return out


def concept(value: Concept) -> Json:
    """Every coding in the order the reader gave them, national next to EU, and the text."""
    out: Json = {}
    if value.codings:
        out["coding"] = [coding(c) for c in value.codings]
    if value.text is not None:
        out["text"] = value.text
    return out


def coded(system: str, code: str, display: str | None = None) -> Json:
    return {"coding": [coding(Code(system, code, display))]}


def instant(moment: datetime | None = None, *, milliseconds: bool = False) -> str:
    """``moment`` (default: now) as a FHIR ``instant`` in UTC, ``Z``-suffixed."""
    spec = "milliseconds" if milliseconds else "seconds"
    return (
        (moment or datetime.now(UTC))
        .astimezone(UTC)
        .isoformat(timespec=spec)
        .replace("+00:00", "Z")
    )


def number(value: Decimal) -> int | float:
    # JSON has no decimal type, and the RFC 8785 canonical form a signature covers rewrites
    # numbers anyway, so trailing zeros cannot survive; `7` stays an integer, `7.0` a float.
    exponent = value.as_tuple().exponent  # finite: the record refuses NaN and infinities
    return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)


def quantity(value: Quantity) -> Json:
    out: Json = {"value": number(value.value)}
    for key in ("comparator", "unit", "system", "code"):
        if getattr(value, key) is not None:
            out[key] = getattr(value, key)
    return out


def value_element(value: Value) -> tuple[str, Json | str | int]:
    """The ``value[x]`` name and content for an observation or component value."""
    if isinstance(value, Quantity):
        return "valueQuantity", quantity(value)
    if isinstance(value, Concept):
        return "valueCodeableConcept", concept(value)
    if isinstance(value, DateValue):
        return "valueDateTime", value.date
    if isinstance(value, int):
        return "valueInteger", value
    return "valueString", value


def identifier(value: Identifier) -> Json:
    return {"system": value.system, "value": value.value}


def human_name(value: HumanName) -> Json:
    out: Json = {}
    if value.use is not None:
        out["use"] = value.use
    if value.text is not None:
        out["text"] = value.text
    if value.family is not None:
        out["family"] = value.family
    if value.given:
        out["given"] = list(value.given)
    return out


def address(value: Address) -> Json:
    out: Json = {}
    if value.lines:
        out["line"] = list(value.lines)
    for key, part in (
        ("city", value.city),
        ("postalCode", value.postal_code),
        ("country", value.country),
    ):
        if part is not None:
            out[key] = part
    return out


def telecom(value: Telecom) -> Json:
    return {"system": value.system, "value": value.value}


def reference(full_url: str) -> Json:
    return {"reference": full_url}


def absent(reason: str = "unknown") -> Json:
    """The element for a required value the source does not have (FHIR data-absent-reason)."""
    return {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": reason}]}


def period(start: str | None, end: str | None) -> Json:
    out: Json = {}
    if start is not None:
        out["start"] = start
    if end is not None:
        out["end"] = end
    return out
