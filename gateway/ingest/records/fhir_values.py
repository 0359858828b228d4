"""FHIR data types to the record's values: CodeableConcept, dateTime, Period, Quantity (with its
comparator), value[x], referenceRange.

Codings are kept as they came (system, code, display) plus the concept's ``text``; only the
system is normalised, through the profile's ``code_systems`` and the gateway's table
(:func:`~gateway.profiles.codesystems.system_uri`), so that an OID a source writes for LOINC
or a superseded national URI reaches the ConceptMaps as the URI they know.

Not read, with a finding: ``valueBoolean``, ``valueRange``, ``valueRatio``,
``valueSampledData``, ``valueTime`` and ``valuePeriod`` (the record has no such value type).
A reference range becomes the one text the record keeps: its ``text``, else its bounds; the
age a range is for is not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.domain.clinical_values import Comparator
from gateway.domain.records import Code, Concept, DateValue, Quantity, Value, check_datetime
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records.fhir_bundle import Contents
from gateway.ingest.records.fhir_tree import Node
from gateway.profiles.codesystems import system_uri
from gateway.profiles.model import Finding, Profile

__all__ = ["Context", "coded", "reference_range"]

# A date and time without a zone: not a FHIR dateTime, but national systems send it.
_LOCAL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?")
_COMPARATORS = get_args(Comparator)
# value[x] types a record's observation cannot hold; named in findings (they are type names).
_OTHER_VALUES = frozenset(
    {
        "valueBoolean",
        "valueRange",
        "valueRatio",
        "valueSampledData",
        "valueTime",
        "valuePeriod",
    }
)


@dataclass(slots=True)
class Context:
    """What reading one input needs beside the resource at hand; collects the findings."""

    profile: Profile
    contents: Contents
    findings: list[Finding] = field(default_factory=list)
    # source code system -> FHIR URI, looked up once per input
    _systems: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)

    def note(self, where: str, message: str) -> None:
        self.findings.append(Finding(where, message))

    def concept(self, node: Node | None) -> Concept | None:
        """A CodeableConcept; None when it has neither a usable coding nor a text.

        A coding without a system (or with a name no table knows) cannot be sent as a code;
        its display, or its code, becomes the text when the concept has no other.
        """
        if node is None:
            return None
        codes: list[Code] = []
        unusable: list[Node] = []
        for coding in node.all("coding"):
            code = self._code(coding)
            if code is not None:
                codes.append(code)
            elif coding.text("display") or coding.text("code"):
                unusable.append(coding)
        text = node.text("text")
        if text is None and not codes and unusable:
            text = unusable[0].text("display") or unusable[0].text("code")
        for coding in unusable:
            self.note(coding.path, "a coding without a code system URI is not sent as a code")
        if not codes and text is None:
            return None
        return Concept(tuple(dict.fromkeys(codes)), text)

    def tokens(self, node: Node | None) -> tuple[tuple[str, str], ...]:
        """A CodeableConcept's codings as (system URI, code), systems normalised as codes are."""
        if node is None:
            return ()
        return tuple(
            (uri, code)
            for coding in node.all("coding")
            if (system := coding.text("system")) is not None
            and (code := coding.text("code")) is not None
            and (uri := self._system(system)) is not None
        )

    def _code(self, coding: Node) -> Code | None:
        system, code = coding.text("system"), coding.text("code")
        uri = self._system(system) if system is not None else None
        if uri is None or code is None:
            return None
        try:
            return Code(uri, code, coding.text("display"))
        except ValueError as exc:
            raise RecordRejected(str(exc), coding.path) from None

    def _system(self, name: str) -> str | None:
        if name not in self._systems:
            self._systems[name] = system_uri(name, self.profile)
        return self._systems[name]

    def when(self, node: Node | None, key: str) -> str | None:
        """The dateTime (or instant, or date) ``key``, keeping its precision.

        A time without a zone is read in the profile's timezone, if it has one.
        """
        if node is None:
            return None
        value = node.text(key)
        if value is None:
            return None
        if _LOCAL_TIME.fullmatch(value) and self.profile.timezone:
            value = _zoned(value, self.profile.timezone, node.at(key))
        try:
            return check_datetime(value, key)
        except ValueError as exc:
            raise RecordRejected(str(exc), node.at(key)) from None

    def start(self, node: Node, key: str) -> str | None:
        """``<key>DateTime``, else ``<key>Period.start`` (onset, effective, performed)."""
        return self.when(node, f"{key}DateTime") or self.when(node.get(f"{key}Period"), "start")

    def end(self, node: Node, key: str) -> str | None:
        """``<key>Period.end`` (effective, performed, timing)."""
        return self.when(node.get(f"{key}Period"), "end")

    def value(self, node: Node) -> Value | None:
        """An observation's or component's ``value[x]``, when the record can hold its type."""
        quantity = node.get("valueQuantity")
        if quantity is not None:
            return self._quantity(quantity)
        coded = node.get("valueCodeableConcept")
        if coded is not None:
            return self.concept(coded)
        text = node.text("valueString")
        if text is not None:
            return text
        count = node.integer("valueInteger")
        if count is not None:
            return count
        moment = self.when(node, "valueDateTime")  # an expected delivery date
        if moment is not None:
            return DateValue(moment)
        other = next((key for key in node.data if key in _OTHER_VALUES), None)
        if other is not None:
            self.note(node.at(other), f"{other} is not read: the record has no such value type")
        return None

    def _quantity(self, node: Node) -> Value | None:
        amount = node.decimal("value")
        if amount is None:
            return None
        comparator = node.text("comparator")  # "<0.5": below the limit of detection
        if comparator is not None and comparator not in _COMPARATORS:
            raise RecordRejected("not a FHIR quantity comparator", node.at("comparator"))
        unit, system, code = node.text("unit"), node.text("system"), node.text("code")
        try:
            return Quantity(amount, unit, system, code, cast(Comparator | None, comparator))
        except ValueError as exc:
            raise RecordRejected(str(exc), node.path) from None


def reference_range(observation: Node) -> str | None:
    """The observation's reference ranges as one text: each its ``text``, else its bounds
    (``3.5-5.1 mmol/L``, ``>=60``; FHIR bounds are inclusive). Several ranges are told apart
    by what they are for (their ``type`` and ``appliesTo``) and joined with ``; ``."""
    found = [
        (node, text)
        for node in observation.all("referenceRange")
        if (text := node.text("text") or _bounds(node)) is not None
    ]
    if len(found) > 1:
        found = [(node, _labelled(node, text)) for node, text in found]
    return "; ".join(text for _, text in found) or None


def _labelled(found: Node, text: str) -> str:
    label = _range_label(found)
    return f"{label}: {text}" if label else text


def _bounds(found: Node) -> str | None:
    low, high = _bound(found.get("low")), _bound(found.get("high"))
    if low is not None and high is not None:
        (low_amount, low_unit), (high_amount, high_unit) = low, high
        # "-2 to 3": a hyphen after a negative bound would read as a minus
        between = " to " if low_amount.startswith("-") or high_amount.startswith("-") else "-"
        if low_unit == high_unit:
            return _joined(f"{low_amount}{between}{high_amount}", low_unit)
        return _joined(low_amount, low_unit) + between + _joined(high_amount, high_unit)
    if low is not None:
        return _joined(f">={low[0]}", low[1])
    if high is not None:
        return _joined(f"<={high[0]}", high[1])
    return None


def _bound(quantity: Node | None) -> tuple[str, str | None] | None:
    """A bound's amount, with the digits written, and its unit."""
    if quantity is None:
        return None
    amount = quantity.decimal("value")
    if amount is None:
        return None
    return str(amount), quantity.text("unit") or quantity.text("code")


def _joined(amount: str, unit: str | None) -> str:
    return f"{amount} {unit}" if unit else amount


def _range_label(found: Node) -> str | None:
    labels = [
        label
        for concept in (found.get("type"), *found.all("appliesTo"))
        if concept is not None
        and (label := concept.text("text") or _coding_label(concept)) is not None
    ]
    return ", ".join(labels) or None


def _coding_label(concept: Node) -> str | None:
    for coding in concept.all("coding"):
        shown = coding.text("display") or coding.text("code")
        if shown is not None:
            return shown
    return None


def coded(node: Node | None, system: str) -> str | None:
    """The code of a status CodeableConcept: its first coding in ``system``, or without one."""
    if node is None:
        return None
    codings = node.all("coding")
    return next((c.text("code") for c in codings if c.text("system") in (system, None)), None)


def _zoned(value: str, timezone: str, where: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecordError(f"unknown timezone {timezone!r} in the profile", "profile") from None
    try:
        moment = datetime.fromisoformat(value).replace(tzinfo=zone)
    except ValueError:
        raise RecordRejected("a date or time that does not exist", where) from None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
