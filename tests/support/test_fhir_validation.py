"""The independent FHIR checks pass every official example and report each kind of breakage.

Positive fixtures are the official IPS 2.0.0 and Genomics Reporting 3.0.0 examples (0 errors in
the HL7 publisher's own validation); negative fixtures are copies of them with one thing broken.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support import fhir_validation as fv

IPS_EXAMPLES = [
    "ips/Bundle-IPS-examples-Bundle-01.json",
    "ips/Bundle-IPS-examples-Bundle-with-immunization.json",
    "ips/Bundle-bundle-ips-all-sections.json",
    "ips/Bundle-bundle-minimal.json",
    "ips/Bundle-bundle-no-info-required-sections.json",
]
GENOMICS_EXAMPLES = [
    "genomics-reporting/Bundle-bundle-cgexample.json",
    "genomics-reporting/Bundle-bundle-oncology-report-example.json",
    "genomics-reporting/DiagnosticReport-GenomicReportExample01.json",
    "genomics-reporting/Observation-Pgx-var-1011.json",
    "genomics-reporting/Observation-VariantExample.json",
    "genomics-reporting/Observation-VariantExample2.json",
    "genomics-reporting/Observation-variant-with-molec-consequences.json",
]
MINIMAL = "ips/Bundle-bundle-minimal.json"
VARIANT = "genomics-reporting/Observation-variant-with-molec-consequences.json"
VARIANT_PROFILE = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"

Resource = dict[str, Any]


@pytest.fixture(scope="session")
def examples(shared: Path) -> Path:
    return shared / "conformance" / "fhir-examples"


@pytest.fixture(scope="session")
def profiles(shared: Path) -> Path:
    return fv.profiles_folder(shared)


@pytest.fixture
def load(examples: Path) -> Callable[[str], Resource]:
    """A fresh copy of an example, free to mutate."""
    return lambda name: json.loads((examples / name).read_text())


def schema_errors(resource: Resource) -> list[str]:
    if resource["resourceType"] == "Bundle":
        return fv.validate_bundle(resource)
    return fv.validate_resource(resource)


def constraint_errors(resource: Resource, profiles: Path) -> list[str]:
    return fv.check_bundle(resource, fv.IPS_PROFILES, profiles)


# --- official examples pass -------------------------------------------------------------------


@pytest.mark.parametrize("name", IPS_EXAMPLES + GENOMICS_EXAMPLES)
def test_official_example_passes_the_schema(load, name):
    assert schema_errors(load(name)) == []


@pytest.mark.parametrize("name", IPS_EXAMPLES + GENOMICS_EXAMPLES)
def test_official_example_passes_the_profile_constraints(load, profiles, name):
    assert constraint_errors(load(name), profiles) == []


@pytest.mark.parametrize("name", IPS_EXAMPLES + GENOMICS_EXAMPLES)
def test_official_example_parses_with_r4b(load, name):
    assert fv.parse_with_fhir_resources(load(name)) == []


def test_examples_are_left_unchanged_by_the_checks(load, profiles):
    bundle = load(MINIMAL)
    before = copy.deepcopy(bundle)
    fv.validate_bundle(bundle)
    constraint_errors(bundle, profiles)
    fv.parse_with_fhir_resources(bundle)
    assert bundle == before


# --- broken examples are reported -------------------------------------------------------------


def entry(bundle: Resource, resource_type: str) -> Resource:
    resources = (e["resource"] for e in bundle["entry"])
    return next(r for r in resources if r["resourceType"] == resource_type)


def section(bundle: Resource, loinc: str) -> Resource:
    sections = entry(bundle, "Composition")["section"]
    return next(s for s in sections if s["code"]["coding"][0]["code"] == loinc)


def no_composition_status(bundle: Resource) -> None:
    del entry(bundle, "Composition")["status"]


def no_bundle_type(bundle: Resource) -> None:
    del bundle["type"]


def no_composition_type(bundle: Resource) -> None:
    del entry(bundle, "Composition")["type"]


def bad_status_code(bundle: Resource) -> None:
    entry(bundle, "Composition")["status"] = "bogus"


def unknown_element(bundle: Resource) -> None:
    entry(bundle, "Patient")["nickname"] = "Marty"


def unknown_resource_type(bundle: Resource) -> None:
    bundle["entry"][3]["resource"]["resourceType"] = "Organisation"


def bad_date(bundle: Resource) -> None:
    entry(bundle, "Patient")["birthDate"] = "1950-13-45"


def empty_problems_section(bundle: Resource) -> None:
    del section(bundle, "11450-4")["entry"]


def duplicate_full_url(bundle: Resource) -> None:
    bundle["entry"][2]["fullUrl"] = bundle["entry"][1]["fullUrl"]


def no_identifier(bundle: Resource) -> None:
    del bundle["identifier"]


def no_timestamp(bundle: Resource) -> None:
    del bundle["timestamp"]


def patient_first(bundle: Resource) -> None:
    bundle["entry"][0], bundle["entry"][1] = bundle["entry"][1], bundle["entry"][0]


def second_composition(bundle: Resource) -> None:
    extra = copy.deepcopy(bundle["entry"][0])
    extra["fullUrl"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    bundle["entry"].append(extra)


def nameless_patient_name(bundle: Resource) -> None:
    entry(bundle, "Patient")["name"] = [{"use": "official"}]


# (mutation of the minimal IPS Bundle, check that must report it, text expected in one error).
# The schema does not require primitives (Composition.status, Bundle.type): R4B reports those.
BUNDLE_BREAKAGES = [
    (no_composition_status, "r4b", "entry.0.resource.status: Value for the field 'status' is"),
    (no_bundle_type, "r4b", "type: Value for the field 'type' is required"),
    (no_composition_type, "schema", "$.entry[0].resource: 'type' is a required property"),
    (bad_status_code, "schema", "$.entry[0].resource.status: 'bogus' is not one of"),
    (unknown_element, "schema", "('nickname' was unexpected)"),
    (unknown_resource_type, "schema", "$.entry[3].resource: unknown resourceType 'Organisation'"),
    (unknown_resource_type, "r4b", "Organisation"),
    (bad_date, "schema", "$.entry[1].resource.birthDate: '1950-13-45' does not match"),
    (empty_problems_section, "constraints", "ips-comp-1 at Composition.section:sectionProblems"),
    (duplicate_full_url, "constraints", "bdl-7 at Bundle #1"),
    (no_identifier, "constraints", "bdl-9 at Bundle #1"),
    (no_timestamp, "constraints", "bdl-10 at Bundle #1"),
    (patient_first, "constraints", "bdl-11 at Bundle #1"),
    (second_composition, "constraints", "bdl-ips-1 at Bundle #1"),
    (nameless_patient_name, "constraints", "entry[1]: ips-pat-1 at Patient.name #1"),
]


@pytest.mark.parametrize(
    ("mutate", "check", "expected"),
    BUNDLE_BREAKAGES,
    ids=[f"{mutate.__name__}-{check}" for mutate, check, _ in BUNDLE_BREAKAGES],
)
def test_a_broken_ips_bundle_is_reported(load, profiles, mutate, check, expected):
    bundle = load(MINIMAL)
    mutate(bundle)
    checks = {
        "schema": fv.validate_bundle,
        "constraints": lambda b: constraint_errors(b, profiles),
        "r4b": fv.parse_with_fhir_resources,
    }
    errors = checks[check](bundle)
    assert any(expected in error for error in errors), errors


def test_a_string_where_a_number_goes_is_a_schema_error(load):
    variant = load(VARIANT)
    variant["component"][4]["valueQuantity"]["value"] = "0.6"
    assert fv.validate_resource(variant) == [
        "$.component[4].valueQuantity.value: '0.6' is not of type 'number'"
    ]


def test_a_broken_contained_resource_is_a_schema_error(load):
    variant = load(VARIANT)
    variant["contained"] = [{"resourceType": "Specimen", "id": "s1", "status": "lost"}]
    errors = fv.validate_resource(variant)
    assert len(errors) == 1, errors
    assert errors[0].startswith("$.contained[0].status: 'lost' is not one of ['available', ")


def test_a_value_beside_a_data_absent_reason_breaks_obs_6(load, profiles):
    variant = load(VARIANT)
    variant["dataAbsentReason"] = {"text": "not asked"}
    errors = fv.check_constraints(variant, VARIANT_PROFILE, profiles)
    assert [error.split(":")[0] for error in errors] == ["obs-6 at Observation #1"]


def test_r4b_rejects_a_string_that_is_no_number(load):
    variant = load(VARIANT)
    variant["component"][4]["valueQuantity"]["value"] = "six tenths"
    errors = fv.parse_with_fhir_resources(variant)
    assert any(error.startswith("component.4.valueQuantity.value") for error in errors), errors


def test_ips_comp_1_holds_for_the_required_sections_only(load, profiles):
    """A plan-of-care section with narrative only is fine: ips-comp-1 sits on three slices."""
    bundle = load(MINIMAL)
    composition = entry(bundle, "Composition")
    plan = copy.deepcopy(section(bundle, "11450-4"))
    plan["code"] = {"coding": [{"system": "http://loinc.org", "code": "18776-5"}]}
    del plan["entry"]
    composition["section"].append(plan)
    assert constraint_errors(bundle, profiles) == []
    del section(bundle, "10160-0")["entry"]
    errors = constraint_errors(bundle, profiles)
    assert len(errors) == 1, errors
    assert errors[0].startswith("entry[0]: ips-comp-1 at Composition.section:sectionMedications #1")


def test_an_empty_required_section_with_an_empty_reason_passes(load, profiles):
    bundle = load("ips/Bundle-bundle-no-info-required-sections.json")
    assert all("emptyReason" in section(bundle, code) for code in ("11450-4", "10160-0", "48765-2"))
    assert constraint_errors(bundle, profiles) == []


def test_a_profile_for_another_type_or_an_unknown_profile_is_an_error(load, profiles):
    bundle = load(MINIMAL)
    assert fv.check_constraints(bundle, fv.PATIENT_UV_IPS, profiles) == [
        f"{fv.PATIENT_UV_IPS}: applies to Patient, not Bundle"
    ]
    assert fv.check_constraints(bundle, "http://example.org/nope", profiles)[0].startswith(
        "http://example.org/nope: no such StructureDefinition"
    )


# --- what the constraint set holds --------------------------------------------------------------


def test_the_constraint_set_holds_the_ips_and_genomics_invariants(profiles):
    constraints = fv.ips_constraints(profiles)
    keys = {url.rsplit("/", 1)[1]: {c.key for c in found} for url, found in constraints.items()}
    assert {"bdl-7", "bdl-9", "bdl-10", "bdl-11", "bdl-ips-1"} <= keys["Bundle-uv-ips"]
    assert {"cmp-1", "cmp-2", "ips-comp-1"} <= keys["Composition-uv-ips"]
    assert {"ips-pat-1", "pat-1"} <= keys["Patient-uv-ips"]
    assert {"obs-6", "obs-7", "ext-1", "dom-3"} <= keys["variant"]
    comp_1 = [c.context for c in constraints[fv.COMPOSITION_UV_IPS] if c.key == "ips-comp-1"]
    assert sorted(comp_1) == [
        "Composition.section:sectionAllergies",
        "Composition.section:sectionMedications",
        "Composition.section:sectionProblems",
    ]


def test_skipped_constraints_are_listed_by_key_and_exist(profiles):
    """Nothing is dropped silently: each skipped key occurs, and no loaded one is unevaluable."""
    raw = [
        rule
        for path in profiles.glob("*StructureDefinition*.json")
        for element in json.loads(path.read_text())["snapshot"]["element"]
        for rule in element.get("constraint", [])
        if rule.get("severity") == "error"
    ]
    assert set(fv.SKIPPED) | set(fv.REWRITTEN) <= {rule["key"] for rule in raw}
    loaded = [c for found in fv.ips_constraints(profiles).values() for c in found]
    assert not {c.key for c in loaded} & set(fv.SKIPPED)
    assert not [c for c in loaded if any(f in c.expression for f in fv.UNIMPLEMENTED)]
    bdl_10 = next(c for c in loaded if c.key == "bdl-10")
    assert bdl_10.expression == "type = 'document' implies (timestamp.exists())"


# --- obtaining the schema ---------------------------------------------------------------------


def tarball(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if symlink:
            link = tarfile.TarInfo(symlink)
            link.type = tarfile.SYMTYPE
            link.linkname = "/etc/passwd"
            tar.addfile(link)
    return path


def test_read_tar_member_reads_one_file(tmp_path):
    archive = tarball(tmp_path / "p.tgz", {"package/a.json": b"{}", "package/b": b"x"})
    assert fv.read_tar_member(archive, "package/a.json") == b"{}"
    with pytest.raises(ValueError, match="no file 'package/c'"):
        fv.read_tar_member(archive, "package/c")


@pytest.mark.parametrize(
    ("members", "symlink"),
    [
        ({"package/../../evil": b"x"}, None),
        ({"/etc/evil": b"x"}, None),
        ({"package/a.json": b"{}"}, "package/link"),
    ],
    ids=["dotdot", "absolute", "symlink"],
)
def test_read_tar_member_refuses_unsafe_archives(tmp_path, members, symlink):
    archive = tarball(tmp_path / "p.tgz", members, symlink)
    with pytest.raises(ValueError, match="unsafe member"):
        fv.read_tar_member(archive, "package/a.json")


def test_the_cached_schema_is_reused_without_npm(monkeypatch):
    path = fv.fhir_schema_path()
    assert path.is_relative_to(fv.REPO / ".cache")
    assert json.loads(path.read_text())["$schema"] == "http://json-schema.org/draft-06/schema#"
    monkeypatch.setattr(shutil, "which", lambda _: None)
    assert fv.fhir_schema_path() == path


@pytest.fixture
def unreachable_npm(tmp_path, monkeypatch):
    """An empty cache and an npm that cannot reach the registry."""
    npm = tmp_path / "npm"
    npm.write_text("#!/bin/sh\necho 'npm error code ENOTFOUND' >&2\nexit 1\n")
    npm.chmod(0o755)
    monkeypatch.setattr(fv, "SCHEMA_CACHE", tmp_path / "cache")
    monkeypatch.setattr(shutil, "which", lambda _: str(npm))


@pytest.mark.usefixtures("unreachable_npm")
def test_an_unreachable_registry_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="ENOTFOUND"):
        fv.fhir_schema_path()


@pytest.mark.usefixtures("unreachable_npm")
def test_an_unreachable_registry_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="ENOTFOUND"):
        fv.fhir_schema_path()


def test_missing_npm_fails_in_ci(tmp_path, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(fv, "SCHEMA_CACHE", tmp_path)
    monkeypatch.setattr(shutil, "which", lambda _: None)
    with pytest.raises(pytest.fail.Exception, match="npm is needed"):
        fv.fhir_schema_path()


def test_unchecked_profiles_lists_claimed_profiles_without_a_definition(load, profiles):
    bundle = load(MINIMAL)
    assert fv.unchecked_profiles(bundle, profiles) == sorted(
        {
            url.split("|")[0]
            for resource in [bundle, *(e["resource"] for e in bundle["entry"])]
            for url in resource.get("meta", {}).get("profile", [])
        }
        - {fv.BUNDLE_UV_IPS, fv.COMPOSITION_UV_IPS, fv.PATIENT_UV_IPS}
    )
    bundle["entry"][0]["resource"].setdefault("meta", {})["profile"] = ["http://example.org/x|1"]
    assert "http://example.org/x" in fv.unchecked_profiles(bundle, profiles)
