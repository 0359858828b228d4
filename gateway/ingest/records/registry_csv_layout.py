"""A registry CSV profile's ``mapping``, compiled: what the reader needs to find each value.

The loader has already checked the mapping against ``schemas/registry-csv.json``, so this
module only gives it types: a :class:`Layout` with the file's dialect, its date patterns, the
submission columns and one :class:`RowRule` per row type. A rule names the record list a row
goes to (or the column whose code table decides it) and, per list, which column fills which
field of the record's entry (``problems.onset`` <- ``event_date``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from gateway.domain.clinical_values import Comparator, NameUse
from gateway.errors import RecordError
from gateway.profiles.model import Profile

__all__ = [
    "CodeTable",
    "CodingRule",
    "ConceptRule",
    "DatePattern",
    "Dialect",
    "FieldRule",
    "Layout",
    "PatientRule",
    "RowRule",
    "ValueRule",
    "compile_layout",
]

PATIENT = "patient"
IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class Dialect:
    delimiter: str
    quote: str = '"'
    encoding: str = "utf-8"
    decimal_comma: bool = False


@dataclass(frozen=True, slots=True)
class CodeTable:
    """A column whose source codes stand for FHIR codes; None marks a code that says nothing."""

    column: str
    codes: Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class CodingRule:
    """One coding: the code's column, and its system (a URI, or a column naming the system)."""

    code: str
    system: str | None = None
    system_column: str | None = None
    display: str | None = None


@dataclass(frozen=True, slots=True)
class ConceptRule:
    codings: tuple[CodingRule, ...] = ()
    text: str | None = None


@dataclass(frozen=True, slots=True)
class ValueRule:
    """An observation's value: a number (with its unit), a coded value or a text.

    ``comparators`` are the prefixes a number may start with (``<0,5``), longest first so
    that ``<=`` is not read as ``<`` followed by ``=``.
    """

    number: str | None = None
    unit: str | None = None
    unit_system: str | None = None
    code: ConceptRule | None = None
    text: str | None = None
    comparators: tuple[tuple[str, Comparator], ...] = ()


# A field of a record entry: a column (a date or a text), a code table, a concept or a value.
FieldRule = str | CodeTable | ConceptRule | ValueRule


@dataclass(frozen=True, slots=True)
class PatientRule:
    identifiers: tuple[tuple[str, str], ...] = ()  # (column, system URI)
    family: str | None = None
    given: str | None = None
    given_separator: str | None = None
    name_use: NameUse | None = None
    birth_date: str | None = None
    gender: CodeTable | None = None
    address: Mapping[str, str] | None = None  # Address field -> column


@dataclass(frozen=True, slots=True)
class RowRule:
    """One row type: its record list (``target``) or the code table that picks it, and the
    field rules of each list it can go to."""

    target: str | None
    split: CodeTable | None
    fields: Mapping[str, Mapping[str, FieldRule]]
    patient: PatientRule | None = None


@dataclass(frozen=True, slots=True)
class DatePattern:
    text: str
    regex: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Layout:
    dialect: Dialect
    dates: tuple[DatePattern, ...]
    type_column: str
    submission_id: str
    submission_date: str | None
    author: str | None
    same_in_every_row: tuple[str, ...]
    rows: Mapping[str, RowRule]

    def columns(self) -> tuple[str, ...]:
        """Every column the mapping names, once, in the mapping's order."""
        return tuple(dict.fromkeys(self._columns()))

    def _columns(self) -> Iterator[str]:
        yield self.type_column
        yield self.submission_id
        yield from filter(None, (self.submission_date, self.author))
        yield from self.same_in_every_row
        for rule in self.rows.values():
            if rule.split is not None:
                yield rule.split.column
            if rule.patient is not None:
                yield from _patient_columns(rule.patient)
            for fields in rule.fields.values():
                for field_rule in fields.values():
                    yield from _rule_columns(field_rule)


def compile_layout(profile: Profile) -> Layout:
    """The typed form of ``profile.mapping``.

    :raises RecordError: (location ``profile``) for a mapping the schema lets through but the
        reader cannot follow: a date pattern without its larger parts, a row type that can go
        to a record list it gives no fields for.
    """
    mapping = profile.mapping
    csv = mapping["csv"]
    submission = mapping["submission"]
    return Layout(
        dialect=Dialect(
            delimiter=csv["delimiter"],
            quote=csv.get("quote", '"'),
            encoding=csv.get("encoding", "utf-8"),
            decimal_comma=csv.get("decimal_comma", False),
        ),
        dates=tuple(date_pattern(text) for text in mapping["dates"]),
        type_column=mapping["type_column"],
        submission_id=submission["id"],
        submission_date=submission.get("date"),
        author=submission.get("author"),
        same_in_every_row=tuple(submission.get("same_in_every_row", ())),
        rows={str(name): _row_rule(str(name), rule) for name, rule in mapping["rows"].items()},
    )


# --- date patterns ----------------------------------------------------------------------------

_DATE_PARTS = {
    "YYYY": r"(?P<year>\d{4})",
    "MM": r"(?P<month>\d{1,2})",
    "DD": r"(?P<day>\d{1,2})",
    "hh": r"(?P<hour>\d{1,2})",
    "mm": r"(?P<minute>\d{2})",
    "ss": r"(?P<second>\d{2})",
}
_PART = re.compile("|".join(_DATE_PARTS))
# Each part needs the larger ones: a day without a month is no date FHIR can write.
_NEEDS = {"MM": "YYYY", "DD": "MM", "hh": "DD", "mm": "hh", "ss": "mm"}


@lru_cache(maxsize=64)
def date_pattern(text: str) -> DatePattern:
    """``DD/MM/YYYY`` and the like as a regular expression with named parts."""
    parts = _PART.findall(text)
    missing = [part for part in parts if _NEEDS.get(part, part) not in parts]
    if len(set(parts)) != len(parts) or missing:
        raise RecordError(f"date pattern {text!r} repeats a part or lacks a larger one", "profile")
    pieces, end = [], 0
    for match in _PART.finditer(text):
        pieces += [re.escape(text[end : match.start()]), _DATE_PARTS[match.group()]]
        end = match.end()
    pieces.append(re.escape(text[end:]))
    return DatePattern(text, re.compile("".join(pieces)))


# --- rules ------------------------------------------------------------------------------------


def _row_rule(name: str, raw: Mapping[str, Any]) -> RowRule:
    record = raw["record"]
    split = _code_table(record) if isinstance(record, Mapping) else None
    if split is None:
        targets = {str(record)}
    else:
        targets = {target for target in split.codes.values() if target is not None}
    facts = sorted(targets - {PATIENT, IGNORE})
    missing = [target for target in facts if target not in raw]
    if PATIENT in targets and PATIENT not in raw:
        missing.append(PATIENT)
    if missing:
        wanted = ", ".join(missing)
        raise RecordError(f"row type {name!r} gives no fields for {wanted}", "profile")
    return RowRule(
        target=None if split is not None else str(record),
        split=split,
        fields={
            target: {key: _field_rule(key, value) for key, value in raw[target].items()}
            for target in facts
        },
        patient=_patient_rule(raw[PATIENT]) if PATIENT in targets else None,
    )


def _patient_rule(raw: Mapping[str, Any]) -> PatientRule:
    gender = raw.get("gender")
    return PatientRule(
        identifiers=tuple((i["column"], i["system"]) for i in raw.get("identifiers", ())),
        family=raw.get("family"),
        given=raw.get("given"),
        given_separator=raw.get("given_separator"),
        name_use=raw.get("name_use"),
        birth_date=raw.get("birth_date"),
        gender=_code_table(gender) if gender is not None else None,
        address=dict(raw["address"]) if "address" in raw else None,
    )


# Which kind of rule each entry field takes (the schema fixes the shapes); others are columns.
_CONCEPT_FIELDS = frozenset(
    {"code", "medication", "severity", "body_site", "route", "interpretation"}
)
_TABLE_FIELDS = frozenset({"clinical_status", "verification", "status"})


def _field_rule(name: str, raw: Any) -> FieldRule:
    if name == "value":
        return _value_rule(raw)
    if name in _CONCEPT_FIELDS:
        return _concept_rule(raw)
    if name in _TABLE_FIELDS:
        return _code_table(raw)
    return str(raw)


def _code_table(raw: Mapping[str, Any]) -> CodeTable:
    return CodeTable(raw["column"], {str(k): v for k, v in raw["codes"].items()})


def _concept_rule(raw: Mapping[str, Any]) -> ConceptRule:
    return ConceptRule(
        codings=tuple(
            CodingRule(c["code"], c.get("system"), c.get("system_column"), c.get("display"))
            for c in raw.get("codings", ())
        ),
        text=raw.get("text"),
    )


def _value_rule(raw: Mapping[str, Any]) -> ValueRule:
    code = raw.get("code")
    return ValueRule(
        number=raw.get("number"),
        unit=raw.get("unit"),
        unit_system=raw.get("unit_system"),
        code=_concept_rule(code) if code is not None else None,
        text=raw.get("text"),
        comparators=tuple(
            sorted(raw.get("comparators", {}).items(), key=lambda item: -len(item[0]))
        ),
    )


def _patient_columns(rule: PatientRule) -> Iterator[str]:
    yield from (column for column, _ in rule.identifiers)
    yield from filter(None, (rule.family, rule.given, rule.birth_date))
    if rule.gender is not None:
        yield rule.gender.column
    if rule.address is not None:
        yield from rule.address.values()


def _rule_columns(rule: FieldRule) -> Iterator[str]:
    if isinstance(rule, str):
        yield rule
    elif isinstance(rule, CodeTable):
        yield rule.column
    elif isinstance(rule, ConceptRule):
        for coding in rule.codings:
            yield from filter(None, (coding.code, coding.system_column, coding.display))
        yield from filter(None, (rule.text,))
    else:
        yield from filter(None, (rule.number, rule.unit, rule.text))
        if rule.code is not None:
            yield from _rule_columns(rule.code)
