"""Reading FHIR R4 ConceptMaps: matches, equivalences, and maps that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.profiles.conceptmaps import ConceptMapError, Target, load_concept_map

GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
WHO = "http://hl7.org/fhir/sid/icd-10"


def concept_map(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "resourceType": "ConceptMap",
        "url": "https://gateway.example.eu/fhir/ConceptMap/t",
        "name": "T",
        "status": "active",
        "group": [
            {
                "source": GM,
                "target": WHO,
                "element": [
                    {"code": "E11.9", "target": [{"code": "E11.9", "equivalence": "equivalent"}]},
                    {
                        "code": "I10.00",
                        "target": [
                            {"code": "I10", "display": "Hypertension", "equivalence": "wider"}
                        ],
                    },
                    {"code": "U99.0", "target": [{"equivalence": "unmatched"}]},
                ],
            }
        ],
    }
    data.update(changes)
    return data


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "map.json"
    path.write_text(json.dumps(data))
    return path


def test_targets_carry_their_system_and_equivalence(tmp_path):
    loaded = load_concept_map(write(tmp_path, concept_map()))
    assert loaded.translate(GM, "I10.00") == (Target(WHO, "I10", "Hypertension", "wider"),)
    assert loaded.translate(GM, "E11.9") == (Target(WHO, "E11.9", None, "equivalent"),)
    assert loaded.source_systems == {GM}


def test_unmatched_and_unknown_codes_translate_to_nothing(tmp_path):
    loaded = load_concept_map(write(tmp_path, concept_map()))
    assert loaded.translate(GM, "U99.0") == ()
    assert loaded.translate(GM, "Z00") == ()
    assert loaded.translate(WHO, "E11.9") == ()


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "not a FHIR ConceptMap"),
        ({"resourceType": "ValueSet"}, "not a FHIR ConceptMap"),
        (concept_map(url=""), "canonical url"),
        (concept_map(group=[{"source": GM, "element": []}]), "source and a target"),
        (concept_map(group="x"), "not a list"),
        (
            concept_map(
                group=[
                    {
                        "source": GM,
                        "target": WHO,
                        "element": [
                            {"code": "A", "target": [{"code": "B", "equivalence": "same"}]}
                        ],
                    }
                ]
            ),
            "unknown equivalence",
        ),
        (
            concept_map(group=[{"source": GM, "target": WHO, "element": [{"target": []}]}]),
            "has no code",
        ),
    ],
)
def test_unusable_maps_are_refused_with_the_file_name(tmp_path, data, says):
    with pytest.raises(ConceptMapError, match=says) as caught:
        load_concept_map(write(tmp_path, data))
    assert "map.json" in str(caught.value)


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "map.json"
    path.write_text("{not json")
    with pytest.raises(ConceptMapError, match=r"map\.json: not a readable JSON file"):
        load_concept_map(path)
