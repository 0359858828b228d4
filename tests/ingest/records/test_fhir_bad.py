"""Input the FHIR reader must refuse: each file of ``data/fhir/bad/`` (and a few inputs made
here) ends in RecordError (400) or RecordRejected (422) with the right location and a message
that quotes no patient data, never in another exception."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records.fhir import read_fhir
from tests.support.records import shipped_profiles

BAD = Path(__file__).parent / "data" / "fhir" / "bad"
# Patient data the bad files carry; no message or location may repeat it.
PATIENT_DATA = (
    "Testfrau",
    "Erika",
    "Probemann",
    "Max",
    "Müller",
    "M\ufffdller",
    "A123456780",
    "M123456785",
    "1980-01-01",
    "1981-02-02",
    "1975-05-05",
    "2023-02-30",
    "2021-03-05",
    "2021-01-11",
    "0,5",
    "19800101",
    "weiblich",
    "Eri",
    "lol",
)

# file -> (error class, location, words of the message)
CASES: dict[str, tuple[type[RecordError], str, str]] = {
    "dtd.xml": (RecordError, "line 1", "may not declare a DTD"),
    "external-entity.xml": (RecordError, "line 5", "malformed XML"),
    "malformed.xml": (RecordError, "line 5", "malformed XML"),
    "wrong-namespace.xml": (RecordError, "line 1", "not FHIR XML"),
    "foreign-element.xml": (RecordError, "line 5", "outside the http://hl7.org/fhir namespace"),
    "repeated-birthdate.xml": (RecordError, "Patient.birthDate", "repeats"),
    "impossible-birthdate.xml": (RecordRejected, "Patient.birthDate", "does not exist"),
    "malformed.json": (RecordError, "line 4, column 34", "malformed JSON"),
    "duplicate-key.json": (RecordError, "line 7, column 3", "same key twice"),
    "nan.json": (RecordError, "line 5, column 27", "NaN"),
    "array.json": (RecordError, "line 1, column 1", "is an object"),
    "invalid-utf8.json": (RecordError, "encoding", "not valid utf-8"),
    "utf16.json": (RecordError, "encoding", "must be UTF-8"),
    "not-a-patient.json": (RecordError, "Observation", "neither a FHIR Patient nor a Bundle"),
    "history-bundle.json": (RecordError, "Bundle.type", "a Bundle is read when its type"),
    "bundle-without-patient.json": (RecordRejected, "Bundle.entry", "holds no Patient"),
    "bundle-with-two-patients.json": (
        RecordRejected,
        "Bundle.entry[1].resource",
        "second, different Patient",
    ),
    "patient-without-name.json": (RecordRejected, "Patient.name", "no name"),
    "impossible-birthdate.json": (RecordRejected, "Patient.birthDate", "does not exist"),
    "birthdate-not-a-string.json": (RecordError, "Patient.birthDate", "is not a string"),
    "unknown-gender.json": (RecordRejected, "Patient.gender", "gender is not one of"),
    "unknown-comparator.json": (
        RecordRejected,
        "Bundle.entry[1].resource.valueQuantity.comparator",
        "not a FHIR quantity comparator",
    ),
    "reference-range-not-a-number.json": (
        RecordError,
        "Bundle.entry[1].resource.referenceRange[0].high.value",
        "is not a FHIR decimal",
    ),
    "impossible-delivery-date.json": (
        RecordRejected,
        "Bundle.entry[1].resource.valueDateTime",
        "does not exist",
    ),
    "nul-escape.json": (
        RecordError,
        "Patient.identifier[0].value",
        "control character or a lone surrogate",
    ),
    "lone-surrogate.json": (
        RecordError,
        "Bundle.entry[0].resource.name[0].given[0]",
        "control character or a lone surrogate",
    ),
    "procedure-ends-before-start.json": (
        RecordRejected,
        "Bundle.entry[1].resource",
        "procedure ends before it starts",
    ),
}


def refuse(data: bytes) -> RecordError:
    profile = shipped_profiles().get("de-isik-fhir")
    assert profile is not None
    with pytest.raises(RecordError) as refused:
        read_fhir(data, profile)
    return refused.value


def test_every_bad_file_has_a_case() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_file_is_refused_where_it_is_wrong(name: str) -> None:
    kind, location, words = CASES[name]
    error = refuse((BAD / name).read_bytes())
    assert type(error) is kind
    assert error.location == location
    assert words in error.detail
    assert error.status == (422 if kind is RecordRejected else 400)
    shown = str(error)
    assert not [data for data in PATIENT_DATA if data in shown]


@pytest.mark.parametrize("data", [b"", b" \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_input(data: bytes) -> None:
    error = refuse(data)
    assert (error.location, error.detail) == ("line 1", "the input is empty")


def test_json_nested_a_thousand_levels_is_a_clean_error() -> None:
    # Deeper than the interpreter's recursion limit: refused, never a RecursionError.
    deep = b'{"resourceType": "Patient", "name": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    error = refuse(deep)
    assert type(error) is RecordError


def test_json_nested_far_too_deep_says_where() -> None:
    error = refuse(b"[" * 100_000 + b"]" * 100_000)
    assert (error.location, error.detail) == ("line 1, column 100000", "JSON nested too deeply")


def test_a_json_number_longer_than_python_converts() -> None:
    error = refuse(b'{"resourceType": "Patient", "multipleBirthInteger": ' + b"9" * 5000 + b"}")
    assert error.detail == "a JSON number is too long"


@pytest.mark.parametrize(
    ("data", "location"),
    [
        (b'{"resourceType": "Patient", "name": "Testfrau"}', "Patient.name[0]"),
        (
            b'{"resourceType": "Patient", "name": [{"family": ["Test", "frau"]}]}',
            "Patient.name[0].family",
        ),
        (
            b'{"resourceType": "Patient", "name": [{"family": "T"}], "birthDate": ["1", "2"]}',
            "Patient.birthDate",
        ),
        (
            b'{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"id": 1}}]}',
            "Bundle.entry[0].resource",
        ),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": "x"}', "Bundle.entry[0]"),
        (b'{"resourceType": 7}', "$"),
    ],
)
def test_wrong_json_shapes_are_malformed_input(data: bytes, location: str) -> None:
    error = refuse(data)
    assert type(error) is RecordError
    assert error.location == location
    assert "Test" not in str(error)


def test_xml_in_utf16_with_a_bom_is_read(shared: Path) -> None:
    sample = shared / "conformance" / "national-samples" / "nictiz-nl-core-Patient-01.xml"
    data = sample.read_text(encoding="utf-8").encode("utf-16")
    profile = shipped_profiles().get("nl-zib-fhir")
    assert profile is not None
    assert read_fhir(data, profile).record.patient.birth_date == "1934-04-28"


def _paths(node: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if prefix:
        yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _replaced(tree: Any, path: tuple[str | int, ...], value: object) -> bytes:
    changed = copy.deepcopy(tree)
    holder = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return json.dumps(changed).encode()


@pytest.mark.parametrize("sample", ["de-isik-bundle.json", "de-isik-pregnancy.json"])
def test_any_element_of_any_shape_ends_in_a_record_error(sample: str) -> None:
    # Every element of a German sample replaced, in turn, by each of these: the reader
    # either reads the result or refuses it with its own errors, never with another exception.
    profile = shipped_profiles().get("de-isik-fhir")
    assert profile is not None
    tree = json.loads((BAD.parent / sample).read_bytes())
    escaped = []
    for path in _paths(tree):
        for value in (None, 7, "x", [], {}, ["a", "b"], {"reference": "#x"}):
            try:
                read_fhir(_replaced(tree, path, value), profile)
            except RecordError:
                pass
            except Exception as exc:  # what the test looks for
                escaped.append(f"{path} = {value!r}: {type(exc).__name__}")
    assert escaped == []
