"""Beacon v2 entry records, validated against the default model's schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.beacon.records import (
    DUO_VERSION,
    CaseLevel,
    dataset_record,
    duo_term,
    genomic_hgvs,
    individual_record,
    returned_schema,
    sequence_id,
    variant_record,
)
from gateway.domain.granularity import SecurityLevel
from gateway.domain.samples import Sex
from gateway.domain.variants import Variant, VariantType
from tests.support.beacon_schema import (
    DATASET_RECORD,
    INDIVIDUAL_RECORD,
    VARIANT_RECORD,
    schema_root,
    validate,
)

SNV = Variant("GRCh38", "22", 10516172, 10516173, "C", "T", VariantType.SNP, genes=("XKR3",))
SYMBOLIC_DEL = Variant("GRCh38", "1", 999, 2000, "N", "<DEL>", VariantType.DEL)
ALT_CONTIG = Variant("GRCh38", "chrUn_KI270302v1", 99, 100, "A", "G", VariantType.SNP)
INSERTION = Variant("GRCh37", "X", 500, 501, "C", "CTT", VariantType.INDEL)
DELETION = Variant("GRCh38", "MT", 10, 12, "AT", "", VariantType.INDEL)
BREAKEND = Variant("GRCh38", "2", 321681, 321682, "G", "G]17:198982]", VariantType.BND)
OTHER_ASSEMBLY = Variant("CHM13", "1", 5, 6, "A", "C", VariantType.SNP)
ALL_VARIANTS = [SNV, SYMBOLIC_DEL, ALT_CONTIG, INSERTION, DELETION, BREAKEND, OTHER_ASSEMBLY]


@pytest.fixture(scope="module")
def schemas(shared: Path) -> Path:
    return schema_root(shared)


def test_snv_record() -> None:
    carriers = [CaseLevel("S1", "I1", homozygous=False), CaseLevel("S2", "I2", homozygous=True)]
    assert variant_record(SNV, case_level=carriers) == {
        "variantInternalId": "GRCh38-22-10516173-C-T",
        "variation": {
            "variantType": "SNP",
            "referenceBases": "C",
            "alternateBases": "T",
            "location": {
                "type": "SequenceLocation",
                "sequence_id": "refseq:NC_000022.11",
                "interval": {
                    "type": "SequenceInterval",
                    "start": {"type": "Number", "value": 10516172},
                    "end": {"type": "Number", "value": 10516173},
                },
            },
        },
        "identifiers": {"genomicHGVSId": "NC_000022.11:g.10516173C>T"},
        "molecularAttributes": {"geneIds": ["XKR3"]},
        "caseLevelData": [
            {
                "biosampleId": "S1",
                "individualId": "I1",
                "zygosity": {"id": "GENO:0000135", "label": "heterozygous"},
            },
            {
                "biosampleId": "S2",
                "individualId": "I2",
                "zygosity": {"id": "GENO:0000136", "label": "homozygous"},
            },
        ],
    }


def test_symbolic_deletion_has_unspecified_bases_and_its_type() -> None:
    record = variant_record(SYMBOLIC_DEL)
    variation = record["variation"]
    assert record["variantInternalId"] == "GRCh38-1-1000-N-DEL-2000"
    assert (variation["variantType"], variation["alternateBases"]) == ("DEL", "N")
    assert variation["location"]["interval"]["start"]["value"] == 999
    assert variation["location"]["interval"]["end"]["value"] == 2000
    assert "identifiers" not in record


def test_breakend_has_unspecified_bases() -> None:
    variation = variant_record(BREAKEND)["variation"]
    assert (variation["variantType"], variation["alternateBases"]) == ("BND", "N")


def test_deletion_keeps_empty_alternate_bases() -> None:
    variation = variant_record(DELETION)["variation"]
    assert (variation["referenceBases"], variation["alternateBases"]) == ("AT", "")


@pytest.mark.parametrize(
    ("assembly", "chromosome", "expected"),
    [
        ("GRCh38", "22", "refseq:NC_000022.11"),
        ("GRCh37", "X", "refseq:NC_000023.10"),
        ("GRCh38", "MT", "refseq:NC_012920.1"),
        ("GRCh38", "chrUn_KI270302v1", "GRCh38:chrUn_KI270302v1"),
        ("GRCh38", "HLA-A*01:01:01:01", "GRCh38:HLA-A*01:01:01:01"),
        ("CHM13", "1", "CHM13:1"),
    ],
)
def test_sequence_id(assembly: str, chromosome: str, expected: str) -> None:
    assert sequence_id(assembly, chromosome) == expected


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (SNV, "NC_000022.11:g.10516173C>T"),
        (Variant("GRCh37", "17", 41245465, 41245466, "g", "a", VariantType.SNP),
         "NC_000017.10:g.41245466G>A"),
        (ALT_CONTIG, None),
        (INSERTION, None),
        (SYMBOLIC_DEL, None),
        (OTHER_ASSEMBLY, None),
    ],
)  # fmt: skip
def test_genomic_hgvs(variant: Variant, expected: str | None) -> None:
    assert genomic_hgvs(variant) == expected


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda v: v.variant_id)
def test_variant_records_are_schema_valid(schemas: Path, variant: Variant) -> None:
    record = variant_record(variant, case_level=[CaseLevel("S1", "I1", homozygous=True)])
    assert validate(record, VARIANT_RECORD, schemas) == []
    assert not {"_info", "info"} & set(record)


def test_validator_rejects_symbolic_alleles_and_bare_contig_names(schemas: Path) -> None:
    """Why the record uses ``N`` and CURIE sequence ids: the raw forms are invalid."""
    record: dict[str, Any] = variant_record(SYMBOLIC_DEL)
    record["variation"]["alternateBases"] = "<DEL>"
    assert validate(record, VARIANT_RECORD, schemas) != []
    record = variant_record(ALT_CONTIG)
    record["variation"]["location"]["sequence_id"] = "chrUn_KI270302v1"
    assert validate(record, VARIANT_RECORD, schemas) != []
    record = variant_record(SNV)
    del record["variation"]["alternateBases"]
    assert validate(record, VARIANT_RECORD, schemas) != []


# --- individuals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sex", "term"),
    [
        (Sex.FEMALE, {"id": "NCIT:C16576", "label": "female"}),
        (Sex.MALE, {"id": "NCIT:C20197", "label": "male"}),
        (Sex.OTHER, {"id": "NCIT:C17649", "label": "other"}),
        (Sex.UNKNOWN, {"id": "NCIT:C17998", "label": "unknown"}),
    ],
)
def test_individual_records(schemas: Path, sex: Sex, term: dict[str, str]) -> None:
    record = individual_record("I1", sex)
    assert record == {"id": "I1", "sex": term}
    assert validate(record, INDIVIDUAL_RECORD, schemas) == []


def test_individual_with_diseases(schemas: Path) -> None:
    record = individual_record(
        "I1", Sex.FEMALE, diseases=[("ICD10:E11", "Type 2 diabetes mellitus")]
    )
    assert record["diseases"] == [
        {"diseaseCode": {"id": "ICD10:E11", "label": "Type 2 diabetes mellitus"}}
    ]
    assert validate(record, INDIVIDUAL_RECORD, schemas) == []


def test_validator_rejects_an_individual_without_sex(schemas: Path) -> None:
    assert validate({"id": "I1"}, INDIVIDUAL_RECORD, schemas) != []


# --- datasets -----------------------------------------------------------------------------


def test_dataset_record(schemas: Path) -> None:
    record = dataset_record(
        "1kg-chr22",
        "1000 Genomes chr22 slice",
        description="GRCh38 slice, 2,548 samples",
        assembly="GRCh38",
        security=SecurityLevel.REGISTERED,
        duo=["GRU", "DUO:0000019"],
        created="2024-05-01T12:00:00Z",
        variant_count=3042,
        sample_count=2548,
        updated="2024-06-01T08:00:00+02:00",
    )
    assert record == {
        "id": "1kg-chr22",
        "name": "1000 Genomes chr22 slice",
        "description": "GRCh38 slice, 2,548 samples",
        "createDateTime": "2024-05-01T12:00:00Z",
        "updateDateTime": "2024-06-01T08:00:00+02:00",
        "dataUseConditions": {
            "duoDataUse": [
                {"id": "DUO:0000042", "label": "general research use", "version": DUO_VERSION},
                {"id": "DUO:0000019", "label": "publication required", "version": DUO_VERSION},
            ]
        },
        "info": {
            "assemblyId": "GRCh38",
            "securityLevel": "REGISTERED",
            "variantCount": 3042,
            "sampleCount": 2548,
        },
    }
    assert validate(record, DATASET_RECORD, schemas) == []


def test_minimal_dataset_record(schemas: Path) -> None:
    record = dataset_record(
        "d",
        "D",
        description=None,
        assembly="GRCh37",
        security=SecurityLevel.PUBLIC,
        duo=[],
        created=None,
        variant_count=None,
    )
    assert record == {
        "id": "d",
        "name": "D",
        "info": {"assemblyId": "GRCh37", "securityLevel": "PUBLIC"},
    }
    assert validate(record, DATASET_RECORD, schemas) == []


def test_duo_terms() -> None:
    assert duo_term("hmb") == {
        "id": "DUO:0000006",
        "label": "health or medical or biomedical research",
        "version": DUO_VERSION,
    }
    assert duo_term("DUO:0000999") == {"id": "DUO:0000999", "version": DUO_VERSION}
    with pytest.raises(ValueError, match="not a DUO code"):
        duo_term("anything goes")


def test_validator_rejects_duo_terms_without_version(schemas: Path) -> None:
    record = {"id": "d", "name": "D", "dataUseConditions": {"duoDataUse": [{"id": "DUO:0000042"}]}}
    assert validate(record, DATASET_RECORD, schemas) != []


def test_returned_schemas() -> None:
    assert returned_schema("genomicVariation") == {
        "entityType": "genomicVariation",
        "schema": "ga4gh-beacon-variant-v2.1.0",
    }
    assert returned_schema("individual")["schema"] == "ga4gh-beacon-individual-v2.0.0"
    assert returned_schema("dataset")["schema"] == "ga4gh-beacon-dataset-v2.0.0"


def test_schema_ids_match_the_schemas(shared: Path) -> None:
    """Each default schema names its version in ``$comment``; the ids repeat it."""
    model = schema_root(shared) / "models/json/beacon-v2-default-model"
    for entity, folder in [
        ("genomicVariation", "genomicVariations"),
        ("individual", "individuals"),
        ("dataset", "datasets"),
    ]:
        comment = (model / folder / "defaultSchema.json").read_text()
        assert f"version: {returned_schema(entity)['schema']}" in comment
