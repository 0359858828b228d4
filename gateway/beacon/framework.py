"""Beacon v2 informational documents: info, service-info, configuration, map, entry types and
filtering terms.

Implements ``framework/json/responses/`` of the Beacon v2 schema release v2.1.1
(``reference/beacon-v2.md`` §1): ``beaconInfoResponse.json`` (``sections/beaconInfoResults.json``),
``ga4gh-service-info-1-0-0-schema.json``, ``beaconConfigurationResponse.json``
(``configuration/beaconConfigurationSchema.json``), ``beaconMapResponse.json``
(``configuration/beaconMapSchema.json``), ``beaconEntryTypesResponse.json`` and
``beaconFilteringTermsResponse.json`` (``sections/beaconFilteringTermsResults.json``).
Informational documents carry ``sections/beaconInformationalResponseMeta.json`` with an empty
``returnedSchemas``: they return no entry type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gateway.beacon.records import SCHEMA_IDS
from gateway.beacon.responses import API_VERSION
from gateway.domain.granularity import Granularity, SecurityLevel

Environment = Literal["dev", "prod", "test", "staging"]

SCHEMA_BASE = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
_MODEL = SCHEMA_BASE + "models/json/beacon-v2-default-model/"
_PRODUCTION_STATUS = {"dev": "DEV", "test": "TEST", "staging": "TEST", "prod": "PROD"}


@dataclass(frozen=True, slots=True)
class BeaconDescription:
    """What a beacon says about itself; ``base_url`` is its root (``…/beacon``)."""

    beacon_id: str
    name: str
    country: str
    base_url: str
    version: str
    environment: Environment
    organization_name: str
    default_granularity: Granularity
    security_levels: tuple[SecurityLevel, ...]
    description: str | None = None
    organization_id: str | None = None  # default: the organization's name
    organization_url: str | None = None  # default: base_url (service-info requires a URL)
    contact_url: str | None = None

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/")


@dataclass(frozen=True, slots=True)
class EntryType:
    """One entry type of the default model that the gateway serves."""

    id: str
    name: str
    path: str  # the route under the beacon root
    model_folder: str  # the folder under models/json/beacon-v2-default-model/
    term: tuple[str, str]  # ontologyTermForThisType
    description: str


ENTRY_TYPES = (
    EntryType(
        "genomicVariation", "Genomic Variants", "g_variants", "genomicVariations",
        ("ENSGLOSSARY:0000092", "Variant"),
        "Variants observed in the samples of a dataset (one ALT allele per entry).",
    ),
    EntryType(
        "individual", "Individuals", "individuals", "individuals",
        ("NCIT:C25190", "Person"),
        "People whose samples were sequenced; only those consenting to research count.",
    ),
    EntryType(
        "dataset", "Datasets", "datasets", "datasets",
        ("NCIT:C47824", "Data set"),
        "Collections of variants and individuals loaded from one or more VCF files.",
    ),
)  # fmt: skip
# Cross-entry routes: (from, to). The gateway answers g_variants/{id}/individuals (carriers).
CROSS_ENTRY = (
    ("genomicVariation", "individual"),
    ("individual", "genomicVariation"),
    ("dataset", "genomicVariation"),
    ("dataset", "individual"),
)


@dataclass(frozen=True, slots=True)
class FilteringTerm:
    """A ``/filtering_terms`` item; ``id`` is a CURIE for ontology terms."""

    type: Literal["ontologyTerm", "alphanumeric"]
    id: str
    label: str | None = None
    scopes: tuple[str, ...] = ()


# Phenopackets-style resources for the CURIE prefixes the gateway filters on.
_RESOURCES: dict[str, dict[str, str]] = {
    "NCIT": {
        "id": "ncit",
        "name": "NCI Thesaurus OBO Edition",
        "url": "http://purl.obolibrary.org/obo/ncit.owl",
        "nameSpacePrefix": "NCIT",
        "iriPrefix": "http://purl.obolibrary.org/obo/NCIT_",
    },
    "ICD10": {
        "id": "icd10",
        "name": "International Statistical Classification of Diseases and Related Health "
        "Problems 10th Revision",
        "url": "https://icd.who.int/browse10",
        "nameSpacePrefix": "ICD10",
        "iriPrefix": "https://icd.who.int/browse10/2019/en#/",
    },
}


def sex_filtering_terms(scopes: Sequence[str] = ("individual",)) -> tuple[FilteringTerm, ...]:
    """The sex filters (DESIGN §2): NCIT:C16576 female and NCIT:C20197 male."""
    return (
        FilteringTerm("ontologyTerm", "NCIT:C16576", "female", tuple(scopes)),
        FilteringTerm("ontologyTerm", "NCIT:C20197", "male", tuple(scopes)),
    )


def info_response(d: BeaconDescription) -> dict[str, Any]:
    response: dict[str, Any] = {
        "id": d.beacon_id,
        "name": d.name,
        "apiVersion": API_VERSION,
        "environment": d.environment,
        "organization": _organization(d),
        "welcomeUrl": d.root,
        "info": {"country": d.country, "softwareVersion": d.version},
    }
    if d.description:
        response["description"] = d.description
    return {"meta": _meta(d), "response": response}


def service_info(d: BeaconDescription) -> dict[str, Any]:
    """GA4GH service-info 1.0.0 (a bare document, no ``meta``)."""
    document: dict[str, Any] = {
        "id": d.beacon_id,
        "name": d.name,
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION},
        "organization": {"name": d.organization_name, "url": d.organization_url or d.root},
        "environment": d.environment,
        "version": d.version,
    }
    if d.description:
        document["description"] = d.description
    if d.contact_url:
        document["contactUrl"] = d.contact_url
    return document


def configuration_response(d: BeaconDescription) -> dict[str, Any]:
    response = {
        "$schema": SCHEMA_BASE + "framework/json/configuration/beaconConfigurationSchema.json",
        "maturityAttributes": {"productionStatus": _PRODUCTION_STATUS[d.environment]},
        "securityAttributes": {
            "defaultGranularity": d.default_granularity.value,
            "securityLevels": [level.value for level in d.security_levels],
        },
        "entryTypes": _entry_types(),
    }
    return {"meta": _meta(d), "response": response}


def map_response(d: BeaconDescription) -> dict[str, Any]:
    response = {
        "$schema": SCHEMA_BASE + "framework/json/configuration/beaconMapSchema.json",
        "endpointSets": {entry.id: _endpoint_set(d.root, entry) for entry in ENTRY_TYPES},
    }
    return {"meta": _meta(d), "response": response}


def entry_types_response(d: BeaconDescription) -> dict[str, Any]:
    return {"meta": _meta(d), "response": {"entryTypes": _entry_types()}}


def filtering_terms_response(
    d: BeaconDescription, terms: Sequence[FilteringTerm]
) -> dict[str, Any]:
    """The sex terms (every individual has a sex) and ``terms``, which override a sex term of
    the same id; then a resource for each CURIE prefix among the ontology terms."""
    merged = {term.id: term for term in sex_filtering_terms()}
    merged.update((term.id, term) for term in terms)
    response = {
        "filteringTerms": [_filtering_term(term) for term in merged.values()],
        "resources": _resources(list(merged.values())),
    }
    return {"meta": _meta(d), "response": response}


def _meta(d: BeaconDescription) -> dict[str, Any]:
    return {"beaconId": d.beacon_id, "apiVersion": API_VERSION, "returnedSchemas": []}


def _organization(d: BeaconDescription) -> dict[str, Any]:
    organization = {
        "id": d.organization_id or d.organization_name,
        "name": d.organization_name,
        "welcomeUrl": d.organization_url or d.root,
    }
    if d.contact_url:
        organization["contactUrl"] = d.contact_url
    return organization


def _entry_types() -> dict[str, Any]:
    return {entry.id: _entry_type(entry) for entry in ENTRY_TYPES}


def _entry_type(entry: EntryType) -> dict[str, Any]:
    schema_id = SCHEMA_IDS[entry.id]
    definition: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "description": entry.description,
        "ontologyTermForThisType": {"id": entry.term[0], "label": entry.term[1]},
        "partOfSpecification": f"Beacon {API_VERSION}",
        "defaultSchema": {
            "id": schema_id,
            "name": f"Default schema for {entry.name.lower()}",
            "referenceToSchemaDefinition": f"{_MODEL}{entry.model_folder}/defaultSchema.json",
            "schemaVersion": schema_id.rsplit("-", 1)[1],
        },
        "nonFilteredQueriesAllowed": True,
    }
    if entry.id == "dataset":
        definition["aCollectionOf"] = [
            {"id": other.id, "name": other.name} for other in ENTRY_TYPES if other is not entry
        ]
    return definition


def _endpoint_set(root: str, entry: EntryType) -> dict[str, Any]:
    return {
        "entryType": entry.id,
        "openAPIEndpointsDefinition": f"{_MODEL}{entry.model_folder}/endpoints.json",
        "rootUrl": f"{root}/{entry.path}",
        "singleEntryUrl": f"{root}/{entry.path}/{{id}}",
        "endpoints": {
            target: {
                "returnedEntryType": target,
                "url": f"{root}/{entry.path}/{{id}}/{_path_of(target)}",
            }
            for source, target in CROSS_ENTRY
            if source == entry.id
        },
    }


def _path_of(entry_id: str) -> str:
    return next(entry.path for entry in ENTRY_TYPES if entry.id == entry_id)


def _filtering_term(term: FilteringTerm) -> dict[str, Any]:
    item: dict[str, Any] = {"type": term.type, "id": term.id}
    if term.label:
        item["label"] = term.label
    if term.scopes:
        item["scopes"] = list(term.scopes)
    return item


def _resources(terms: Sequence[FilteringTerm]) -> list[dict[str, str]]:
    prefixes = dict.fromkeys(
        term.id.split(":", 1)[0] for term in terms if term.type == "ontologyTerm" and ":" in term.id
    )
    return [
        dict(_RESOURCES.get(prefix, {"id": prefix.lower(), "nameSpacePrefix": prefix}))
        for prefix in prefixes
    ]
