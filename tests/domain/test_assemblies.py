"""Chromosome and assembly naming (pure)."""

from __future__ import annotations

import pytest

from gateway.domain.assemblies import (
    GRCH37,
    GRCH38,
    canonical_chromosome,
    normalize_assembly,
    refseq_accession,
)
from gateway.errors import BadRequest


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GRCh38", GRCH38),
        ("hg38", GRCH38),
        ("GRCh38.p13", GRCH38),
        ("GCF_000001405.40", GRCH38),
        ("grch37", GRCH37),
        ("hg19", GRCH37),
        ("b37", GRCH37),
        ("GRCh37.p13", GRCH37),
    ],
)
def test_assembly_aliases(name: str, expected: str) -> None:
    assert normalize_assembly(name) == expected


@pytest.mark.parametrize("name", ["hg18", "GRCm39", "", "T2T"])
def test_unknown_assembly_is_refused(name: str) -> None:
    with pytest.raises(BadRequest, match="unknown assembly"):
        normalize_assembly(name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chr1", "1"),
        ("1", "1"),
        ("01", "1"),
        ("NC_000001.11", "1"),
        ("refseq:NC_000001.11", "1"),
        ("chr19", "19"),
        ("chrX", "X"),
        ("x", "X"),
        ("chrM", "MT"),
        ("MT", "MT"),
        ("M", "MT"),
        ("NC_012920.1", "MT"),
        ("NC_000023.11", "X"),
        ("chrUn_KI270302v1", "chrUn_KI270302v1"),
    ],
)
def test_chromosome_names_on_grch38(name: str, expected: str) -> None:
    assert canonical_chromosome(name, GRCH38) == expected


def test_one_never_becomes_nineteen() -> None:
    assert canonical_chromosome("1", GRCH38) != canonical_chromosome("19", GRCH38)


def test_refseq_version_must_match_the_assembly() -> None:
    assert canonical_chromosome("NC_000001.10", GRCH37) == "1"
    with pytest.raises(BadRequest, match="not a chromosome of GRCh38"):
        canonical_chromosome("NC_000001.10", GRCH38)


def test_refseq_accessions() -> None:
    assert refseq_accession("22", GRCH38) == "NC_000022.11"
    assert refseq_accession("X", GRCH37) == "NC_000023.10"
    assert refseq_accession("MT", GRCH38) == "NC_012920.1"
    assert refseq_accession("chrUn_x", GRCH38) is None
