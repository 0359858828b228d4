"""What the eHDSI CDA reader refuses, and what it survives.

``data/cda/bad/`` holds one file per way a document can be unusable: each is refused with a
RecordError (malformed: 400) or RecordRejected (readable but not a usable summary: 422) whose
location points at the fault and whose message quotes no patient data. Then every document the
shared Italian sample becomes when one element or all of one element's attributes are removed
must still be read or refused, never crash; and small documents with odd shapes are read as
far as they make sense, with findings.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from gateway.domain.records import UCUM, Code, Concept, DateValue, Quantity
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.cda import read_cda
from tests.support.records import shipped_profiles

BAD = Path(__file__).parent / "data" / "cda" / "bad"
PAOLO = Path("conformance") / "national-samples" / "epsos-ps-pivot-it-paolo.xml"
PATIENT_DATA = ("Testpersona", "Zoé", "Zo\\xe9", "BAD-PATIENT-7", "19700101", "20230230")
_PATIENT = "/ClinicalDocument/recordTarget/patientRole/patient"
_SECTION = "/ClinicalDocument/component/structuredBody/component"

# file -> (error class, location, a phrase of the message)
CORPUS: dict[str, tuple[type[RecordError], str, str]] = {
    "empty.xml": (RecordError, "line 1", "Document is empty"),
    "malformed.xml": (RecordError, "line 12", "tag mismatch"),
    "doctype-external-entity.xml": (RecordError, "line 1", "may not declare a DTD"),
    "billion-laughs.xml": (RecordError, "line 1", "malformed XML"),
    "utf16-declared-latin1.xml": (RecordError, "line 1", "malformed XML"),
    "utf8-declared-latin1.xml": (RecordError, "line 12", "character encoding"),
    "wrong-root.xml": (RecordError, "/Bundle", "not a CDA ClinicalDocument"),
    "no-namespace.xml": (RecordError, "/ClinicalDocument", "urn:hl7-org:v3"),
    "not-a-summary.xml": (RecordRejected, "/ClinicalDocument/code", "57833-6"),
    "no-id.xml": (RecordRejected, "/ClinicalDocument/id", "no id"),
    "no-record-target.xml": (RecordRejected, "/ClinicalDocument/recordTarget", "no patient"),
    "two-record-targets.xml": (RecordRejected, "/ClinicalDocument/recordTarget[2]", "one patient"),
    "no-patient-name.xml": (RecordRejected, f"{_PATIENT}/name", "no name"),
    "impossible-birth-time.xml": (RecordRejected, f"{_PATIENT}/birthTime", "does not exist"),
    "bad-document-time.xml": (
        RecordRejected,
        "/ClinicalDocument/effectiveTime",
        "not an HL7 timestamp",
    ),
    "bad-quantity.xml": (
        RecordRejected,
        f"{_SECTION}[2]/section/entry/observation/value",
        "not a decimal number",
    ),
    "onset-after-abatement.xml": (
        RecordRejected,
        f"{_SECTION}[1]/section/entry/act/entryRelationship/observation",
        "ends before it starts",
    ),
}


def _read(data: bytes, profile: str = "generic-ehdsi-cda") -> Reading:
    found = shipped_profiles().get(profile)
    assert found is not None
    return read_cda(data, found)


def test_the_corpus_is_complete() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_documents_are_refused_where_they_fail(name: str) -> None:
    kind, where, phrase = CORPUS[name]
    with pytest.raises(RecordError) as caught:
        _read((BAD / name).read_bytes())
    assert type(caught.value) is kind
    assert caught.value.location == where
    assert phrase in caught.value.detail
    assert not any(data in str(caught.value) for data in PATIENT_DATA)


@pytest.fixture(scope="module")
def paolo_tree(shared: Path) -> etree._Element:
    return etree.fromstring((shared / PAOLO).read_bytes())


def _mutants(tree: etree._Element) -> list[bytes]:
    """The document without each element in turn, and with each element's attributes gone."""
    found = []
    count = sum(1 for _ in tree.iter())
    for index in range(1, count):
        for mutation in ("remove", "strip"):
            copy = etree.fromstring(etree.tostring(tree))
            element = list(copy.iter())[index]
            if mutation == "remove":
                parent = element.getparent()
                assert parent is not None
                parent.remove(element)
            else:
                element.attrib.clear()
            found.append(etree.tostring(copy))
    return found


def test_any_damaged_document_is_read_or_refused(paolo_tree: etree._Element) -> None:
    outcomes = {"read": 0, "refused": 0}
    for data in _mutants(paolo_tree):
        try:
            _read(data, "it-ehdsi-cda")
        except RecordError:
            outcomes["refused"] += 1
        else:
            outcomes["read"] += 1
    # Most damage is local (an entry less, a finding more); some removes what a summary needs.
    assert outcomes["read"] > outcomes["refused"] > 0, outcomes


# --- odd shapes -------------------------------------------------------------------------------

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:x="urn:hl7-org:v3">
  <id root="2.16.840.1.113883.19.5.60"/>
  <code code="60591-5" codeSystem="2.16.840.1.113883.6.1"/>
  <recordTarget><patientRole>
    <id root="2.16.840.1.113883.19.5.61" extension="ODD-1"/>
    <patient><name>Paziente Senza Struttura</name><birthTime value="1990"/></patient>
  </patientRole></recordTarget>
  <component><structuredBody>{sections}</structuredBody></component>
</ClinicalDocument>
"""


def _section(code: str, *entries: str, text: str = "") -> str:
    body = "".join(f"<entry>{e}</entry>" for e in entries)
    return (
        f'<component><section><code code="{code}" codeSystem="2.16.840.1.113883.6.1"/>'
        f"<text>{text}</text>{body}</section></component>"
    )


def _odd(*sections: str) -> Reading:
    return _read(_HEADER.format(sections="".join(sections)).encode())


def _observation(value: str, code: str = "8302-2") -> str:
    return (
        f'<observation><code code="{code}" codeSystem="2.16.840.1.113883.6.1"/>'
        f'<effectiveTime value="20240101"/>{value}</observation>'
    )


def test_an_unstructured_name_and_a_root_only_document_id() -> None:
    reading = _odd()
    assert reading.key == "2.16.840.1.113883.19.5.60"
    assert reading.record.patient.names[0].text == "Paziente Senza Struttura"
    assert reading.record.patient.birth_date == "1990"


def test_observation_value_types() -> None:
    reading = _odd(
        _section(
            "30954-2",
            _observation('<value xsi:type="x:REAL" value="1.5e2"/>'),
            _observation('<value xsi:type="BL" value="true"/>'),
            _observation('<value xsi:type="INT" value="-3"/>'),
            _observation('<value xsi:type="PQ" nullFlavor="UNK"/>'),
            _observation("<value>plain text</value>"),
            _observation('<value xsi:type="TS" value="202302141030+0100"/>'),
        )
    )
    values = [o.value for o in reading.record.results]
    assert values == [
        Quantity(Decimal("150")),
        "true",
        -3,
        None,
        "plain text",
        DateValue("2023-02-14T10:30:00+01:00"),
    ]


def _interval(bounds: str) -> str:
    return f'<value xsi:type="IVL_PQ">{bounds}</value>'


def _ivl(bounds: str) -> str:
    return _observation(_interval(bounds))


def test_interval_values_open_on_one_side_have_a_comparator() -> None:
    reading = _odd(
        _section(
            "30954-2",
            _ivl('<low value="60" unit="mL/min"/><high nullFlavor="PINF"/>'),
            _ivl('<low value="60" unit="mL/min" inclusive="false"/>'),
            _ivl('<high value="0.5" unit="ng/mL"/>'),
            _observation('<value xsi:type="IVL_PQ" value="7" unit="mmol/L"/>'),
            _ivl('<low nullFlavor="NINF"/><high nullFlavor="PINF"/>'),
            _ivl('<low value="3" unit="g"/><high value="5" unit="g"/>'),
        )
    )
    assert [o.value for o in reading.record.results] == [
        Quantity(Decimal("60"), "mL/min", UCUM, "mL/min", ">="),
        Quantity(Decimal("60"), "mL/min", UCUM, "mL/min", ">"),
        Quantity(Decimal("0.5"), "ng/mL", UCUM, "ng/mL", "<="),
        Quantity(Decimal("7"), "mmol/L", UCUM, "mmol/L"),
        None,
        None,
    ]
    assert [str(f) for f in reading.findings] == [
        f"{_SECTION}/section/entry[6]/observation/value: an observation value that is a range "
        "(IVL_PQ with two bounds): not read"
    ]


def test_a_bound_that_is_no_number_is_refused_like_any_value() -> None:
    with pytest.raises(RecordRejected, match="not a decimal number") as caught:
        _odd(_section("30954-2", _ivl('<high value="lt 5" unit="mg/L"/>')))
    assert caught.value.location == f"{_SECTION}/section/entry/observation/value/high"


def test_an_impossible_date_value_is_refused_where_it_is() -> None:
    with pytest.raises(RecordRejected, match="does not exist") as caught:
        _odd(_section("10162-6", _observation('<value xsi:type="TS" value="20230230"/>')))
    assert caught.value.location == f"{_SECTION}/section/entry/observation/value"
    assert "20230230" not in str(caught.value)


def _ranged(*ranges: str) -> str:
    body = "".join(
        f"<referenceRange><observationRange>{r}</observationRange></referenceRange>" for r in ranges
    )
    return _observation(f'<value xsi:type="PQ" value="4" unit="mmol/L"/>{body}')


def test_reference_ranges() -> None:
    reading = _odd(
        _section(
            "30954-2",
            _ranged(_interval('<low value="3.5" unit="mmol/L"/><high value="5.1" unit="mmol/L"/>')),
            _ranged(_interval('<low value="1" unit="g"/><high value="1000" unit="mg"/>')),
            _ranged(_interval('<low value="60" inclusive="false" unit="1"/>')),
            _ranged("<text>  entro i limiti\n di norma </text>"),
            _ranged(  # a critical range beside the normal one
                _interval('<high value="5" unit="mmol/L"/>'),
                _interval('<high value="9" unit="mmol/L"/>'),
            ),
            _ranged(_interval('<high value="five" unit="mmol/L"/>')),
            _ranged('<value xsi:type="CD" code="N" codeSystem="2.16.840.1.113883.5.83"/>'),
        )
    )
    assert [o.reference_range for o in reading.record.results] == [
        "3.5-5.1 mmol/L",
        "1 g-1000 mg",
        ">60",
        "entro i limiti di norma",
        "<=5 mmol/L",
        None,
        None,
    ]
    entry = f"{_SECTION}/section/entry"
    assert [str(f) for f in reading.findings] == [
        f"{entry}[5]/observation/referenceRange[2]/observationRange: only the first reference "
        "range is read",
        f"{entry}[6]/observation/referenceRange/observationRange: a reference range without a "
        "text or numeric bounds: left out",
        f"{entry}[7]/observation/referenceRange/observationRange: a reference range without a "
        "text or numeric bounds: left out",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('<value xsi:type="INT" value="99999999999"/>', "32-bit integer"),
        ('<value xsi:type="INT" value="1.5"/>', "32-bit integer"),
        ('<value xsi:type="PQ" value="1e999" unit="kg"/>', "decimal number"),
        ('<value xsi:type="PQ" value="NaN" unit="kg"/>', "decimal number"),
    ],
)
def test_numbers_out_of_range_are_refused(value: str, message: str) -> None:
    with pytest.raises(RecordRejected, match=message) as caught:
        _odd(_section("30954-2", _observation(value)))
    assert caught.value.location == f"{_SECTION}/section/entry/observation/value"


def test_codes_the_reader_cannot_place() -> None:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    reading = _odd(
        _section(
            "30954-2",
            _observation('<value xsi:type="CD" code="A" displayName="Shown"/>'),  # no system
            _observation(f'<value xsi:type="CD" code="B" codeSystem="{uuid.upper()}"/>'),
            _observation('<value xsi:type="CD" code="C  D" codeSystem="2.16.840.1.113883.6.96"/>'),
        )
    )
    first, second, third = (o.value for o in reading.record.results)
    assert first == Concept(text="Shown")  # kept as text
    assert second == Concept((Code(f"urn:uuid:{uuid}", "B"),))
    assert third is None  # nothing left: neither a valid code nor a text
    messages = [f.message for f in reading.findings]
    assert "a code without a usable codeSystem: kept as text only" in messages
    assert "a code in http://snomed.info/sct that is not a valid code: left out" in messages


def test_entries_of_the_wrong_kind_and_unknown_sections_are_reported() -> None:
    reading = _odd(
        _section("11450-4", "<encounter/>"),
        _section("10160-0", "<act/>"),
        "<component><section><title>Untitled</title></section></component>",
    )
    assert reading.record.problems == ()
    assert reading.record.medications == ()
    assert [f.message for f in reading.findings] == [
        "entry <encounter> is not a problem: not read",
        "entry <act> is not a medication: not read",
        "section (no code) is not in the profile: not read",
    ]


def test_a_dated_entry_with_an_unknown_code_is_not_an_absence() -> None:
    # A procedure whose code is unknown but which took place is not "no procedures".
    reading = _odd(
        _section(
            "47519-4",
            '<procedure><code nullFlavor="UNK"/><effectiveTime value="2010"/></procedure>',
        )
    )
    assert reading.record.procedures == ()
    assert [f.message for f in reading.findings] == [
        "a procedure without a coded or described code: not read"
    ]


@pytest.mark.parametrize(
    ("use", "expected", "found"),
    [
        ("L", "usual", []),
        ("SRCH L", "usual", []),  # a set of codes: the first the profile knows
        ("P", "anonymous", []),
        ("PHON", None, ["name use PHON is not in the profile: left out"]),
        ("", None, []),
    ],
)
def test_name_uses(use: str, expected: str | None, found: list[str]) -> None:
    text = _HEADER.replace("<name>", f'<name use="{use}">').format(sections="")
    reading = _read(text.encode())
    assert reading.record.patient.names[0].use == expected
    assert [f.message for f in reading.findings] == found


def test_a_procedure_with_only_an_end() -> None:
    reading = _odd(
        _section(
            "47519-4",
            '<procedure><code code="80146002" codeSystem="2.16.840.1.113883.6.96"/>'
            '<effectiveTime><low nullFlavor="UNK"/><high value="20100302"/></effectiveTime>'
            "</procedure>",
        )
    )
    (procedure,) = reading.record.procedures
    assert (procedure.date, procedure.end) == (None, "2010-03-02")


def test_a_procedure_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(RecordRejected, match="ends before it starts") as caught:
        _odd(
            _section(
                "47519-4",
                '<procedure><code code="80146002" codeSystem="2.16.840.1.113883.6.96"/>'
                '<effectiveTime><low value="2012"/><high value="2010"/></effectiveTime>'
                "</procedure>",
            )
        )
    assert caught.value.location == f"{_SECTION}/section/entry/procedure"


def test_unknown_status_and_gender_codes_are_reported_not_guessed() -> None:
    text = _HEADER.replace("<birthTime", '<administrativeGenderCode code="X"/><birthTime').format(
        sections=_section(
            "47519-4",
            '<procedure><code code="80146002" codeSystem="2.16.840.1.113883.6.96"/>'
            '<statusCode code="weird"/></procedure>',
        )
    )
    reading = _read(text.encode())
    assert reading.record.patient.gender is None
    assert reading.record.procedures[0].status == "unknown"
    assert [f.message for f in reading.findings] == [
        "administrativeGenderCode is not in the profile: left out",
        "procedure status code weird is not in the profile: left out",
    ]
