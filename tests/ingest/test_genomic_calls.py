"""read_calls: the alleles a sample carries, counted against an independent decode (bcftools),
with regions, BED files, filters, zygosity, phasing, structural alleles and bad files."""

from __future__ import annotations

import gzip
import re
import shutil
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import pysam
import pysam.bcftools
import pytest

from gateway.domain.assemblies import GRCH37, canonical_chromosome
from gateway.domain.genomics import AllelicState, CalledAllele, Interval, TranslationTally
from gateway.errors import IngestError
from gateway.ingest.genomic_calls import (
    CallQuery,
    Region,
    parse_region,
    read_bed,
    read_calls,
    vcf_samples,
)
from gateway.ingest.genomic_regions import WHOLE_CONTIG

DATA = Path(__file__).parent / "data" / "genomic"
GENOTYPES = DATA / "genotypes.vcf"
STRUCTURAL = DATA / "structural.vcf"
SAMPLES = ("S1", "S2", "S3")
PASSING = 'FILTER="PASS" || FILTER="."'

Found = list[tuple[str, CalledAllele]]


def read(
    path: Path,
    samples: tuple[str, ...] = SAMPLES,
    regions: Iterable[Region] = (),
    *,
    assembly: str | None = None,
    all_filters: bool = False,
) -> tuple[Found, TranslationTally]:
    tally = TranslationTally()
    query = CallQuery(path, samples, tuple(regions), assembly, all_filters)
    return list(read_calls(query, tally)), tally


def allele(found: Found, sample: str, position: int, alternate: str) -> CalledAllele:
    [match] = [
        a for s, a in found if (s, a.vcf_position, a.alternate) == (sample, position, alternate)
    ]
    return match


def positions(found: Found) -> set[int]:
    return {a.vcf_position for _, a in found}


def bcftools(command: str, *args: str) -> str:
    output = getattr(pysam.bcftools, command)(*args)
    assert isinstance(output, str)
    return output


def bcftools_tally(path: Path, sample: str) -> Counter[str]:
    """no_call / hom_ref / alleles / skipped for one sample, from bcftools' own GT decode."""
    text = bcftools("query", "-s", sample, "-i", PASSING, "-f", "%ALT\t[%GT]\n", str(path))
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        alts, genotype = line.split("\t")
        called = [int(token) for token in re.split(r"[/|]", genotype) if token != "."]
        carried = {index for index in called if index > 0}
        if not called:
            counts["no_call"] += 1
        elif not carried:
            counts["hom_ref"] += 1
        for index in carried:
            alt = alts.split(",")[index - 1]
            skipped = alt == "*" or "[" in alt or "]" in alt or alt.startswith("<CGA_")
            counts["skipped" if skipped else "alleles"] += 1
    return counts


def bcftools_positions(path: Path, regions: str) -> list[int]:
    text = bcftools("view", "-H", "-r", regions, str(path))
    return [int(line.split("\t")[1]) for line in text.splitlines()]


# --- genotypes ------------------------------------------------------------------------------

HET, HOM, HEMI = AllelicState.HETEROZYGOUS, AllelicState.HOMOZYGOUS, AllelicState.HEMIZYGOUS
HOMOPLASMIC, HETEROPLASMIC = AllelicState.HOMOPLASMIC, AllelicState.HETEROPLASMIC


@pytest.mark.parametrize(
    ("sample", "position", "alternate", "state"),
    [
        ("S1", 100, "G", HET),
        ("S2", 100, "G", HOM),  # 1/1 is one allele, homozygous
        ("S1", 200, "T", HET),  # 1/2: two alleles, each heterozygous
        ("S1", 200, "CA", HET),
        ("S3", 400, "T", HET),  # 1/2 where 2 is the spanning deletion *
        ("S3", 500, "C", HOM),
        ("S2", 600, "G", HET),  # .|1: the called allele, not claimed on both copies
        ("S3", 600, "G", HET),  # 1/.
        ("S1", 1000, "T", HEMI),  # haploid on X
        ("S2", 1000, "T", HET),
        ("S3", 2000, "C", HEMI),  # haploid on Y
        ("S1", 73, "G", HOMOPLASMIC),  # MT: AD/DP = 100/100
        ("S2", 73, "G", HETEROPLASMIC),  # MT: 70/100
        ("S3", 73, "G", HETEROPLASMIC),  # MT without depths: 0/1
        ("S1", 150, "T", HOMOPLASMIC),  # MT without depths: every called allele
        ("S2", 150, "T", HOMOPLASMIC),
    ],
)
def test_allelic_state(sample: str, position: int, alternate: str, state: AllelicState) -> None:
    found, _ = read(GENOTYPES)
    assert allele(found, sample, position, alternate).allelic_state is state


def test_every_record_and_genotype_is_counted() -> None:
    found, tally = read(GENOTYPES)
    assert len(found) == tally.alleles == 23
    assert (tally.records, tally.filtered, tally.multi_allelic) == (14, 1, 2)
    # ./. at 200, 800, Y, MT 150 and chrUn; three samples without GT at 900
    assert tally.no_call == 8
    # 0/0, 0/. and a haploid 0
    assert tally.hom_ref == 7
    # two * alleles and one allele on a contig without a RefSeq chromosome
    assert tally.skipped_alleles == 3
    assert tally.outside_region == tally.symbolic == 0
    assert tally.notes == [
        "ALT *: not a variant of its own (spanning or gVCF); skipped (counted in skipped_alleles)",
        "contig chrUn_KI270302v1: not a chromosome of GRCh38; skipped (counted in skipped_alleles)",
    ]


def test_counts_match_bcftools_per_sample() -> None:
    for sample in SAMPLES:
        _, tally = read(GENOTYPES, (sample,))
        expected = bcftools_tally(GENOTYPES, sample)
        assert (tally.no_call, tally.hom_ref) == (expected["no_call"], expected["hom_ref"])
        # bcftools keeps the chrUn allele, which has no RefSeq chromosome to be reported on
        assert tally.alleles + tally.skipped_alleles == expected["alleles"] + expected["skipped"]


def test_hg19_mitochondrion_is_not_stated_on_rcrs(tmp_path: Path) -> None:
    hg19 = tmp_path / "hg19.vcf"
    hg19.write_text(GENOTYPES.read_text().replace("<ID=chrM>", "<ID=chrM,length=16571>"))
    found, tally = read(hg19, ("S1",), assembly="GRCh37")
    assert not [a for _, a in found if a.chromosome == "MT"]
    assert "contig chrM: hg19's chrM, not the rCRS of GRCh37" in " ".join(tally.notes or [])
    assert tally.skipped_alleles == 3  # MT 73, MT 150 and chrUn


def test_alleles_come_in_file_order_with_their_lines() -> None:
    found, _ = read(GENOTYPES)
    lines = GENOTYPES.read_text().splitlines()
    assert [a.line for _, a in found] == sorted(a.line for _, a in found)
    for _, called in found:
        fields = lines[called.line - 1].split("\t")
        assert int(fields[1]) == called.vcf_position == called.start + 1
    assert found[0] == ("S1", allele(found, "S1", 100, "G"))
    assert [s for s, a in found if a.vcf_position == 100] == ["S1", "S2"]


def test_coordinates_alleles_and_identifiers() -> None:
    found, _ = read(GENOTYPES)
    deletion = allele(found, "S1", 400, "T")
    assert (deletion.start, deletion.end, deletion.reference) == (399, 402, "TAC")
    insertion = allele(found, "S1", 200, "CA")
    assert (insertion.start, insertion.end, insertion.reference) == (199, 200, "C")
    lower = allele(found, "S1", 600, "G")  # written a/g
    assert (lower.reference, lower.alternate) == ("A", "G")
    first = allele(found, "S1", 100, "G")
    assert (first.chromosome, first.assembly, first.refseq) == ("1", "GRCh38", "NC_000001.11")
    assert first.variant_id == "rs100"
    assert deletion.variant_id is None
    assert allele(found, "S1", 73, "G").refseq == "NC_012920.1"


@pytest.mark.parametrize(
    ("sample", "position", "alternate", "frequency", "depth"),
    [
        ("S1", 100, "G", Decimal("0.4"), 4),  # AD 6,4
        ("S2", 100, "G", Decimal("1"), 12),
        ("S1", 200, "T", Decimal("0.5"), 5),  # AD 2,5,3: each allele its own
        ("S1", 200, "CA", Decimal("0.3"), 3),
        ("S3", 400, "T", Decimal("0.3636"), 4),  # 4 of 11, four places
        ("S2", 500, "C", None, 9),  # AD missing: DP
        ("S1", 700, "A", Decimal("0.25"), None),  # FORMAT AF
        ("S2", 700, "A", None, None),
    ],
)
def test_frequency_and_depth(
    sample: str, position: int, alternate: str, frequency: Decimal | None, depth: int | None
) -> None:
    found, _ = read(GENOTYPES)
    called = allele(found, sample, position, alternate)
    assert (called.allele_frequency, called.read_depth) == (frequency, depth)


def test_genes_come_from_the_annotation_of_each_allele() -> None:
    found, _ = read(GENOTYPES)
    assert allele(found, "S1", 200, "T").genes == ("GENE1",)
    assert allele(found, "S1", 200, "CA").genes == ("GENE2", "GENE3")
    assert allele(found, "S1", 100, "G").genes == ()


def test_filters_drop_records_unless_all_filters() -> None:
    found, tally = read(GENOTYPES)
    assert 300 not in positions(found)
    kept, kept_tally = read(GENOTYPES, all_filters=True)
    assert [s for s, a in kept if a.vcf_position == 300] == ["S1", "S2", "S3"]
    assert (kept_tally.filtered, kept_tally.alleles) == (0, tally.alleles + 3)


# --- phasing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample", "position", "phase_set", "genotype_index"),
    [
        ("S1", 500, "500", 1),  # 0|1, PS 500
        ("S2", 500, "500", 0),  # 1|0, PS 500: the other copy
        ("S3", 500, "*", 0),  # 1|1 with PS .: phased without a set
        ("S1", 600, "*", 0),  # 1|0, no PS field
        ("S2", 600, "*", 1),  # .|1
        ("S3", 600, None, None),  # 1/. is not phased
        ("S1", 100, None, None),
        ("S1", 1000, None, None),  # a haploid call has no other copy to relate to
    ],
)
def test_phasing(
    sample: str, position: int, phase_set: str | None, genotype_index: int | None
) -> None:
    found, _ = read(GENOTYPES)
    called = next(a for s, a in found if (s, a.vcf_position) == (sample, position))
    assert (called.phase_set, called.genotype_index) == (phase_set, genotype_index)


# --- structural alleles ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "alternate", "start", "end", "kind"),
    [
        ("1000", "<DEL>", 999, 2000, "DEL"),  # END 2000 (1-based inclusive) is the 0-based end
        ("3000", "<DUP>", 2999, 3500, "DUP"),  # SVLEN 500
        ("4000", "<DUP:TANDEM>", 3999, 4100, "DUP"),
        ("5000", "<INS>", 4999, 5000, "INS"),  # no END: the padding base only
        ("6000", "<INS:ME:ALU>", 5999, 6000, "INS"),  # SVLEN of an insertion is inserted length
        ("7000", "<CN0>", 6999, 7999, "CNV"),
        ("9000", "<INV>", 8999, 9500, "INV"),
        ("900", "<SOMETHING>", 899, 950, "DUP"),  # type from SVTYPE
        ("5000", "CAGTAGT", 4999, 5000, "INS"),  # a sequence allele with SVTYPE
        ("200", "<DEL>", 199, 250, "DEL"),  # END wins over a disagreeing SVLEN
    ],
)
def test_structural_coordinates(
    position: str, alternate: str, start: int, end: int, kind: str
) -> None:
    found, _ = read(STRUCTURAL, ("S1",))
    called = allele(found, "S1", int(position), alternate)
    assert (called.start, called.end, called.vcf_position) == (start, end, int(position))
    assert called.structural is not None
    assert called.structural.variant_type == kind


def test_confidence_intervals_give_inner_and_outer() -> None:
    found, _ = read(STRUCTURAL, ("S1", "S2"))
    deletion = allele(found, "S1", 1000, "<DEL>").structural
    assert deletion is not None
    # CIPOS -10,20 and CIEND -30,40 around [999, 2000)
    assert deletion.outer == Interval(989, 2040)
    assert deletion.inner == Interval(1019, 1970)
    inversion = allele(found, "S1", 9000, "<INV>").structural
    assert inversion is not None
    # CIPOS/CIEND of 600 around [8999, 9500): no base is surely inside
    assert (inversion.outer, inversion.inner) == (Interval(8399, 10100), None)
    exact = allele(found, "S1", 3000, "<DUP>").structural
    assert exact is not None
    assert (exact.inner, exact.outer) == (None, None)


def test_copy_number_from_format_then_info() -> None:
    found, _ = read(STRUCTURAL, ("S1", "S2"))
    deletions = [a.structural for _, a in found if a.vcf_position == 1000]
    assert [d.copy_number for d in deletions if d] == [1, 0]  # FORMAT CN per sample
    tandem = allele(found, "S1", 4000, "<DUP:TANDEM>").structural
    assert tandem is not None
    assert tandem.copy_number == 4  # INFO CN
    cnv = [(s, a.alternate, a.structural) for s, a in found if a.vcf_position == 8000]
    assert [(s, alt, detail.copy_number) for s, alt, detail in cnv if detail] == [
        ("S1", "<CN0>", 2),
        ("S1", "<CN3>", 2),
        ("S2", "<CN3>", 3),
    ]


def test_breakends_and_untyped_symbolic_alleles_are_skipped_with_notes() -> None:
    found, tally = read(STRUCTURAL, ("S1", "S2"))
    assert not {100, 300, 1000} & {a.vcf_position for _, a in found if a.chromosome == "2"}
    assert (tally.alleles, tally.symbolic, tally.skipped_alleles) == (15, 14, 3)
    assert tally.notes == [
        "breakends: half an adjacency, not a change; skipped (counted in skipped_alleles)",
        "ALT <CGA_CNVWIN>: a symbolic allele of no structural type; skipped "
        "(counted in skipped_alleles)",
    ]


def test_vcf2fhir_structural_sample(shared: Path) -> None:
    path = shared / "conformance" / "vcf-examples" / "vcf_structural_variants.vcf"
    found, tally = read(path, vcf_samples(path), assembly="GRCh37")
    expected = bcftools_tally(path, "NA12877_S1")
    assert tally.alleles == expected["alleles"] == 19
    assert (tally.no_call, tally.filtered, tally.symbolic) == (6, 1, 14)
    deletion = allele(found, "NA12877_S1", 10477130, "<DEL>")
    assert (deletion.start, deletion.end, deletion.refseq) == (10477129, 10477585, "NC_000001.10")
    assert deletion.structural is not None
    assert deletion.structural.outer == Interval(10476989, 10477725)  # CIPOS/CIEND -140,140
    assert deletion.structural.inner == Interval(10477269, 10477445)
    assert deletion.structural.copy_number == 5
    cn0 = allele(found, "NA12877_S1", 41449094, "<CN0>")
    assert (cn0.end, cn0.phase_set, cn0.genotype_index) == (41517150, "*", 1)


# --- the vcf2fhir samples and 1000 Genomes, against bcftools ------------------------------------


@pytest.mark.parametrize(
    ("name", "sample"),
    [
        ("conformance/vcf-examples/HG00404_b37.vcf", "GS000016669-ASM"),
        ("conformance/vcf-examples/HG00403A.vcf.gz", "GS000016660-ASM"),
        ("data/vcf/test_1000G_hg38.vcf.gz", "HG00096"),
    ],
)
def test_counts_match_bcftools(shared: Path, name: str, sample: str) -> None:
    path = shared / name
    found, tally = read(path, (sample,))
    expected = bcftools_tally(path, sample)
    assert tally.alleles == len(found) == expected["alleles"]
    assert tally.skipped_alleles == expected["skipped"]
    assert (tally.no_call, tally.hom_ref) == (expected["no_call"], expected["hom_ref"])
    records = bcftools("query", "-f", "%CHROM\t%POS\t%REF\n", str(path)).splitlines()
    assert tally.records == len(records)
    # Coordinates round-trip: POS = start + 1, and the reference spans [start, end).
    sites = set()
    for line in records:
        chromosome, position, reference = line.split("\t")
        sites.add((canonical_chromosome(chromosome, GRCH37), int(position), reference))
    for _, called in found:
        assert (called.chromosome, called.start + 1, called.reference) in sites
        if called.structural is None:
            assert called.end - called.start == len(called.reference)


def test_complete_genomics_depths_are_not_read_per_allele(shared: Path) -> None:
    # AD is Number=2 there, one depth per GT slot: only DP can be trusted.
    path = shared / "conformance" / "vcf-examples" / "HG00404_b37.vcf"
    found, _ = read(path, vcf_samples(path))
    assert all(a.allele_frequency is None for _, a in found)
    first = found[0][1]
    assert (first.vcf_position, first.read_depth) == (78956432, 25)


def test_phased_calls_match_bcftools(shared: Path) -> None:
    path = shared / "conformance" / "vcf-examples" / "HG00404_b37.vcf"
    found, _ = read(path, vcf_samples(path))
    text = bcftools("query", "-i", PASSING, "-f", "[%GT]\t%ALT\n", str(path))
    phased = 0
    for line in text.splitlines():
        genotype, alts = line.split("\t")
        if "|" in genotype:
            alleles = {int(t) for t in genotype.split("|") if t not in (".", "0")}
            phased += sum(1 for a in alleles if not set(alts.split(",")[a - 1]) & set("[]"))
    assert sum(1 for _, a in found if a.phase_set is not None) == phased > 0


def test_annotated_genes_and_identifiers(shared: Path) -> None:
    path = shared / "conformance" / "vcf-examples" / "NB6TK328_filtered.vcf"
    found, _ = read(path, ("NB6TK328",))
    by_position = {a.vcf_position: a for _, a in found}
    assert by_position[112841059].genes == ("AC008575.1", "APC")  # an intron of the first
    assert by_position[112841059].variant_id == "rs459552;21030"
    assert "BRCA2" in by_position[32355250].genes
    assert by_position[47348490].allele_frequency == Decimal("0.5667")  # AD 13,17


def test_several_samples_in_one_pass(thousand_genomes_vcf: Path) -> None:
    samples = ("HG00097", "HG00096", "NA12878")
    together, tally = read(thousand_genomes_vcf, samples)
    assert tally.records == 3042
    for sample in samples:
        alone, _ = read(thousand_genomes_vcf, (sample,))
        assert [a for s, a in together if s == sample] == [a for _, a in alone]
    lines = [a.line for _, a in together]
    assert lines == sorted(lines)
    first_record = [s for s, a in together if a.line == together[0][1].line]
    assert first_record == [s for s in samples if s in first_record]  # query order


# --- regions ---------------------------------------------------------------------------------


@pytest.fixture
def indexed(tmp_path: Path) -> Path:
    """genotypes.vcf bgzipped and tabix-indexed in a temporary folder."""
    copy = tmp_path / "genotypes.vcf"
    shutil.copy(GENOTYPES, copy)
    return Path(pysam.tabix_index(str(copy), preset="vcf", force=True))


def sites(found: Found) -> list[tuple[str, int, str]]:
    return [(s, a.vcf_position, a.alternate) for s, a in found]


@pytest.mark.parametrize(
    ("regions", "expected", "records"),
    [
        ("chr1:200-400", {200, 300, 400}, 3),  # both edges are inside
        ("chr1:401-500", {400, 500}, 2),  # the deletion at 400 spans 400-402
        ("chr1:101-199", set(), 0),
        ("chr1:100", {100}, 1),  # a single base
        ("chr1:600-", {600, 700}, 4),  # to the end of the contig (800 and 900 call nothing)
        ("chrX", {1000}, 1),
        ("chr1:100-200,chr1:150-300", {100, 200, 300}, 3),  # overlapping regions, read once
        ("chr1:400-400,chr1:402-500", {400, 500}, 2),  # a deletion reaching across the gap
        ("chrM:1-100,chr1:650-700", {73, 700}, 2),  # in file order, whatever the given order
    ],
)
def test_regions_are_one_based_inclusive_like_bcftools(
    indexed: Path, regions: str, expected: set[int], records: int
) -> None:
    wanted = [parse_region(text, None) for text in regions.split(",")]
    assert len(set(bcftools_positions(indexed, regions))) == records
    fetched, fetch_tally = read(indexed, regions=wanted, all_filters=True)
    scanned, scan_tally = read(GENOTYPES, regions=wanted, all_filters=True)
    assert positions(fetched) == expected
    assert sites(fetched) == sites(scanned)
    # With an index only the regions are read; a scan reads everything and counts the rest.
    assert (fetch_tally.records, fetch_tally.outside_region) == (records, 0)
    assert (scan_tally.records, scan_tally.outside_region) == (14, 14 - records)
    assert fetch_tally.alleles == scan_tally.alleles == len(fetched)


def test_fetched_alleles_are_numbered_in_read_order(indexed: Path) -> None:
    fetched, _ = read(indexed, regions=[parse_region("chr1:400-600", None)])
    assert [(a.vcf_position, a.line) for s, a in fetched if s == "S1"] == [
        (400, 1),
        (500, 2),
        (600, 3),
    ]


def test_region_on_a_chromosome_the_file_lacks(indexed: Path) -> None:
    for path in (indexed, GENOTYPES):
        found, tally = read(path, regions=[parse_region("chr7:1-1000", None)])
        assert found == []
        assert tally.notes == ["regions on chromosome 7: the file has no records there"]


def test_bcf_reads_like_text(tmp_path: Path) -> None:
    bcf = tmp_path / "genotypes.bcf"
    with (
        pysam.VariantFile(str(GENOTYPES)) as vcf,
        pysam.VariantFile(str(bcf), "wb", header=vcf.header) as out,
    ):
        for record in vcf:
            out.write(record)
    from_text, text_tally = read(GENOTYPES)
    from_bcf, bcf_tally = read(bcf)
    assert sites(from_bcf) == sites(from_text)
    assert [a.line for _, a in from_bcf] == [a.line - 16 for _, a in from_text]  # record numbers
    assert bcf_tally == text_tally
    pysam.bcftools.index(str(bcf))
    region = [parse_region("chr1:401-500", None)]
    fetched, fetch_tally = read(bcf, regions=region)
    assert sites(fetched) == sites(read(GENOTYPES, regions=region)[0])
    assert (fetch_tally.records, fetch_tally.outside_region) == (2, 0)  # through the CSI index


# --- parse_region and read_bed ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "assembly", "region"),
    [
        ("chr1:100-200", None, Region("1", 99, 200)),
        ("1:100-200", "GRCh37", Region("1", 99, 200)),
        ("chrX:1,000-2,000", None, Region("X", 999, 2000)),
        ("chrM:73", None, Region("MT", 72, 73)),
        ("chr22:5-", None, Region("22", 4, WHOLE_CONTIG)),
        ("chr22", None, Region("22", 0, WHOLE_CONTIG)),
        (" chr2:10-10 ", None, Region("2", 9, 10)),
        ("NC_000001.10:1-5", None, Region("1", 0, 5)),  # a GRCh37 accession
        ("NC_000001.11:1-5", "GRCh38", Region("1", 0, 5)),
        ("HLA-A*01:01:01:01:1-100", None, Region("HLA-A*01:01:01:01", 0, 100)),
        ("chrUn_KI270302v1:1-10", None, Region("chrUn_KI270302v1", 0, 10)),
    ],
)
def test_parse_region(text: str, assembly: str | None, region: Region) -> None:
    assert parse_region(text, assembly) == region


def test_region_prints_as_bcftools_reads_it() -> None:
    assert [str(parse_region(t, None)) for t in ("chr1:100-200", "chr1:5-", "chrX", "1:7")] == [
        "1:100-200",
        "1:5-",
        "X",
        "1:7-7",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "name a chromosome"),
        (":100-200", "name a chromosome"),
        ("chr1:0-10", "positions count from 1"),
        ("chr1:200-100", "the end 100 is before the start 200"),
        ("chr1:1-2-3", "positions must be whole numbers"),
        ("chr1:-5", "positions must be whole numbers"),
        ("NC_000001.10:1-5 ", "sequence NC_000001.10 is not a chromosome of GRCh38"),
    ],
)
def test_bad_regions(text: str, message: str) -> None:
    assembly = "GRCh38" if text.startswith("NC_") else None
    with pytest.raises(IngestError, match=re.escape(message)):
        parse_region(text, assembly)


def test_unknown_assembly_in_a_region() -> None:
    with pytest.raises(IngestError, match="unknown assembly 'NCBI36'"):
        parse_region("chr1:1-2", "NCBI36")


def test_read_bed(tmp_path: Path) -> None:
    bed = tmp_path / "panel.bed"
    bed.write_text(
        "track name=panel\n# a comment\nbrowser position chr1:1-100\n\n"
        "chr1\t199\t400\tGENE1\t0\t+\nchrX 999 1000\nMT\t72\t73\n"
    )
    regions = read_bed(bed)
    assert regions == (Region("1", 199, 400), Region("X", 999, 1000), Region("MT", 72, 73))
    packed = tmp_path / "panel.bed.gz"
    packed.write_bytes(gzip.compress(bed.read_bytes()))
    assert read_bed(packed) == regions


def test_bed_regions_select_like_the_same_region_text() -> None:
    bed_region = Region("1", 199, 400)  # BED chr1 199 400
    assert bed_region == parse_region("chr1:200-400", None)
    found, _ = read(GENOTYPES, regions=[bed_region], all_filters=True)
    assert positions(found) == {200, 300, 400}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("chr1\t10\n", " line 1: a BED line needs chrom, start and end"),
        ("chr1\t10\t20\nchr1\tten\t20\n", " line 2: 'ten' is not a position"),
        ("chr1\t-1\t20\n", " line 1: '-1' is not a position"),
        ("chr1\t30\t20\n", " line 1: end 20 is before start 30"),
        ("track name=empty\n", ": the BED file names no region"),
        ("", ": the BED file names no region"),
    ],
)
def test_bad_bed_files(tmp_path: Path, content: str, message: str) -> None:
    bed = tmp_path / "bad.bed"
    bed.write_text(content)
    with pytest.raises(IngestError, match=re.escape(f"{bed}{message}")):
        read_bed(bed)


def test_missing_or_binary_bed(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read"):
        read_bed(tmp_path / "absent.bed")
    binary = tmp_path / "binary.bed"
    binary.write_bytes(b"chr1\t\xff\xfe\t3\n")
    with pytest.raises(IngestError, match="not a text BED file"):
        read_bed(binary)


# --- samples ------------------------------------------------------------------------------------


def test_vcf_samples(thousand_genomes_vcf: Path) -> None:
    assert vcf_samples(GENOTYPES) == SAMPLES
    samples = vcf_samples(thousand_genomes_vcf)
    assert len(samples) == 2548
    assert samples[0] == "HG00096"


def test_unknown_or_missing_sample_is_refused(thousand_genomes_vcf: Path) -> None:
    with pytest.raises(
        IngestError, match=re.escape(f"{GENOTYPES}: no sample 'S9' (the file has S1, S2, S3)")
    ):
        read(GENOTYPES, ("S1", "S9"))
    with pytest.raises(IngestError, match=re.escape("no sample 'X' (the file has 2548 samples)")):
        read(thousand_genomes_vcf, ("X",))
    with pytest.raises(IngestError, match="name a sample to translate"):
        read(GENOTYPES, ())


def test_a_sample_named_twice_is_read_once() -> None:
    once, _ = read(GENOTYPES, ("S2",))
    twice, _ = read(GENOTYPES, ("S2", "S2"))
    assert twice == once


# --- streaming ------------------------------------------------------------------------------------


def test_records_are_read_as_alleles_are_consumed() -> None:
    tally = TranslationTally()
    stream = read_calls(CallQuery(GENOTYPES, SAMPLES), tally)
    assert tally.records == 0
    next(stream)
    assert tally.records == 1


def synthetic_vcf(path: Path, records: int) -> Path:
    header = (
        "##fileformat=VCFv4.2\n##assembly=GRCh38\n##contig=<ID=chr1>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
    )
    body = "".join(f"chr1\t{10 * n + 1}\t.\tA\tG\t.\tPASS\t.\tGT\t0|1\n" for n in range(records))
    path.write_text(header + body)
    return path


def peak_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        for _ in read_calls(CallQuery(path, ("S1",)), TranslationTally()):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat(tmp_path: Path) -> None:
    small = peak_bytes(synthetic_vcf(tmp_path / "small.vcf", 2_000))
    large = peak_bytes(synthetic_vcf(tmp_path / "large.vcf", 40_000))
    assert large < small + 64_000  # twenty times the records, the same working set


# --- bad input ------------------------------------------------------------------------------------

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=248956422>
##INFO=<ID=END,Number=1,Type=Integer,Description="End">
##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="Length">
##INFO=<ID=CIPOS,Number=2,Type=Integer,Description="Confidence around POS">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2
chr1\t10\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0
"""


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("chr1 300 . AXG G . PASS . GT 0/1 1/1", "line 9 (chr1:300): illegal bases in REF 'AXG'"),
        ("chr1 300 . . G . PASS . GT 0/1 1/1", "line 9 (chr1:300): illegal bases in REF '.'"),
        ("chr1 300 . A Q . PASS . GT 0/1 1/1", "line 9 (chr1:300): illegal bases in ALT 'Q'"),
        ("chr1 300 . A G,<> . PASS . GT 0/1 1/1", "illegal bases in ALT '<>'"),
        ("chr1 0 . A G . PASS . GT 0/1 1/1", "line 9 (chr1:0): POS 0 is before the first base"),
        (
            "chr1 300 . A G . PASS . GT 0/1 1/3",
            "line 9 (chr1:300): genotype '1/3' names an allele the record does not have "
            "(1 ALT allele(s)) (sample S2)",
        ),
        ("chr1 300 . A G . PASS . GT 0/1 3/3", "genotype '3/3' names an allele"),
        ("chr1 300 . N <DEL> . PASS END=200 GT 0/1 0/0", "INFO END 200 is before POS 300"),
        ("chr1 300 . N <DEL> . PASS . GT 0/1 0/0", "symbolic allele <DEL> needs INFO END or SVLEN"),
        ("chr1 300 . N <DEL> . PASS END=400;CIPOS=5,-5 GT 0/1 0/0", "INFO CIPOS must be two"),
        ("chr1 abc . A G . PASS . GT 0/1 0/0", "cannot read past line 8 (last record chr1:10)"),
        ("chr1 300 . A G . PASS . GT 0/x 0/0", "cannot read past line 8 (last record chr1:10)"),
        ("chr1 300 . A", "cannot read past line 8 (last record chr1:10)"),
    ],
)
def test_bad_record_names_file_and_line(tmp_path: Path, record: str, message: str) -> None:
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "\t".join(record.split(" ")) + "\n")
    with pytest.raises(IngestError) as raised:
        read(path, ("S1", "S2"), assembly="GRCh38")
    assert str(raised.value).startswith(str(path))
    assert message in str(raised.value)


def test_refseq_accession_of_another_assembly(tmp_path: Path) -> None:
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "NC_000001.10\t300\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\n")
    with pytest.raises(IngestError, match=r"sequence NC_000001\.10 is not a chromosome of GRCh38"):
        read(path, ("S1",), assembly="GRCh38")


def test_vcf2fhir_edge_case_file_is_refused_at_its_line(shared: Path) -> None:
    path = shared / "conformance" / "vcf-examples" / "vcf_example1.vcf"
    with pytest.raises(IngestError, match=r"line \d+ \(1:15\): illegal bases in REF '\.'"):
        read(path, ("TEST001",), assembly="GRCh37")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"not a vcf at all\n", "not a VCF or BCF file"),
        (b"##fileformat=VCFv4.2\n#CHROM POS ID\n", "malformed VCF header"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "input.vcf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(IngestError, match=re.escape(f"{path}: {message}")):
        read(path)
    with pytest.raises(IngestError, match=re.escape(f"{path}: {message}")):
        vcf_samples(path)


def test_plain_gzip_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "genotypes.vcf.gz"
    plain.write_bytes(gzip.compress(GENOTYPES.read_bytes()))
    with pytest.raises(IngestError, match="is gzip-compressed but not BGZF"):
        read(plain)


def test_truncated_bgzf_is_an_error_not_a_short_read(shared: Path, tmp_path: Path) -> None:
    source = shared / "conformance" / "vcf-examples" / "HG00403A.vcf.gz"
    truncated = tmp_path / "truncated.vcf.gz"
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    # htslib notices the missing end-of-file block on opening, before any allele is read.
    with pytest.raises(IngestError, match=f"{re.escape(str(truncated))}: .*truncated"):
        read(truncated, ("GS000016660-ASM",))


def test_assembly_is_given_detected_or_refused(tmp_path: Path) -> None:
    found, _ = read(GENOTYPES, ("S1",), assembly="GRCh37")
    assert {a.assembly for _, a in found} == {"GRCh37"}
    assert allele(found, "S1", 100, "G").refseq == "NC_000001.10"
    with pytest.raises(IngestError, match="unknown assembly 'NCBI36'"):
        read(GENOTYPES, assembly="NCBI36")
    unknown = tmp_path / "unknown.vcf"
    unknown.write_text(GENOTYPES.read_text().replace("##assembly=GRCh38\n", ""))
    with pytest.raises(IngestError, match=r"cannot tell the assembly of .* pass --assembly"):
        read(unknown)


def test_htslib_stays_quiet(shared: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # These headers make htslib warn (AD Number=2, undeclared contigs and FORMAT keys).
    examples = shared / "conformance" / "vcf-examples"
    read(examples / "HG00404_b37.vcf", ("GS000016669-ASM",))
    read(examples / "vcf_structural_variants.vcf", ("NA12877_S1",), assembly="GRCh37")
    region = [parse_region("1:1-100000000", None)]
    read(examples / "HG00403A.vcf.gz", ("GS000016660-ASM",), region)
    assert capfd.readouterr().err == ""
