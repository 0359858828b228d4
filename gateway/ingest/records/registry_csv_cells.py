"""One row's cells as record values: texts, dates, numbers, coded values and concepts.

A :class:`Cells` reads a row through the compiled layout: an empty (or blank) cell is an
absent value; a date must match one of the profile's patterns and exist; a number uses the
profile's decimal separator and may start with one of the profile's comparators (``<0,5``
below a detection limit: the quantity keeps the comparator); a code table turns a source code
into a FHIR code. A value that breaks a rule raises :class:`RecordRejected` at ``line N,
column C``; a source code that the profile's tables do not know is reported as a
:class:`Finding` and left out (codes and code system names are not quoted: a misaligned file
would put patient data in those cells).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from gateway.domain.clinical_values import Comparator
from gateway.domain.records import Code, Concept, Quantity, Value
from gateway.errors import RecordRejected
from gateway.ingest.records.registry_csv_layout import (
    CodeTable,
    ConceptRule,
    Layout,
    ValueRule,
)
from gateway.ingest.records.registry_csv_table import SourceRow
from gateway.ingest.records.text import hl7_datetime
from gateway.profiles.codesystems import system_uri
from gateway.profiles.model import Finding, Profile

__all__ = ["Cells", "Context"]

_POINT_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_COMMA_NUMBER = re.compile(r"[+-]?\d+(,\d+)?")


@dataclass(frozen=True, slots=True)
class Context:
    """What every row of one file is read with; ``findings`` collects the warnings."""

    columns: Mapping[str, int]
    layout: Layout
    profile: Profile
    findings: list[Finding]


class Cells:
    """The cells of one row, read as record values."""

    __slots__ = ("_cells", "_context", "line")

    def __init__(self, row: SourceRow, context: Context) -> None:
        self._cells = row.cells
        self._context = context
        self.line = row.line

    def where(self, column: str) -> str:
        return f"line {self.line}, column {column}"

    def text(self, column: str | None) -> str | None:
        """The cell's text without surrounding blanks; None for an empty cell or no column."""
        if column is None:
            return None
        value = self._cells[self._context.columns[column]].strip()
        return value or None

    def date(self, column: str | None) -> str | None:
        """The cell as a FHIR date or dateTime, at the precision its pattern gives.

        :raises RecordRejected: when no pattern of the profile matches, or for a day or a
            time that does not exist.
        """
        value = self.text(column)
        if value is None or column is None:
            return None
        for pattern in self._context.layout.dates:
            match = pattern.regex.fullmatch(value)
            if match is not None:
                return hl7_datetime(
                    _timestamp(match), self._context.profile.timezone, self.where(column)
                )
        formats = ", ".join(p.text for p in self._context.layout.dates)
        raise RecordRejected(f"not a date in the profile's formats ({formats})", self.where(column))

    def quantity(self, rule: ValueRule) -> Quantity | None:
        """The number cell as a quantity, with its comparator and its unit.

        :raises RecordRejected: for a cell that is not a decimal number in the profile's
            notation (after one of its comparators, if it has any).
        """
        value = self.text(rule.number)
        if value is None or rule.number is None:
            return None
        comparator, digits = _comparator(value, rule.comparators)
        comma = self._context.layout.dialect.decimal_comma
        if not (_COMMA_NUMBER if comma else _POINT_NUMBER).fullmatch(digits):
            raise RecordRejected(_not_a_number(comma, rule), self.where(rule.number))
        try:
            number = Decimal(digits.replace(",", "."))
        except InvalidOperation:  # the pattern above should leave none
            raise RecordRejected("not a number", self.where(rule.number)) from None
        unit = self.text(rule.unit)
        coded = unit is not None and rule.unit_system is not None
        try:
            return Quantity(
                number,
                unit=unit,
                system=rule.unit_system if coded else None,
                code=unit if coded else None,
                comparator=comparator,
            )
        except ValueError as exc:
            raise RecordRejected(str(exc), self.where(rule.number)) from None

    def coded(self, table: CodeTable, what: str) -> str | None:
        """The FHIR code the profile's table gives the cell; None (with a finding when the
        table does not know the code) otherwise."""
        value = self.text(table.column)
        if value is None:
            return None
        if value not in table.codes:
            self._warn(table.column, f"a code not in the profile's {what} table: left out")
            return None
        return table.codes[value]

    def concept(self, rule: ConceptRule) -> Concept | None:
        """The row's concept: a coding per filled code cell, and the original text.

        A code whose system the profile cannot name is kept as text, with a finding.

        :raises RecordRejected: for a code FHIR cannot carry (inner runs of blanks).
        """
        codings: list[Code] = []
        kept_as_text: list[str] = []
        for coding in rule.codings:
            code = self.text(coding.code)
            if code is None:
                continue
            display = self.text(coding.display)
            system = coding.system or self._system(coding.system_column)
            if system is None:
                self._warn(coding.code, "code system not known to the profile: code kept as text")
                kept_as_text.append(display or code)
                continue
            try:
                codings.append(Code(system, code, display))
            except ValueError as exc:
                raise RecordRejected(str(exc), self.where(coding.code)) from None
        text = self.text(rule.text) or (" / ".join(kept_as_text) if kept_as_text else None)
        if not codings and text is None:
            return None
        return Concept(tuple(codings), text)

    def value(self, rule: ValueRule) -> Value | None:
        """An observation's value: a quantity, a coded value or a text, from whichever of
        those cells is filled.

        :raises RecordRejected: when more than one is, or the number is not a number.
        """
        filled = [c for c in (rule.number, rule.text) if c is not None and self.text(c)]
        coded = self.concept(rule.code) if rule.code is not None else None
        if len(filled) + (coded is not None) > 1:
            columns = [*filled, *(["coded value"] if coded is not None else [])]
            raise RecordRejected(
                f"the row gives more than one value ({', '.join(columns)})", f"line {self.line}"
            )
        if coded is not None:
            return coded
        quantity = self.quantity(rule)
        return quantity if quantity is not None else self.text(rule.text)

    def _system(self, column: str | None) -> str | None:
        name = self.text(column)
        return system_uri(name, self._context.profile) if name is not None else None

    def _warn(self, column: str, message: str) -> None:
        self._context.findings.append(Finding(self.where(column), message))


def _comparator(
    value: str, comparators: tuple[tuple[str, Comparator], ...]
) -> tuple[Comparator | None, str]:
    """The comparator ``value`` starts with (the longest prefix wins) and the rest of it."""
    for prefix, comparator in comparators:
        if value.startswith(prefix):
            return comparator, value[len(prefix) :].lstrip()
    return None, value


def _not_a_number(comma: bool, rule: ValueRule) -> str:
    separator = "a decimal comma" if comma else "a decimal point"
    if not rule.comparators:
        return f"not a number (digits with {separator})"
    prefixes = ", ".join(prefix for prefix, _ in rule.comparators)
    return f"not a number (digits with {separator}, optionally after {prefixes})"


def _timestamp(match: re.Match[str]) -> str:
    """A matched date pattern as an HL7 timestamp (``YYYYMMDDhhmmss``), for the shared
    converter to check and to place in the profile's timezone."""
    parts = match.groupdict()
    digits = [parts["year"]]
    for name in ("month", "day", "hour", "minute", "second"):
        if parts.get(name) is None:
            break
        digits.append(f"{int(parts[name]):02d}")
    return "".join(digits)
