"""Beacon v2 informational documents, validated against the official v2.1.1 schemas."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.beacon.framework import (
    BeaconDescription,
    FilteringTerm,
    configuration_response,
    entry_types_response,
    filtering_terms_response,
    info_response,
    map_response,
    service_info,
    sex_filtering_terms,
)
from gateway.beacon.responses import API_VERSION
from gateway.domain.granularity import Granularity, SecurityLevel
from tests.support.beacon_schema import schema_root, validate

RESPONSES = "framework/json/responses/"
ROOT = "http://127.0.0.1:8080/beacon"

DEMO = BeaconDescription(
    beacon_id="eu.example.gateway.de",
    name="Health data gateway DE",
    country="DE",
    base_url=ROOT + "/",
    version="0.1.0",
    environment="dev",
    organization_name="Example eHealth operator",
    default_granularity=Granularity.COUNT,
    security_levels=(SecurityLevel.PUBLIC, SecurityLevel.REGISTERED, SecurityLevel.CONTROLLED),
)
FULL = BeaconDescription(
    beacon_id="eu.example.gateway.fr",
    name="Passerelle FR",
    country="FR",
    base_url="https://gateway.example.fr/beacon",
    version="1.2.3",
    environment="prod",
    organization_name="Opérateur national",
    default_granularity=Granularity.BOOLEAN,
    security_levels=(SecurityLevel.CONTROLLED,),
    description="Beacon of the French gateway",
    organization_id="FR-NCP",
    organization_url="https://operator.example.fr",
    contact_url="mailto:beacon@example.fr",
)
TERMS = (
    *sex_filtering_terms(),
    FilteringTerm("ontologyTerm", "ICD10:E11", "Type 2 diabetes mellitus", ("individual",)),
    FilteringTerm("ontologyTerm", "HP:0000118"),
    FilteringTerm("alphanumeric", "age", "age at sampling", ("individual",)),
)

DOCUMENTS: list[tuple[str, Callable[[BeaconDescription], dict[str, Any]], str]] = [
    ("info", info_response, "beaconInfoResponse.json"),
    ("service-info", service_info, "ga4gh-service-info-1-0-0-schema.json"),
    ("configuration", configuration_response, "beaconConfigurationResponse.json"),
    ("map", map_response, "beaconMapResponse.json"),
    ("entry_types", entry_types_response, "beaconEntryTypesResponse.json"),
    (
        "filtering_terms",
        lambda d: filtering_terms_response(d, TERMS),
        "beaconFilteringTermsResponse.json",
    ),
    (
        "filtering_terms (none)",
        lambda d: filtering_terms_response(d, ()),
        "beaconFilteringTermsResponse.json",
    ),
]


@pytest.fixture(scope="module")
def schemas(shared: Path) -> Path:
    return schema_root(shared)


@pytest.mark.parametrize("description", [DEMO, FULL], ids=["demo", "full"])
@pytest.mark.parametrize(
    ("build", "schema"), [d[1:] for d in DOCUMENTS], ids=[d[0] for d in DOCUMENTS]
)
def test_documents_are_schema_valid(
    schemas: Path,
    description: BeaconDescription,
    build: Callable[[BeaconDescription], dict[str, Any]],
    schema: str,
) -> None:
    assert validate(build(description), RESPONSES + schema, schemas) == []


@pytest.mark.parametrize(
    ("build", "schema", "drop"),
    [
        (info_response, "beaconInfoResponse.json", ("response", "apiVersion")),
        (service_info, "ga4gh-service-info-1-0-0-schema.json", ("organization", "url")),
        (configuration_response, "beaconConfigurationResponse.json", ("response", "$schema")),
        (map_response, "beaconMapResponse.json", ("response", "endpointSets")),
        (entry_types_response, "beaconEntryTypesResponse.json", ("meta", "beaconId")),
    ],
)
def test_validator_rejects_broken_documents(
    schemas: Path,
    build: Callable[[BeaconDescription], dict[str, Any]],
    schema: str,
    drop: tuple[str, str],
) -> None:
    doc = build(DEMO)
    del doc[drop[0]][drop[1]]
    assert validate(doc, RESPONSES + schema, schemas) != []


def test_info() -> None:
    doc = info_response(FULL)
    assert doc["meta"] == {
        "beaconId": "eu.example.gateway.fr",
        "apiVersion": API_VERSION,
        "returnedSchemas": [],
    }
    response = doc["response"]
    assert response["apiVersion"] == API_VERSION
    assert response["environment"] == "prod"
    assert response["organization"] == {
        "id": "FR-NCP",
        "name": "Opérateur national",
        "welcomeUrl": "https://operator.example.fr",
        "contactUrl": "mailto:beacon@example.fr",
    }
    assert response["info"] == {"country": "FR", "softwareVersion": "1.2.3"}


def test_service_info() -> None:
    doc = service_info(DEMO)
    assert doc["type"] == {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION}
    assert doc["organization"] == {"name": "Example eHealth operator", "url": ROOT}
    assert doc["version"] == "0.1.0"


def test_configuration() -> None:
    response = configuration_response(DEMO)["response"]
    assert response["maturityAttributes"] == {"productionStatus": "DEV"}
    assert response["securityAttributes"] == {
        "defaultGranularity": "count",
        "securityLevels": ["PUBLIC", "REGISTERED", "CONTROLLED"],
    }
    entry_types = response["entryTypes"]
    assert set(entry_types) == {"genomicVariation", "individual", "dataset"}
    variant_schema = entry_types["genomicVariation"]["defaultSchema"]
    assert variant_schema["id"] == "ga4gh-beacon-variant-v2.1.0"
    assert variant_schema["referenceToSchemaDefinition"].endswith(
        "/models/json/beacon-v2-default-model/genomicVariations/defaultSchema.json"
    )
    assert [c["id"] for c in entry_types["dataset"]["aCollectionOf"]] == [
        "genomicVariation",
        "individual",
    ]


def test_entry_types_match_the_configuration() -> None:
    configured = configuration_response(DEMO)["response"]["entryTypes"]
    assert entry_types_response(DEMO)["response"]["entryTypes"] == configured


def test_map_urls() -> None:
    sets = map_response(DEMO)["response"]["endpointSets"]
    variants = sets["genomicVariation"]
    assert variants["rootUrl"] == f"{ROOT}/g_variants"
    assert variants["singleEntryUrl"] == f"{ROOT}/g_variants/{{id}}"
    assert variants["endpoints"] == {
        "individual": {
            "returnedEntryType": "individual",
            "url": f"{ROOT}/g_variants/{{id}}/individuals",
        }
    }
    assert sets["individual"]["endpoints"]["genomicVariation"]["url"] == (
        f"{ROOT}/individuals/{{id}}/g_variants"
    )
    assert {name: e["url"] for name, e in sets["dataset"]["endpoints"].items()} == {
        "genomicVariation": f"{ROOT}/datasets/{{id}}/g_variants",
        "individual": f"{ROOT}/datasets/{{id}}/individuals",
    }


def test_filtering_terms() -> None:
    response = filtering_terms_response(DEMO, TERMS)["response"]
    assert response["filteringTerms"][:2] == [
        {"type": "ontologyTerm", "id": "NCIT:C16576", "label": "female", "scopes": ["individual"]},
        {"type": "ontologyTerm", "id": "NCIT:C20197", "label": "male", "scopes": ["individual"]},
    ]
    assert response["filteringTerms"][3] == {"type": "ontologyTerm", "id": "HP:0000118"}
    resources = {r["nameSpacePrefix"]: r for r in response["resources"]}
    assert list(resources) == ["NCIT", "ICD10", "HP"]
    assert resources["NCIT"]["iriPrefix"] == "http://purl.obolibrary.org/obo/NCIT_"
    assert resources["HP"] == {"id": "hp", "nameSpacePrefix": "HP"}


def test_filtering_terms_always_include_sex() -> None:
    ids = [t["id"] for t in filtering_terms_response(DEMO, ())["response"]["filteringTerms"]]
    assert ids == ["NCIT:C16576", "NCIT:C20197"]
    wider = FilteringTerm("ontologyTerm", "NCIT:C20197", "male", ("individual", "genomicVariation"))
    terms = filtering_terms_response(DEMO, [wider])["response"]["filteringTerms"]
    assert [t["id"] for t in terms] == ["NCIT:C16576", "NCIT:C20197"]
    assert terms[1]["scopes"] == ["individual", "genomicVariation"]


def test_sex_terms_scopes() -> None:
    terms = sex_filtering_terms(("individual", "genomicVariation"))
    assert [t.scopes for t in terms] == [("individual", "genomicVariation")] * 2
