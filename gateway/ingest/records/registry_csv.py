"""Registry CSV exports -> the neutral record (format ``registry-csv``).

A registry export is one CSV file per submission about one patient, one row per fact; a type
column says what each row is (``patient``, ``diagnosis``, ``treatment``, ``lab`` in the
Belgian cancer registry's export). The profile's ``mapping`` gives the dialect (delimiter,
quote, encoding, decimal comma), the date patterns, the submission columns, and per row type
the record list it fills (or the column whose code table picks one, as a treatment kind picks
procedures or medications) with the column behind each field. See ``profiles/README.md``.

The reading, in order: decode (a BOM wins over the profile's encoding); parse with
:mod:`csv`; refuse a header that lacks a column the mapping names; type every row (an unknown
type is a :class:`RecordError` naming its line); find exactly one patient row; check the
columns that must be the same in every row (one submission, one patient per file); read each
fact row into its list. The Reading's key is ``registry:<submission id>`` and the record's
``source_date`` is the submission date, so a newer submission supersedes an older one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.domain.records import Organization, PatientRecord
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.registry_csv_cells import Cells, Context
from gateway.ingest.records.registry_csv_entries import entry, patient
from gateway.ingest.records.registry_csv_layout import (
    IGNORE,
    PATIENT,
    Layout,
    RowRule,
    compile_layout,
)
from gateway.ingest.records.registry_csv_table import read_table
from gateway.ingest.records.text import decode_text
from gateway.profiles.model import Finding, Profile

__all__ = ["KEY_PREFIX", "read_registry_csv"]

KEY_PREFIX = "registry:"

TypedRow = tuple[Cells, RowRule]


def read_registry_csv(data: bytes, profile: Profile) -> Reading:
    """Read one registry submission file with ``profile``.

    :raises RecordError: for a file that is not the profile's CSV layout: bad encoding, bad
        quoting, a wrong delimiter, missing header columns, ragged rows, an unknown row type
        or treatment kind, a NUL character, a cell over the CSV size limit.
    :raises RecordRejected: for a readable file that breaks a rule: no patient row or two,
        no submission id, a row about another submission or patient, an impossible date, a
        non-numeric value, a fact with neither code nor text.
    """
    layout = compile_layout(profile)
    table = read_table(decode_text(data, layout.dialect.encoding), layout.dialect)
    table.require(layout.columns())
    findings: list[Finding] = []
    context = Context(table.columns, layout, profile, findings)
    typed = [_typed(Cells(row, context), layout) for row in table.rows]
    patient_row, patient_rule = _patient_row(typed, layout)
    key = KEY_PREFIX + _submission_id(patient_row, layout)
    _check_same_in_every_row(typed, patient_row, layout)
    lists: dict[str, list[Any]] = defaultdict(list)
    for cells, rule in typed:
        target = _target(cells, rule)
        if target not in (PATIENT, IGNORE):
            lists[target].append(entry(target, rule.fields[target], cells))
    record = _record(patient_row, patient_rule, layout, lists)
    return Reading(record, key, tuple(findings))


def _typed(cells: Cells, layout: Layout) -> TypedRow:
    kind = cells.text(layout.type_column)
    rule = layout.rows.get(kind) if kind is not None else None
    if rule is None:
        # The cell is not quoted: in a misaligned file it may hold patient data.
        known = ", ".join(layout.rows)
        state = "is empty" if kind is None else "is not a row type of the profile"
        raise RecordError(f"{layout.type_column} {state} ({known})", f"line {cells.line}")
    return cells, rule


def _target(cells: Cells, rule: RowRule) -> str:
    if rule.split is None:
        assert rule.target is not None  # compile_layout sets one of the two
        return rule.target
    kind = cells.text(rule.split.column)
    target = rule.split.codes.get(kind) if kind is not None else None
    if target is None:
        known = ", ".join(rule.split.codes)
        state = "is empty" if kind is None else "is not in the profile's table"
        raise RecordError(f"{rule.split.column} {state} ({known})", cells.where(rule.split.column))
    return target


def _patient_row(typed: list[TypedRow], layout: Layout) -> TypedRow:
    found = [(cells, rule) for cells, rule in typed if rule.target == PATIENT]
    if not found:
        raise RecordRejected("the file has no patient row", f"column {layout.type_column}")
    if len(found) > 1:
        first = found[0][0].line
        raise RecordRejected(
            f"a second patient row (the first is on line {first}): a file is about one patient",
            f"line {found[1][0].line}",
        )
    return found[0]


def _check_same_in_every_row(typed: list[TypedRow], patient_row: Cells, layout: Layout) -> None:
    expected = {column: patient_row.text(column) for column in layout.same_in_every_row}
    for cells, _ in typed:
        for column, value in expected.items():
            found = cells.text(column)
            if found is not None and found != value:
                raise RecordRejected(
                    f"{column} differs from the patient row's: a file holds one submission "
                    "about one patient",
                    cells.where(column),
                )


def _submission_id(patient_row: Cells, layout: Layout) -> str:
    value = patient_row.text(layout.submission_id)
    if value is None:
        raise RecordRejected(
            "the patient row has no submission id", patient_row.where(layout.submission_id)
        )
    return value


def _record(
    patient_row: Cells, rule: RowRule, layout: Layout, lists: dict[str, list[Any]]
) -> PatientRecord:
    assert rule.patient is not None  # _patient_row picks a rule with patient fields
    author = patient_row.text(layout.author)
    entries: dict[str, Any] = {name: tuple(items) for name, items in lists.items()}
    try:
        return PatientRecord(
            patient=patient(rule.patient, patient_row),
            author=Organization(author) if author is not None else None,
            source_date=patient_row.date(layout.submission_date),
            **entries,
        )
    except ValueError as exc:
        raise RecordRejected(str(exc), f"line {patient_row.line}") from None
