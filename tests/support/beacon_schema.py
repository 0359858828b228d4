"""Validate documents against the official Beacon v2.1.1 JSON schemas in ../shared.

Built as ``conformance/beacon-v2/README.md`` prescribes: every schema file is registered under
its upstream ``raw.githubusercontent.com/.../main/`` URI (so absolute refs resolve locally),
VRS 1.3 under its ``w3id.org`` URI, and ``models/.../common/info.json`` as an alias of
``framework/json/common/info.json`` (beacon-v2#199). Nothing is fetched over the network.

    errors = validate(doc, "framework/json/responses/beaconCountResponse.json")
    errors = validate(params, "models/json/beacon-v2-default-model/genomicVariations/"
                              "requestParameters.json#/g_variant")

``validate`` finds ../shared through ``tests.conftest.require_shared``: a test that uses it
skips when the corpus is absent and CI is unset, and fails in CI. Tests that already hold the
``shared`` fixture may pass it as ``root``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import require_shared

BASE = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
VRS_URI = "https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json"
_VRS_FOLDER = "external/ga4gh-vrs-1.3.0/"
_INFO = "framework/json/common/info.json"
_INFO_ALIAS = "models/json/beacon-v2-default-model/common/info.json"

# Response schema per granularity (conformance README).
RESPONSE_SCHEMAS = {
    "boolean": "framework/json/responses/beaconBooleanResponse.json",
    "count": "framework/json/responses/beaconCountResponse.json",
    "record": "framework/json/responses/beaconResultsetsResponse.json",
}
COLLECTIONS = "framework/json/responses/beaconCollectionsResponse.json"
ERROR = "framework/json/responses/beaconErrorResponse.json"
REQUEST_BODY = "framework/json/requests/beaconRequestBody.json"
SUMMARY = "framework/json/responses/sections/beaconReceivedRequestSummary.json"
MODEL = "models/json/beacon-v2-default-model/"
VARIANT_RECORD = MODEL + "genomicVariations/defaultSchema.json"
INDIVIDUAL_RECORD = MODEL + "individuals/defaultSchema.json"
DATASET_RECORD = MODEL + "datasets/defaultSchema.json"
G_VARIANT_PARAMETERS = MODEL + "genomicVariations/requestParameters.json#/g_variant"


def schema_root(shared: Path) -> Path:
    return shared / "conformance" / "beacon-v2"


@functools.cache
def registry(root: Path) -> Registry[Any]:
    """Every schema under ``root`` (conformance/beacon-v2), registered once per session."""
    resources = [
        (_uri(path.relative_to(root).as_posix()), _resource(path))
        for path in sorted(root.rglob("*.json"))
    ]
    resources.append((BASE + _INFO_ALIAS, _resource(root / _INFO)))
    return Registry().with_resources(resources)


def validator(schema_rel: str, root: Path | None = None) -> Draft202012Validator:
    """A validator for one schema, named by its path (and optional ``#`` pointer) under root."""
    root = root or schema_root(require_shared())
    return Draft202012Validator(
        {"$ref": BASE + schema_rel},
        registry=registry(root),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def validate(doc: object, schema_rel: str, root: Path | None = None) -> list[str]:
    """Every error as ``<json path>: <message>``; an empty list means valid."""
    errors = validator(schema_rel, root).iter_errors(doc)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


def assert_valid(doc: object, schema_rel: str, root: Path | None = None) -> None:
    errors = validate(doc, schema_rel, root)
    assert not errors, f"not valid against {schema_rel}:\n" + "\n".join(errors)


@pytest.fixture(scope="session")
def beacon_schema_root(shared: Path) -> Path:
    """Fixture form, for a conftest to re-export: the folder of the schemas."""
    return schema_root(shared)


def _uri(rel: str) -> str:
    return VRS_URI if rel.startswith(_VRS_FOLDER) else BASE + rel


def _resource(path: Path) -> Resource[Any]:
    return Resource.from_contents(json.loads(path.read_text()), default_specification=DRAFT202012)
