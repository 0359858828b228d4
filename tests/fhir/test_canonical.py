"""The profile URLs the builder claims are the official ones, character for character.

Compared with the official IPS 2.0.0 conformance resources in
``../shared/conformance/fhir-examples/profiles/``: the StructureDefinitions (their ``url`` and
the ``targetProfile`` of their references and entry slices) and the IPS server
CapabilityStatement, which lists each resource type's supported profiles. The folder holds no
StructureDefinition that names ``Device-uv-ips``; the CapabilityStatement does.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.fhir import canonical
from tests.support import fhir_validation as fv

# resource type -> the canonical constant the builder claims for it
CLAIMED = {
    "Bundle": canonical.BUNDLE,
    "Composition": canonical.COMPOSITION,
    "Patient": canonical.PATIENT,
    "Organization": canonical.ORGANIZATION,
    "Condition": canonical.CONDITION,
    "AllergyIntolerance": canonical.ALLERGY,
    "MedicationStatement": canonical.MEDICATION_STATEMENT,
    "Immunization": canonical.IMMUNIZATION,
    "Procedure": canonical.PROCEDURE,
    "DeviceUseStatement": canonical.DEVICE_USE,
    "Device": canonical.DEVICE,
}


@pytest.fixture(scope="module")
def profiles(shared: Path) -> Path:
    return fv.profiles_folder(shared)


def _load(profiles: Path, kind: str) -> list[dict[str, Any]]:
    found = [json.loads(path.read_text()) for path in sorted(profiles.glob("ips-2.0.0--*.json"))]
    return [d for d in found if d["resourceType"] == kind]


def _strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def structure_definition_urls(profiles: Path) -> set[str]:
    """Every string in the official IPS StructureDefinitions that is a profile URL."""
    return {
        s
        for definition in _load(profiles, "StructureDefinition")
        for s in _strings(definition)
        if "/StructureDefinition/" in s and s.startswith("http")
    }


def supported_profiles(profiles: Path) -> dict[str, set[str]]:
    (statement,) = _load(profiles, "CapabilityStatement")
    supported: dict[str, set[str]] = defaultdict(set)
    for rest in statement["rest"]:
        for resource in rest["resource"]:
            supported[resource["type"]].update(resource.get("supportedProfile", []))
    return supported


def test_organization_profile_is_the_one_the_bundle_profile_names(profiles):
    # Bundle-uv-ips types its Organization references with this URL.
    assert (
        canonical.ORGANIZATION
        == "http://hl7.org/fhir/uv/ips/StructureDefinition/Organization-uv-ips"
    )
    assert canonical.ORGANIZATION in structure_definition_urls(profiles)
    assert canonical.ORGANIZATION in supported_profiles(profiles)["Organization"]


def test_device_profile_is_the_official_device_profile(profiles):
    assert canonical.DEVICE == "http://hl7.org/fhir/uv/ips/StructureDefinition/Device-uv-ips"
    assert canonical.DEVICE in supported_profiles(profiles)["Device"]


@pytest.mark.parametrize("resource_type", sorted(CLAIMED))
def test_each_claimed_profile_is_supported_for_its_resource_type(profiles, resource_type):
    assert CLAIMED[resource_type] in supported_profiles(profiles)[resource_type]


def test_observation_profiles_are_the_composition_slice_targets(profiles):
    named = structure_definition_urls(profiles)
    for url in (
        canonical.LAB_RESULT,
        canonical.PREGNANCY_STATUS,
        canonical.PREGNANCY_OUTCOME,
        canonical.TOBACCO_USE,
        canonical.ALCOHOL_USE,
        canonical.VITAL_SIGNS,
    ):
        assert url in named, url
