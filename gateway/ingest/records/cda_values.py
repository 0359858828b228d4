"""CDA R2 data types as record values: coded elements, timestamps, intervals, observation values.

Coded elements follow HL7 ``ccda-on-fhir`` (``reference/national-records.md`` §4): the
``@code``/``@codeSystem``/``@displayName`` triplet and each ``translation`` become codings (OIDs
through the profile's ``code_systems`` and :func:`~gateway.profiles.codesystems.system_uri`),
``originalText`` (its ``reference`` dereferenced into the narrative) becomes the concept's text.
A ``nullFlavor`` with translations (the eHDSI ``OTH`` pattern) keeps the translations; with
neither code nor text the element says nothing, and the caller decides what an absent entry
means (:func:`absent`).

Observation values follow their ``xsi:type``. A PQ is a UCUM quantity; an IVL_PQ bounded on one
side (``<high value="5" inclusive="false"/>``, "below 5") a quantity with a comparator, as
ccda-on-fhir maps it; an IVL_PQ bounded on both sides has no single value and is reported. A TS
value is a date (a pregnancy's expected delivery date).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar

from gateway.domain.clinical_values import ABSENT_UNKNOWN, UCUM, Comparator
from gateway.domain.records import Code, Concept, DateValue, Quantity, Value
from gateway.errors import RecordRejected
from gateway.ingest.records.cda_xml import (
    XSI_TYPE,
    Context,
    Element,
    attr,
    child,
    local_name,
    location,
    named,
    plain_text,
    rejecting,
)
from gateway.ingest.records.text import hl7_datetime

__all__ = [
    "absent",
    "bare",
    "concept",
    "interval",
    "mapped",
    "null_flavor",
    "observation_value",
    "quantity",
    "timestamp",
    "written_quantity",
    "written_range",
]

T = TypeVar("T")

_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")
_INTEGER = re.compile(r"[+-]?[0-9]{1,10}")
_BARE = frozenset({"code", "templateId"})
_CODED_TYPES = frozenset({"CD", "CE", "CV", "CO", "CS"})
# A magnitude beyond this is no clinical value, and would overflow a JSON (float) number.
_MAX_EXPONENT = 100

# The IPS absent-unknown codes a record list can state: (none known, no information).
_ABSENT_CODES: dict[str, tuple[Code, Code]] = {
    "problems": (
        Code(ABSENT_UNKNOWN, "no-known-problems", "No known problems"),
        Code(ABSENT_UNKNOWN, "no-problem-info", "No information about problems"),
    ),
    "allergies": (
        Code(ABSENT_UNKNOWN, "no-known-allergies", "No known allergies"),
        Code(ABSENT_UNKNOWN, "no-allergy-info", "No information about allergies"),
    ),
    "medications": (
        Code(ABSENT_UNKNOWN, "no-known-medications", "No known medications"),
        Code(ABSENT_UNKNOWN, "no-medication-info", "No information about medications"),
    ),
    "immunizations": (
        Code(ABSENT_UNKNOWN, "no-known-immunizations", "No known immunizations"),
        Code(ABSENT_UNKNOWN, "no-immunization-info", "No information about immunizations"),
    ),
    "procedures": (
        Code(ABSENT_UNKNOWN, "no-known-procedures", "No known procedures"),
        Code(
            ABSENT_UNKNOWN, "no-procedure-info", "No information about past history of procedures"
        ),
    ),
    "devices": (
        Code(ABSENT_UNKNOWN, "no-known-devices", "No known devices in use"),
        Code(ABSENT_UNKNOWN, "no-device-info", "No information about devices"),
    ),
}


# --- coded elements ---------------------------------------------------------------------------


def concept(ctx: Context, element: Element | None) -> Concept | None:
    """The concept a coded element (CD, CE, ``pharm:code``...) states; None if it states none."""
    if element is None:
        return None
    found = [_coding(ctx, element), *(_coding(ctx, t) for t in named(element, "translation"))]
    codings = tuple(dict.fromkeys(c for c in found if c is not None))
    text = _original_text(ctx, element)
    if text is not None and any(text == c.code for c in codings):
        text = None  # a narrative cell that only repeats the code describes nothing
    if not codings and text is None:
        text = plain_text(element.get("displayName"))  # a code the reader could not place
    if not codings and text is None:
        return None
    return rejecting(element, lambda: Concept(codings, text))


def _coding(ctx: Context, element: Element) -> Code | None:
    code = attr(element, "code")
    if code is None:
        return None
    name = attr(element, "codeSystem")
    system = ctx.code_system(name) if name else None
    if system is None:
        ctx.warn(element, "a code without a usable codeSystem: kept as text only")
        return None
    try:
        return Code(system, code, plain_text(element.get("displayName")))
    except ValueError:
        ctx.warn(element, f"a code in {system} that is not a valid code: left out")
        return None


def _original_text(ctx: Context, element: Element) -> str | None:
    holder = next(named(element, "originalText"), None)
    if holder is None:
        return None
    text = ctx.referenced_text(holder)
    if text is None:
        dangling = ctx.dangling(holder)
        if dangling is not None:
            ctx.warn(holder, f"originalText reference {dangling} is not in the narrative")
    return text


def null_flavor(*elements: Element | None) -> str | None:
    """The first nullFlavor among ``elements`` (a coded element, then the entry holding it)."""
    return next(
        (e.get("nullFlavor") for e in elements if e is not None and e.get("nullFlavor")), None
    )


def absent(ctx: Context, target: str, flavor: str | None, entry: Element) -> Concept | None:
    """The IPS absent-unknown concept an entry states by a ``nullFlavor`` where its code is.

    The profile says which flavors mean "none known" and which "no information"; lists without
    IPS absent-unknown codes (results, vital signs...) state nothing this way. The entry's
    narrative text stays as the concept's text. Callers ask only about entries that carry
    nothing else (no date, no name, no ingredient): a procedure with an unknown code and a date
    is a procedure, not the absence of any.
    """
    meaning = ctx.mapping.absent_null_flavors.get(flavor or "")
    codes = _ABSENT_CODES.get(target)
    if meaning is None or codes is None:
        return None
    code = codes[0] if meaning == "none" else codes[1]
    return Concept((code,), ctx.referenced_text(child(entry, "text")))


def bare(element: Element | None) -> bool:
    """Whether ``element`` holds nothing but a code (and templateIds): nothing describes it."""
    return element is None or all(local_name(c) in _BARE for c in element if isinstance(c.tag, str))


def mapped(ctx: Context, element: Element | None, table: Mapping[str, T], what: str) -> T | None:
    """What ``element/@code`` means in the profile's ``table``; a code missing there is
    reported and left out."""
    code = attr(element, "code")
    if element is None or code is None:
        return None
    found = table.get(code)
    if found is None:
        ctx.warn(element, f"{what} code {code} is not in the profile: left out")
    return found


# --- time -------------------------------------------------------------------------------------


def timestamp(ctx: Context, element: Element | None) -> str | None:
    """A TS ``@value`` as a FHIR date or dateTime (its precision kept); None for a nullFlavor."""
    if element is None:
        return None
    value = attr(element, "value")
    if value is None:
        return None
    try:
        return hl7_datetime(value, ctx.profile.timezone)
    except RecordRejected as exc:
        raise RecordRejected(exc.detail, location(element)) from None


def interval(ctx: Context, element: Element | None) -> tuple[str | None, str | None]:
    """An IVL_TS (or a plain TS) as (start, end); ``center`` stands for the start."""
    if element is None:
        return None, None
    if element.get("value"):
        return timestamp(ctx, element), None
    start = timestamp(ctx, child(element, "low")) or timestamp(ctx, child(element, "center"))
    return start, timestamp(ctx, child(element, "high"))


# --- observation values -----------------------------------------------------------------------


def observation_value(ctx: Context, element: Element | None) -> Value | None:
    """An observation's ``value`` by its ``xsi:type``: PQ, IVL_PQ, CD/CE, INT, REAL, ST/ED, TS
    or BL."""
    if element is None:
        return None
    kind = (element.get(XSI_TYPE) or "").rpartition(":")[2]
    if kind == "PQ":
        return quantity(element)
    if kind == "IVL_PQ":
        return _bounded(ctx, element)
    if kind in _CODED_TYPES or (not kind and _looks_coded(element)):
        return concept(ctx, element)
    if kind == "INT":
        return _integer(element)
    if kind == "REAL":
        number = _decimal(element)
        return None if number is None else rejecting(element, lambda: Quantity(number))
    if kind in ("ST", "ED", ""):
        return ctx.referenced_text(element)
    if kind == "TS":
        stamp = timestamp(ctx, element)
        return None if stamp is None else rejecting(element, lambda: DateValue(stamp))
    if kind == "BL" and element.get("value") in ("true", "false"):
        return element.get("value")
    if not element.get("nullFlavor"):
        ctx.warn(element, f"an observation value of type {kind}: not read")
    return None


def _looks_coded(element: Element) -> bool:
    return bool(element.get("code")) or next(named(element, "originalText"), None) is not None


def quantity(element: Element, comparator: Comparator | None = None) -> Quantity | None:
    """A PQ: its unit is UCUM by definition (CDA R2), ``1`` when it has none."""
    number = _decimal(element)
    if number is None:
        return None
    unit = attr(element, "unit") or "1"
    return rejecting(element, lambda: Quantity(number, unit, UCUM, unit, comparator))


def _bounded(ctx: Context, element: Element) -> Quantity | None:
    """An IVL_PQ value bounded on one side (a result below a detection limit) as a quantity
    with a comparator."""
    if element.get("value"):  # IVL_PQ derives from PQ: a plain value is allowed
        return quantity(element)
    low, high = _bounds(element)
    if low is not None and high is not None:
        ctx.warn(element, "an observation value that is a range (IVL_PQ with two bounds): not read")
        return None
    side = _open_side(low, high)
    return quantity(*side) if side is not None else None


def _bounds(element: Element) -> tuple[Element | None, Element | None]:
    """The ``low`` and ``high`` of an interval that give a value (not ``nullFlavor="PINF"``)."""
    low, high = child(element, "low"), child(element, "high")
    return (
        low if low is not None and low.get("value") else None,
        high if high is not None and high.get("value") else None,
    )


def _open_side(low: Element | None, high: Element | None) -> tuple[Element, Comparator] | None:
    """The bound of a half-open interval and the comparator it puts before its value; a bound
    is inclusive unless it says ``inclusive="false"``."""
    if high is not None:
        return high, "<" if high.get("inclusive") == "false" else "<="
    if low is not None:
        return low, ">" if low.get("inclusive") == "false" else ">="
    return None


def written_quantity(element: Element) -> str | None:
    """A PQ as a person writes it (``500 mg``; a unit of ``1`` is left out)."""
    unit = attr(element, "unit")
    shown = (attr(element, "value"), unit if unit != "1" else None)
    return " ".join(filter(None, shown)) or None


def written_range(element: Element) -> str | None:
    """An IVL_PQ as a person writes it: ``3.5-5.1 mmol/L``, ``<=200 mg/dL``, ``>60``; None
    when it has no bound, or a bound that is not a number."""
    low, high = _bounds(element)
    if not all(_DECIMAL.fullmatch(attr(b, "value") or "") for b in (low, high) if b is not None):
        return None
    if low is not None and high is not None:
        # As laboratories write it (HL7 v2 OBX-7 too): the unit once, after the range.
        if attr(low, "unit") == attr(high, "unit"):
            return f"{attr(low, 'value')}-{written_quantity(high)}"
        return f"{written_quantity(low)}-{written_quantity(high)}"
    side = _open_side(low, high)
    if side is None:
        return None
    bound, comparator = side
    return f"{comparator}{written_quantity(bound)}"


def _decimal(element: Element) -> Decimal | None:
    raw = attr(element, "value")
    if raw is None:
        return None
    number = Decimal(raw) if _DECIMAL.fullmatch(raw) else None
    if number is None or abs(number.adjusted()) > _MAX_EXPONENT:
        raise RecordRejected("a value that is not a decimal number", location(element))
    return number


def _integer(element: Element) -> int | None:
    raw = attr(element, "value")
    if raw is None:
        return None
    if not _INTEGER.fullmatch(raw) or not -(2**31) <= int(raw) < 2**31:
        raise RecordRejected("a value that is not a 32-bit integer", location(element))
    return int(raw)
