"""Genes from VEP CSQ and SnpEff ANN: header layouts and per-ALT mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.ingest.annotations import AnnotationLayout, genes_by_alt, layout_from_description
from gateway.ingest.vcf import VcfFile

DATA = Path(__file__).parent / "data"

VEP = (
    "Consequence annotations from Ensembl VEP. Format: "
    "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|ALLELE_NUM"
)
SNPEFF = (
    "Functional annotations: 'Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | "
    "Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | HGVS.p | "
    "cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length | Distance | "
    "ERRORS / WARNINGS / INFO' "
)


def test_vep_layout() -> None:
    assert layout_from_description("CSQ", VEP) == AnnotationLayout("CSQ", 0, 3, 1, 8)


def test_snpeff_layout() -> None:
    assert layout_from_description("ANN", SNPEFF) == AnnotationLayout("ANN", 0, 3, 1, None)


def test_layout_without_gene_field_is_ignored() -> None:
    assert layout_from_description("CSQ", "Format: Allele|Consequence|IMPACT") is None


@pytest.mark.parametrize(
    ("value", "reference", "alternates", "expected"),
    [
        # single ALT: every annotation is that ALT's, whatever its Allele says
        (
            "X|missense_variant|M|BRCA1|G|||||,X|intron_variant|M|NBR2|G|||||",
            "T",
            ["C"],
            [("BRCA1", "NBR2")],
        ),
        # ALLELE_NUM decides; duplicates collapse; empty symbols are dropped
        (
            "T|missense|M|TP53|G||||1,G|intron|M|WRAP53|G||||2,G|missense|M|TP53|G||||2,"
            "G|upstream|M||G||||2",
            "C",
            ["T", "G"],
            [("TP53",), ("TP53", "WRAP53")],
        ),
        # an ALLELE_NUM outside the ALTs is ignored
        ("T|missense|M|TP53|G||||3", "C", ["T", "G"], [(), ()]),
        ("G|intergenic_variant|MODIFIER|||||||1", "A", ["G"], [()]),
        # percent-encoded characters in a symbol
        ("G|missense|M|A%3BB|G||||1", "A", ["G"], [("A;B",)]),
    ],
)
def test_vep_genes_by_alt(
    value: str, reference: str, alternates: list[str], expected: list[tuple[str, ...]]
) -> None:
    layout = layout_from_description("CSQ", VEP)
    assert layout is not None
    assert genes_by_alt([layout], {"CSQ": value}, reference, alternates) == expected


def test_vep_trimmed_alleles_without_allele_num() -> None:
    layout = layout_from_description("CSQ", "Format: Allele|Consequence|IMPACT|SYMBOL|Gene")
    assert layout is not None
    value = "-|frameshift|HIGH|CFTR|E1,TTT|frameshift|HIGH|CFTR2|E1,C|missense|M|GENE3|E3"
    genes = genes_by_alt([layout], {"CSQ": value}, "ATT", ["A", "ATTT", "AC"])
    assert genes == [("CFTR",), ("CFTR2",), ("GENE3",)]
    # no shared first base: alleles as written; symbolic alleles also without brackets
    value = "AC|x|x|GENE1|E,DUP|x|x|GENE2|E,TTT|x|x|NOPE|E"
    genes = genes_by_alt([layout], {"CSQ": value}, "A", ["AC", "<DUP>", "C"])
    assert genes == [("GENE1",), ("GENE2",), ()]


def test_snpeff_intergenic_names_no_gene() -> None:
    layout = layout_from_description("ANN", SNPEFF)
    assert layout is not None
    value = "A|intergenic_region|MODIFIER|GENE1-HLA-A|E1-E2|intergenic_region|E1-E2|||||"
    assert genes_by_alt([layout], {"ANN": value}, "T", ["A"]) == [()]


def genes_in(name: str) -> list[tuple[int, str, tuple[str, ...]]]:
    with VcfFile(DATA / name) as vcf:
        return [(c.variant.start + 1, c.variant.alternate, c.variant.genes) for c in vcf]


def test_vep_file() -> None:
    assert genes_in("vep.vcf") == [
        (43045712, "C", ("BRCA1", "NBR2")),
        (7675088, "T", ("TP53",)),
        (7675088, "G", ("TP53", "WRAP53")),
        (1000, "G", ()),
    ]


def test_vep_file_without_allele_num() -> None:
    assert genes_in("vep_no_allele_num.vcf") == [
        (117559590, "A", ("CFTR",)),
        (117559590, "ATTT", ("CFTR", "CFTR-AS1")),
        (117559600, "A", ("CFTR",)),
        (117559600, "C", ("ASZ1",)),
    ]


def test_snpeff_file() -> None:
    assert genes_in("snpeff.vcf") == [
        (32906729, "C", ("BRCA2",)),
        (32906729, "G", ("BRCA2", "N4BP2L1")),
        (20000000, "A", ()),
    ]
