"""Static tables behind the demo data: GRCh38 contigs and genes, variant kinds, consequences."""

from __future__ import annotations

from dataclasses import dataclass

# GRCh38 primary assembly (GCF_000001405.40) lengths of the contigs the demo may use, in order.
CONTIG_LENGTHS: dict[str, int] = {
    "chr1": 248_956_422,
    "chr2": 242_193_529,
    "chr3": 198_295_559,
    "chr7": 159_345_973,
    "chr11": 135_086_622,
    "chr13": 114_364_328,
    "chr17": 83_257_441,
    "chr19": 58_617_616,
    "chr22": 50_818_468,
    "chrX": 156_040_895,
}


@dataclass(frozen=True, slots=True)
class Region:
    """A GRCh38 stretch (1-based, inclusive) that receives variants; intergenic without gene."""

    contig: str
    start: int
    end: int
    weight: float
    symbol: str = ""
    gene_id: str = ""
    transcript: str = ""


def _gene(symbol: str, gene_id: str, transcript: str, locus: str, weight: float = 1.0) -> Region:
    contig, span = locus.split(":")
    start, end = span.split("-")
    return Region(contig, int(start), int(end), weight, symbol, gene_id, transcript)


# Ensembl GRCh38 gene spans and canonical transcripts; approximate is fine for synthetic data.
# chrX genes lie outside the pseudo-autosomal regions, so male samples are haploid there.
REGIONS: tuple[Region, ...] = (
    _gene("MTHFR", "ENSG00000177000", "ENST00000376590", "chr1:11785723-11806455"),
    _gene("MSH2", "ENSG00000095002", "ENST00000233146", "chr2:47403067-47634501"),
    _gene("MLH1", "ENSG00000076242", "ENST00000231790", "chr3:36993332-37050918"),
    _gene("CFTR", "ENSG00000001626", "ENST00000003084", "chr7:117480025-117668665"),
    _gene("BRAF", "ENSG00000157764", "ENST00000646891", "chr7:140719327-140924929"),
    _gene("HBB", "ENSG00000244734", "ENST00000335295", "chr11:5225464-5229395", 0.5),
    _gene("BRCA2", "ENSG00000139618", "ENST00000380152", "chr13:32315508-32400268"),
    _gene("TP53", "ENSG00000141510", "ENST00000269305", "chr17:7668421-7687490"),
    _gene("BRCA1", "ENSG00000012048", "ENST00000357654", "chr17:43044295-43125364"),
    _gene("LDLR", "ENSG00000130164", "ENST00000558518", "chr19:11089462-11133820"),
    _gene("APOE", "ENSG00000130203", "ENST00000252486", "chr19:44905796-44909393", 0.5),
    _gene("COMT", "ENSG00000093072", "ENST00000361682", "chr22:19941740-19969975"),
    _gene("CHEK2", "ENSG00000183765", "ENST00000404276", "chr22:28687743-28741834"),
    _gene("DMD", "ENSG00000198947", "ENST00000357033", "chrX:31097677-33339441", 0.5),
    _gene("F8", "ENSG00000185010", "ENST00000360256", "chrX:154835788-155026940", 0.3),
    # 13q21 gene desert: intergenic variants, no CSQ.
    Region("chr13", 62_000_000, 64_000_000, 2.3),
)

# Share of records per kind; the rest are SNVs. Symbolic kinds are the structural ALTs.
STRUCTURAL = ("DEL", "DUP", "INV", "INS", "CNV")
SHARES = (("structural", 0.01), ("multi", 0.05), ("mnp", 0.03), ("del", 0.05), ("ins", 0.05))
SV_ALLELES = {
    "DEL": "deletion",
    "DUP": "duplication",
    "INV": "inversion",
    "INS": "insertion",
    "CNV": "copy_number_variation",
}
# (consequence, impact, weight) for alleles inside a gene, by allele class.
SNV_CONSEQUENCES = (
    ("intron_variant", "MODIFIER", 5.0),
    ("missense_variant", "MODERATE", 3.0),
    ("synonymous_variant", "LOW", 3.0),
    ("3_prime_UTR_variant", "MODIFIER", 1.0),
    ("5_prime_UTR_variant", "MODIFIER", 0.5),
    ("splice_region_variant&intron_variant", "LOW", 0.7),
    ("stop_gained", "HIGH", 0.5),
    ("splice_donor_variant", "HIGH", 0.2),
)
SV_CONSEQUENCES = {
    "DEL": ("feature_truncation", "MODIFIER"),
    "DUP": ("feature_elongation", "MODIFIER"),
    "INV": ("coding_sequence_variant", "MODIFIER"),
    "INS": ("feature_elongation", "MODIFIER"),
    "CNV": ("transcript_amplification", "HIGH"),
}
