"""FHIR XML becomes the tree FHIR JSON gives (FHIR R4 xml.html, json.html), and the tree's
accessors take one or many."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.errors import RecordError
from gateway.ingest.records.fhir_json import parse_fhir_json
from gateway.ingest.records.fhir_tree import Node
from gateway.ingest.records.fhir_xml import parse_fhir_xml

DATA = Path(__file__).parent / "data" / "fhir"


def xml(body: str, root: str = "Patient") -> dict[str, object]:
    return parse_fhir_xml(f'<{root} xmlns="http://hl7.org/fhir">{body}</{root}>'.encode())


def test_primitives_are_their_value_attribute() -> None:
    assert xml('<id value="p1"/><birthDate value="1980-01-01"/>') == {
        "resourceType": "Patient",
        "id": "p1",
        "birthDate": "1980-01-01",
    }


def test_a_primitive_extension_goes_to_the_underscore_name() -> None:
    tree = xml(
        '<name><family value="van Dalen"><extension url="urn:x"><valueString value="Dalen"/>'
        "</extension></family></name>"
    )
    assert tree["name"] == {
        "family": "van Dalen",
        "_family": {"extension": [{"url": "urn:x", "valueString": "Dalen"}]},
    }


def test_a_primitive_with_only_an_extension_has_no_value() -> None:
    tree = xml(
        '<birthDate><extension url="http://hl7.org/fhir/StructureDefinition/data-absent-reason">'
        '<valueCode value="unknown"/></extension></birthDate>'
    )
    assert "birthDate" not in tree
    assert tree["_birthDate"] == {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                "valueCode": "unknown",
            }
        ]
    }


def test_repeated_primitives_and_their_extensions_stay_aligned() -> None:
    tree = xml(
        '<name><given value="Anna"/><given value="J."><extension url="urn:q">'
        '<valueCode value="IN"/></extension></given></name>'
    )
    assert tree["name"] == {
        "given": ["Anna", "J."],
        "_given": [None, {"extension": [{"url": "urn:q", "valueCode": "IN"}]}],
    }


def test_repeated_complex_elements_become_a_list_and_a_single_one_stays_single() -> None:
    tree = xml(
        '<name><family value="A"/></name><name><family value="B"/></name><gender value="x"/>'
    )
    assert tree["name"] == [{"family": "A"}, {"family": "B"}]
    node = Node(tree, "Patient")
    assert [n.text("family") for n in node.all("name")] == ["A", "B"]
    assert node.texts("gender") == ["x"]
    with pytest.raises(RecordError, match="repeats"):
        node.get("name")


def test_nested_extensions_stay_complex() -> None:
    tree = xml(
        '<extension url="urn:outer"><extension url="code"><valueCode value="NL"/></extension>'
        "</extension>"
    )
    assert tree["extension"] == {
        "url": "urn:outer",
        "extension": {"url": "code", "valueCode": "NL"},
    }


def test_resources_inside_elements_get_their_type_and_the_narrative_is_skipped() -> None:
    tree = xml(
        '<type value="collection"/><entry><fullUrl value="urn:uuid:1"/><resource><Patient>'
        '<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">x</div></text>'
        '<contained><Medication><id value="m"/></Medication></contained>'
        "</Patient></resource></entry>",
        root="Bundle",
    )
    assert tree["entry"] == {
        "fullUrl": "urn:uuid:1",
        "resource": {
            "resourceType": "Patient",
            "text": {"status": "generated"},
            "contained": {"resourceType": "Medication", "id": "m"},
        },
    }


def as_xml_says(value: Any) -> Any:
    """A JSON tree as XML spells it: every primitive a string, no narrative div, and single
    items of a list unwrapped (XML cannot tell a list of one from one)."""
    if isinstance(value, dict):
        return {k: as_xml_says(v) for k, v in value.items() if k != "div"}
    if isinstance(value, list):
        items = [as_xml_says(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) or value is None else str(value)


def test_the_dutch_sample_becomes_the_tree_of_its_json_twin() -> None:
    # The twin was written from the XML by fhir.resources, a converter that shares no code.
    from_xml = parse_fhir_xml((DATA / "nl-zib-bundle.xml").read_bytes())
    from_json = parse_fhir_json((DATA / "nl-zib-bundle.json").read_bytes())
    assert as_xml_says(from_xml) == as_xml_says(from_json)


def test_the_tree_refuses_many_where_fhir_allows_one() -> None:
    node = Node({"birthDate": ["1980", "1981"], "code": "x", "n": True}, "Patient")
    with pytest.raises(RecordError, match="repeats") as refused:
        node.text("birthDate")
    assert refused.value.location == "Patient.birthDate"
    with pytest.raises(RecordError, match="not a JSON object"):
        node.get("code")
    with pytest.raises(RecordError, match="not a FHIR decimal"):
        node.decimal("n")
    with pytest.raises(RecordError, match="not a FHIR integer"):
        node.integer("code")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7.50", Decimal("7.50")),
        ("-0.1", Decimal("-0.1")),
        ("1e3", Decimal("1e3")),
        (3, Decimal(3)),
    ],
)
def test_decimals_from_either_format(value: object, expected: Decimal) -> None:
    number = Node({"value": value}, "Quantity").decimal("value")
    assert number == expected
    assert str(number) == str(expected)


@pytest.mark.parametrize("value", ["7,5", "NaN", ".5", "", " 1"])
def test_what_is_not_a_fhir_decimal(value: str) -> None:
    with pytest.raises(RecordError):
        Node({"value": value}, "Quantity").decimal("value")


def test_json_numbers_keep_their_digits() -> None:
    tree = parse_fhir_json(
        json.dumps({"resourceType": "Observation"})[:-1].encode() + b', "v": 7.10}'
    )
    assert str(tree["v"]) == "7.10"
