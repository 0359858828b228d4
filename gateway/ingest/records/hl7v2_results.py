"""ORU^R01 results: each OBX under its OBR becomes an observation, in the record list the
profile's ``by_code`` table names for its OBX-3 code (``http://loinc.org|11778-8``: pregnancy),
else in its ``list``.

OBX-3 is the code, OBX-5 the value read as OBX-2's value type says (the profile maps each v2
type to a kind: number, structured number, text, coded, date/time), OBX-6 the unit (UCUM when
its coding system is), OBX-7 the reference range as the laboratory wrote it, OBX-8 the
interpretation, OBX-11 the status (through the profile's table), and the effective time is the
first of the profile's ``effective`` fields that has one (OBX-14, then the OBR's). NTE
segments after an OBX are its note.

A structured numeric (SN) that is a number with a comparator (``<^5``) is a quantity with that
comparator; a range (``10^-^20``), a ratio (``1^:^128``) or the ``<>`` comparator, which FHIR
quantities cannot say, stays text with its unit. A date or time value (DT, TS, DTM) is a date
value: in the pregnancy section, an expected delivery date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

from gateway.domain.clinical_values import Comparator
from gateway.domain.records import (
    UCUM,
    Code,
    Concept,
    DateValue,
    Observation,
    ObservationStatus,
    Quantity,
    Value,
)
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records.hl7v2_mapping import Hl7v2Mapping, ValueKind
from gateway.ingest.records.hl7v2_message import Rep, Segment, V2Message, part
from gateway.ingest.records.hl7v2_types import concept, fhir_datetime
from gateway.profiles.codesystems import system_uri
from gateway.profiles.model import Finding, Profile

__all__ = ["order_key", "read_results"]

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_COMPARATORS = frozenset({"", "=", "<", ">", "<=", ">=", "<>"})  # SN-1, HL7 v2.5 §2.A.74
_QUANTITY_COMPARATORS: dict[str, Comparator] = {"<": "<", "<=": "<=", ">=": ">=", ">": ">"}
# HL7 table 0078 codes that v3 ObservationInterpretation has under the same code (v2-to-FHIR
# ConceptMap); any other code keeps its v2 table.
_V3_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_V2_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v2-0078"
_SAME_CODES = (
    "< > A AA B CAR D DET E EX EXP H HH HU I IE IND L LL LU N NCL ND NEG NR NS POS R RR S SDD "
    "SYN-R SYN-S U UNE W WR"
)
_SAME_IN_V3 = frozenset(_SAME_CODES.split())


def order_key(message: V2Message) -> str:
    """``oru:`` and the first OBR's filler order number (OBR-3), else its placer's (OBR-2),
    written ``number^namespace`` when the number names its namespace.

    :raises RecordError: for a message with no OBR.
    :raises RecordRejected: when the first OBR has neither number.
    """
    obr = message.first("OBR")
    if obr is None:
        raise RecordError("the results message has no OBR: no order to file them under", "OBR")
    for field in (3, 2):
        number, namespace = obr.value(field), obr.value(field, 2)
        if number:
            return f"oru:{number}^{namespace}" if namespace else f"oru:{number}"
    raise RecordRejected(
        "the first OBR has neither a filler (OBR-3) nor a placer (OBR-2) order number",
        obr.where(3),
    )


def read_results(
    message: V2Message, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> dict[str, tuple[Observation, ...]]:
    """Every OBX of the message that the profile reads, by record list, in message order."""
    lists: dict[str, list[Observation]] = {}
    for observation in _observations(message, mapping, profile, found):
        lists.setdefault(_list_for(observation, mapping), []).append(observation)
    return {name: tuple(items) for name, items in lists.items()}


def _list_for(observation: Observation, mapping: Hl7v2Mapping) -> str:
    for coding in observation.code.codings:
        target = mapping.result_lists.get(f"{coding.system}|{coding.code}")
        if target is not None:
            return target
    return mapping.result_list


def _observations(
    message: V2Message, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> Iterator[Observation]:
    obr: Segment | None = None
    current: Observation | None = None
    notes: list[str] = []
    for segment in message.segments:
        if segment.name == "NTE" and current is not None:
            notes += _lines(segment, 3)
            continue
        if segment.name not in ("OBR", "OBX"):
            continue
        if current is not None:
            yield _with_notes(current, notes)
        current, notes = None, []
        if segment.name == "OBR":
            obr = segment
        else:
            current = _observation(segment, obr, mapping, profile, found)
    if current is not None:
        yield _with_notes(current, notes)


def _with_notes(observation: Observation, notes: list[str]) -> Observation:
    return replace(observation, note="\n".join(notes)) if notes else observation


def _observation(
    obx: Segment,
    obr: Segment | None,
    mapping: Hl7v2Mapping,
    profile: Profile,
    found: list[Finding],
) -> Observation | None:
    status_code = obx.value(11).upper()
    if status_code in mapping.left_out:
        found.append(Finding(obx.where(11), f"result status {status_code}: left out"))
        return None
    codes = obx.field(3)
    code = concept(codes[0], profile, obx.where(3), found) if codes else None
    if code is None:
        found.append(Finding(obx.where(3), "the observation has no code: left out"))
        return None
    value_type = obx.value(2).upper()
    kind = mapping.value_types.get(value_type)
    if obx.field(5) and kind is None:
        shown = value_type or "(none)"
        found.append(Finding(obx.where(2), f"value type {shown} is not read: left out"))
        return None
    try:
        return Observation(
            code,
            value=_value(obx, kind, profile, found) if kind is not None else None,
            effective=_effective(obx, obr, mapping, profile),
            status=_status(obx, status_code, mapping, found),
            interpretation=_interpretation(obx),
            reference_range=obx.value(7) or None,
        )
    except ValueError as exc:
        raise RecordRejected(str(exc), obx.label) from None


def _status(
    obx: Segment, code: str, mapping: Hl7v2Mapping, found: list[Finding]
) -> ObservationStatus:
    if not code:
        return "unknown"
    status = mapping.statuses.get(code)
    if status is None:
        found.append(Finding(obx.where(11), f"result status {code} is not in the profile: unknown"))
    return status or "unknown"


def _effective(
    obx: Segment, obr: Segment | None, mapping: Hl7v2Mapping, profile: Profile
) -> str | None:
    for ref in mapping.effective:
        segment = obx if ref.segment == "OBX" else obr
        if segment is not None and (stamp := segment.value(ref.field)):
            return fhir_datetime(stamp, profile, segment.where(ref.field))
    return None


def _interpretation(obx: Segment) -> Concept | None:
    code = obx.value(8).upper()
    if not code:
        return None
    system = _V3_INTERPRETATION if code in _SAME_IN_V3 else _V2_INTERPRETATION
    return Concept((Code(system, code),))


# --- values -----------------------------------------------------------------------------------


def _value(obx: Segment, kind: ValueKind, profile: Profile, found: list[Finding]) -> Value | None:
    reps, where = obx.field(5), obx.where(5)
    if not reps:
        return None
    if kind == "text":
        return "\n".join(_lines(obx, 5)) or None
    if len(reps) > 1:
        raise RecordRejected("the value repeats: one observation holds one value", where)
    rep = reps[0]
    if kind == "coded":
        return concept(rep, profile, where, found)
    if kind == "datetime":
        moment = fhir_datetime(part(rep, 1), profile, where)
        return None if moment is None else DateValue(moment)
    if kind == "number":
        return _quantity(_decimal(part(rep, 1), where), obx, profile)
    return _structured(rep, obx, profile, where)


def _structured(rep: Rep, obx: Segment, profile: Profile, where: str) -> Value:
    """An SN: a number, or a number with a comparator (``<^5``), is a quantity; a range or
    ratio (``10^-^20``, ``1^:^128``) and ``<>`` stay text, as FHIR quantities cannot say them."""
    comparator, first, separator, second = (part(rep, n) for n in (1, 2, 3, 4))
    if comparator not in _COMPARATORS or not first:
        raise RecordRejected("not a structured numeric (comparator^number^separator^number)", where)
    number = _decimal(first, where)
    if second:
        _decimal(second, where)
    if not separator and not second and comparator != "<>":
        return _quantity(number, obx, profile, _QUANTITY_COMPARATORS.get(comparator))
    unit = _unit_text(obx)
    text = f"{comparator}{first}{separator}{second}"
    return f"{text} {unit}" if unit else text


def _decimal(text: str, where: str) -> Decimal:
    if not _NUMBER.fullmatch(text):
        raise RecordRejected("the value is not a number", where)
    return Decimal(text)


def _quantity(
    value: Decimal, obx: Segment, profile: Profile, comparator: Comparator | None = None
) -> Quantity:
    units = obx.field(6)
    if not units:
        return Quantity(value, comparator=comparator)
    code, text, system = (part(units[0], n) for n in (1, 2, 3))
    if code and system and system_uri(system, profile) == UCUM:
        return Quantity(value, text or code, UCUM, code, comparator)
    return Quantity(value, text or code or None, comparator=comparator)


def _unit_text(obx: Segment) -> str:
    units = obx.field(6)
    return (part(units[0], 2) or part(units[0], 1)) if units else ""


def _lines(segment: Segment, field: int) -> list[str]:
    # TX, FT and NTE-3 repeat a line at a time; a stray component separator splits a line.
    return [
        text for rep in segment.field(field) if (text := " ".join(c[0] for c in rep if c and c[0]))
    ]
