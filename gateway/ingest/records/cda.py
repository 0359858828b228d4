"""The eHDSI CDA Level 3 Patient Summary reader (format ``ehdsi-cda``).

An eHDSI (MyHealth@EU) or epSOS patient summary is a CDA R2 ``ClinicalDocument``
(``reference/national-records.md`` §1): a header naming the patient, author and custodian, and
a structured body of sections, each with a narrative ``text`` and coded ``entry`` elements. The
profile's ``mapping`` says which documents are patient summaries, which section (by LOINC code
or templateId) fills which record list, and what the source's status and gender codes mean;
this module walks the document and hands each section's entries to the reader of its list:

- problems, past problems, functional status, allergies: :mod:`.cda_conditions`
- medications, immunizations: :mod:`.cda_medications`
- procedures, devices: :mod:`.cda_procedures`
- results, vital signs, pregnancy, social history: :mod:`.cda_observations`
- advance directives, and sections the profile keeps as text: the narrative, as notes.

The reading's key is the ``setId`` (the same across a document's versions), else the ``id``;
the record's source date is the document's ``effectiveTime``.

Not read, each with a finding where the source had it: an observation value given as a range
with two bounds (the record has no Range; one bound is a quantity with a comparator), reference
ranges after the first, entries of advance directives (their narrative is kept), entries of the
wrong kind for their section, and sections the profile does not name. Never read: the qualifiers
of name parts (a birth name ``family qualifier="BR"``), persons (authors, performers), and the
structured dose (the narrative, or the dose written out, is the dosage text).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gateway.domain.records import Note, PatientRecord
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.cda_conditions import allergies, problems
from gateway.ingest.records.cda_header import (
    document_key,
    language,
    organisations,
    patient,
    source_date,
)
from gateway.ingest.records.cda_mapping import SectionRule, mapping_of
from gateway.ingest.records.cda_medications import immunizations, medications
from gateway.ingest.records.cda_observations import observations
from gateway.ingest.records.cda_procedures import devices, procedures
from gateway.ingest.records.cda_xml import (
    V3,
    Context,
    Element,
    attr,
    child,
    children,
    local_name,
    nodes,
    path,
    plain_text,
    rejecting,
    text_of,
)
from gateway.ingest.records.text import parse_xml
from gateway.profiles.model import Profile

__all__ = ["read_cda"]

_DOCUMENT = f"{{{V3}}}ClinicalDocument"
_SECTIONS = path("h:component/h:structuredBody/h:component/h:section")
_STATEMENTS = path("h:entry/*")

EntryReader = Callable[[Context, Sequence[Element], str], Sequence[Any]]
_READERS: dict[str, EntryReader] = {
    "problems": problems,
    "past_problems": problems,
    "functional_status": problems,
    "allergies": allergies,
    "medications": medications,
    "immunizations": immunizations,
    "procedures": procedures,
    "devices": devices,
    "results": observations,
    "vital_signs": observations,
    "pregnancy": observations,
    "social_history": observations,
}


def read_cda(data: bytes, profile: Profile) -> Reading:
    """The neutral record in an eHDSI CDA patient summary, read as ``profile`` maps it.

    :raises RecordError: for malformed XML, a DTD, or a root that is not a CDA
        ``ClinicalDocument``.
    :raises RecordRejected: for a document that is not a patient summary, has no id, names no
        patient (or several, or one without a name), or carries an impossible date or value.
    """
    root = parse_xml(data)
    if root.tag != _DOCUMENT:
        raise RecordError(
            f"not a CDA ClinicalDocument in the {V3} namespace", f"/{local_name(root)}"
        )
    ctx = Context(profile, mapping_of(profile), root)
    _require_summary(ctx, root)
    key = document_key(root)
    person = patient(ctx, root)
    author, custodian = organisations(ctx, root)
    lists, notes = _sections(ctx, root)
    record = rejecting(
        root,
        lambda: PatientRecord(
            patient=person,
            author=author,
            custodian=custodian,
            source_date=source_date(ctx, root),
            language=language(ctx, root),
            notes=tuple(notes),
            **{name: tuple(items) for name, items in lists.items()},
        ),
    )
    return Reading(record, key, tuple(ctx.findings))


def _require_summary(ctx: Context, root: Element) -> None:
    value = attr(child(root, "code"), "code")
    if value not in ctx.mapping.document_codes:
        shown = f"document code {value}" if value else "a document without a code"
        raise RecordRejected(
            f"{shown} is not a patient summary this profile reads", "/ClinicalDocument/code"
        )


def _sections(ctx: Context, root: Element) -> tuple[dict[str, list[Any]], list[Note]]:
    lists: dict[str, list[Any]] = {}
    notes: list[Note] = []
    for section in nodes(_SECTIONS, root):
        code = attr(child(section, "code"), "code")
        templates = filter(None, (attr(t, "root") for t in children(section, "templateId")))
        rule = ctx.mapping.section_rule(code, templates)
        if rule is None:
            ctx.warn(section, f"section {code or '(no code)'} is not in the profile: not read")
            continue
        statements = nodes(_STATEMENTS, section)
        if rule.target in _READERS and statements:
            lists.setdefault(rule.target, []).extend(
                _READERS[rule.target](ctx, statements, rule.target)
            )
        else:
            notes += _narrative_notes(ctx, section, rule, bool(statements))
    return lists, notes


def _narrative_notes(
    ctx: Context, section: Element, rule: SectionRule, has_entries: bool
) -> list[Note]:
    """The section's narrative as notes, one per paragraph, list item or table; or a finding
    when the profile does not keep this section's text."""
    narrative = child(section, "text")
    blocks = _blocks(narrative) if narrative is not None else []
    if has_entries:  # advance directives: entries are not read, their narrative is
        ctx.warn(section, "advance directive entries are read as narrative notes only")
    elif not rule.narrative_as_notes and rule.target != "advance_directives":
        if blocks:
            ctx.warn(section, f"section for {rule.target} has narrative text only: not read")
        return []
    return [Note(rule.section, text) for text in blocks]


def _blocks(narrative: Element) -> list[str]:
    """The narrative's text, a piece per paragraph, table, list item or loose text."""
    parts = [
        item
        for block in narrative
        if isinstance(block.tag, str)
        for item in (children(block, "item") if local_name(block) == "list" else [block])
    ]
    if not parts:
        whole = text_of(narrative)
        return [whole] if whole else []
    loose = [plain_text(narrative.text), *(plain_text(p.tail) for p in narrative)]
    return [t for t in (*map(text_of, parts), *loose) if t]
