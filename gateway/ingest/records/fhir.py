"""The national FHIR reader: a FHIR R4 Patient, or a Bundle of the Patient and its clinical
resources, in FHIR JSON or FHIR XML, to a neutral record (German ISiK, Dutch zib/nl-core, ...).

The first byte after an optional BOM and blanks says the format (``<`` XML, else JSON); both
become the same tree (:mod:`~gateway.ingest.records.fhir_json`,
:mod:`~gateway.ingest.records.fhir_xml`), which the rest reads. The profile's ``mapping``
(``gateway/profiles/schemas/fhir.json``) says which resources, by type, category and code, fill
which record list (pregnancy observations carry no category of their own: their LOINC codes
pick them), which identifiers and names of the Patient are read, and which national extensions
carry name parts and country codes. Identifier checks, ConceptMaps and unmapped-code findings
are the engine's (:func:`~gateway.profiles.engine.apply_profile`).

The reading's ``key`` is the Patient's (``Patient/<id>``) for a Patient alone, else the
Bundle's identifier (``Bundle/<system>|<value>``) or id (``Bundle/<id>``); its ``source_date``
is the last change the source states: ``meta.lastUpdated`` of the Patient alone, else of the
Bundle, else the Bundle's ``timestamp``, else the Patient's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from gateway.domain.records import Identifier, Organization, PatientRecord
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.fhir_bundle import Contents, Entry, contents_of
from gateway.ingest.records.fhir_clinical import READERS, SUBJECT, abated
from gateway.ingest.records.fhir_json import parse_fhir_json
from gateway.ingest.records.fhir_mapping import FhirMapping, Token
from gateway.ingest.records.fhir_patient import read_patient
from gateway.ingest.records.fhir_tree import Node
from gateway.ingest.records.fhir_values import Context
from gateway.ingest.records.fhir_xml import parse_fhir_xml
from gateway.profiles.model import Profile

__all__ = ["read_fhir"]

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
_BLANKS = re.compile(rb"[ \t\r\n]*")
_TYPE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")
# Resource types whose category decides the rule (CodeableConcept categories); rules may pick
# these two by code as well.
_CATEGORISED = frozenset({"Condition", "Observation"})


def read_fhir(data: bytes, profile: Profile) -> Reading:
    """Read one national FHIR record with ``profile``.

    :raises RecordError: for input that is not FHIR JSON or XML, or not a Patient or a Bundle
        (with the line, or the FHIRPath, of the problem).
    :raises RecordRejected: for readable input a summary cannot be made of: no Patient or two,
        no name, an impossible date, a status FHIR does not have.
    """
    tree = _parse(data)
    kind = tree.get("resourceType")
    root = Node(tree, kind if isinstance(kind, str) and _TYPE_NAME.fullmatch(kind) else "$")
    contents = contents_of(root)
    mapping = FhirMapping.of(profile)
    context = Context(profile, contents)
    patient = contents.patient.resource
    person = read_patient(patient, mapping.patient, context)
    lists = _clinical(contents, mapping, context)
    try:
        record = PatientRecord(
            patient=person,
            custodian=_custodian(patient, contents),
            source_date=_source_date(root, patient, context),
            language=root.text("language") or patient.text("language"),
            **lists,
        )
    except ValueError as exc:
        raise RecordRejected(str(exc), root.path) from None
    return Reading(record, _key(root, contents.patient), tuple(context.findings))


def _parse(data: bytes) -> dict[str, Any]:
    for bom, encoding in _UTF16_BOMS.items():
        if data.startswith(bom):
            head = data[len(bom) : len(bom) + 64].decode(encoding, errors="ignore").lstrip()
            return parse_fhir_xml(data) if head.startswith("<") else parse_fhir_json(data)
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    first = _BLANKS.match(data, start)
    position = first.end() if first is not None else start
    if position >= len(data):
        raise RecordError("the input is empty", "line 1")
    if data[position : position + 1] == b"<":
        return parse_fhir_xml(data)
    return parse_fhir_json(data)


def _clinical(contents: Contents, mapping: FhirMapping, context: Context) -> dict[str, Any]:
    """Each record list the profile's rules fill, from the resources about the patient."""
    lists: defaultdict[str, list[Any]] = defaultdict(list)
    read_types, coded_types = mapping.resource_types, mapping.coded_types
    for entry in contents.entries:
        kind = entry.resource_type
        if kind not in read_types:  # Medication, Device, Organization, Encounter, ...
            continue
        node = entry.resource
        categories = _categories(node) if kind in _CATEGORISED else ()
        codes = context.tokens(node.get("code")) if kind in coded_types else ()
        rule = mapping.rule_for(kind, categories, codes)
        if rule is None:
            shown = ", ".join(sorted(f"{s}|{c}" for s, c in categories)) or "none"
            context.note(node.path, f"{kind} of category {shown}: no rule of the profile reads it")
            continue
        if not _about_patient(entry, contents, context):
            continue
        try:
            item = READERS[kind](node, context)
        except ValueError as exc:  # a record statement refused what FHIR did not allow either
            raise RecordRejected(str(exc), node.path) from None
        if item is not None:
            lists[rule.abated if rule.abated and abated(item) else rule.target].append(item)
    return {name: tuple(items) for name, items in lists.items()}


def _categories(node: Node) -> tuple[Token, ...]:
    return tuple(
        (system, code)
        for category in node.all("category")
        for coding in category.all("coding")
        if (system := coding.text("system")) is not None
        and (code := coding.text("code")) is not None
    )


def _about_patient(entry: Entry, contents: Contents, context: Context) -> bool:
    # A resource about someone else must never reach this patient's summary.
    node = entry.resource
    reference = node.get(SUBJECT[entry.resource_type])
    if reference is None:
        context.note(node.path, f"{entry.resource_type} names no patient: not read")
        return False
    if not contents.is_patient(reference):
        context.note(reference.path, "not the Bundle's Patient: the resource is not read")
        return False
    return True


def _custodian(patient: Node, contents: Contents) -> Organization | None:
    """The Patient's managing organisation, found in the input or named by the reference."""
    reference = patient.get("managingOrganization")
    target = contents.resolve(reference, patient)
    name = target.text("name") if target is not None else None
    if target is not None and name is not None:
        ids = tuple(
            Identifier(system, value)
            for identifier in target.all("identifier")
            if (system := identifier.text("system")) is not None
            and (value := identifier.text("value")) is not None
        )
        return Organization(name, ids)
    display = reference.text("display") if reference is not None else None
    return Organization(display) if display is not None else None


def _source_date(root: Node, patient: Node, context: Context) -> str | None:
    if root is patient:
        return context.when(patient.get("meta"), "lastUpdated")
    return (
        context.when(root.get("meta"), "lastUpdated")
        or context.when(root, "timestamp")
        or context.when(patient.get("meta"), "lastUpdated")
    )


def _key(root: Node, patient: Entry) -> str:
    if root is not patient.resource:
        identifier = root.get("identifier")
        system = identifier.text("system") if identifier is not None else None
        value = identifier.text("value") if identifier is not None else None
        if system is not None and value is not None:
            return f"Bundle/{system}|{value}"
        if root.text("id") is not None:
            return f"Bundle/{root.text('id')}"
    node = patient.resource
    if node.text("id") is not None:
        return f"Patient/{node.text('id')}"
    for identifier in node.all("identifier"):
        system, value = identifier.text("system"), identifier.text("value")
        if system is not None and value is not None:
            return f"Patient/{system}|{value}"
    raise RecordRejected("the record has no id or identifier to be known by", node.at("id"))
