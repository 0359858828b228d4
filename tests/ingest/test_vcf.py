"""VcfFile: splitting, zygosity, structural alleles, formats, assembly detection, errors."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pysam
import pysam.bcftools
import pytest

from gateway.domain.variants import VariantType
from gateway.errors import IngestError
from gateway.ingest.vcf import VariantCalls, VcfFile, file_digest

DATA = Path(__file__).parent / "data"


def bits(bitmap: bytes) -> set[int]:
    """Positions of the set bits of a little-endian bitmap."""
    unpacked = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return set(np.flatnonzero(unpacked).tolist())


def names(bitmap: bytes, samples: tuple[str, ...]) -> set[str]:
    return {samples[i] for i in bits(bitmap)}


def read(
    path: Path, *, sample_positions: list[int] | None = None, all_filters: bool = False
) -> tuple[tuple[str, ...], list[VariantCalls]]:
    with VcfFile(path, sample_positions=sample_positions, all_filters=all_filters) as vcf:
        return vcf.samples, list(vcf)


def by_site(calls: list[VariantCalls]) -> dict[tuple[str, int, str], VariantCalls]:
    """Calls keyed by (chromosome, 1-based position, ALT)."""
    return {(c.variant.chromosome, c.variant.start + 1, c.variant.alternate): c for c in calls}


# --- genotypes and splitting ------------------------------------------------------------


def test_multiallelic_record_splits_into_one_call_per_alt() -> None:
    samples, calls = read(DATA / "calls.vcf")
    first, second = calls[0], calls[1]
    assert samples == ("S1", "S2", "S3", "S4")
    assert (first.variant.alternate, second.variant.alternate) == ("G", "T")
    assert (first.variant.start, first.variant.end) == (99, 100)
    assert first.carriers == bytes([0b0011])
    assert first.homozygous == b""
    assert second.carriers == bytes([0b0110])
    assert second.homozygous == bytes([0b0100])


@pytest.mark.parametrize(
    ("site", "carriers", "homozygous"),
    [
        # ./.  .  .|1  1/1: a half-missing call whose only called allele is ALT is homozygous
        (("1", 200, "T"), {"S3", "S4"}, {"S3", "S4"}),
        # GT:AD:DP, the last sample with trailing fields dropped
        (("1", 300, "A"), {"S1", "S2"}, {"S2"}),
        # DP:GT, one sample without its GT
        (("1", 400, "C"), {"S1", "S2"}, {"S2"}),
        # the ALT next to a spanning deletion; GT 2 (the *) carries nothing here
        (("1", 600, "AT"), {"S1", "S2"}, set()),
        # triploid calls
        (("1", 900, "A"), {"S1", "S2", "S3"}, {"S2"}),
        # chrX: haploid males, diploid females
        (("X", 1000, "G"), {"S1", "S2", "S4"}, {"S1", "S4"}),
        # chrY: haploid, one missing
        (("Y", 2000, "A"), {"S1", "S4"}, {"S1", "S4"}),
        (("MT", 73, "G"), {"S1", "S2"}, {"S1", "S2"}),
    ],
)
def test_carriers_and_homozygous_per_sample(
    site: tuple[str, int, str], carriers: set[str], homozygous: set[str]
) -> None:
    samples, calls = read(DATA / "calls.vcf")
    call = by_site(calls)[site]
    assert names(call.carriers, samples) == carriers
    assert names(call.homozygous, samples) == homozygous


def test_spanning_deletions_reference_sites_and_filtered_records_are_skipped() -> None:
    _, calls = read(DATA / "calls.vcf")
    sites = [(c.variant.chromosome, c.variant.start + 1, c.variant.alternate) for c in calls]
    assert ("1", 600, "*") not in sites
    assert all(position not in (500, 700) for _, position, _ in sites)
    assert len(calls) == 11


def test_all_filters_keeps_filtered_records() -> None:
    samples, calls = read(DATA / "calls.vcf", all_filters=True)
    filtered = by_site(calls)[("1", 500, "C")]
    assert names(filtered.carriers, samples) == set(samples)
    assert len(calls) == 12


def test_alleles_are_upper_cased_and_typed() -> None:
    _, calls = read(DATA / "calls.vcf")
    mnp = by_site(calls)[("1", 800, "TCA")].variant
    assert (mnp.reference, mnp.start, mnp.end, mnp.variant_type) == (
        "ACG",
        799,
        802,
        VariantType.MNP,
    )
    deletion = by_site(calls)[("1", 900, "A")].variant
    assert (deletion.end, deletion.variant_type) == (902, VariantType.INDEL)
    assert by_site(calls)[("1", 100, "G")].variant.variant_type is VariantType.SNP


def test_two_digit_allele_indices() -> None:
    samples, calls = read(DATA / "multidigit.vcf")
    alleles = {c.variant.alternate: c for c in calls}
    assert len(calls) == 11
    assert names(alleles["C"].carriers, samples) == {"S2"}
    assert names(alleles["GG"].carriers, samples) == {"S2"}
    assert names(alleles["GT"].carriers, samples) == {"S1", "S3"}
    assert names(alleles["GT"].homozygous, samples) == {"S3"}
    assert alleles["G"].carriers == b""


def test_sample_positions_place_columns_in_dataset_bitmaps() -> None:
    _, calls = read(DATA / "calls.vcf", sample_positions=[7, 0, 12, 3])
    assert bits(calls[0].carriers) == {7, 0}
    assert bits(calls[1].carriers) == {0, 12}
    assert calls[1].carriers == b"\x01\x10"
    assert bits(calls[1].homozygous) == {12}


def test_sample_positions_must_match_the_samples() -> None:
    with pytest.raises(IngestError, match="3 sample positions for 4 samples"):
        VcfFile(DATA / "calls.vcf", sample_positions=[0, 1, 2])


def test_sites_only_file_has_no_carriers() -> None:
    samples, calls = read(DATA / "sites_only.vcf")
    assert samples == ()
    assert [c.variant.alternate for c in calls] == ["G", "A", "T"]
    assert all(c.carriers == b"" and c.homozygous == b"" for c in calls)


def test_chromosome_names_are_canonical(tmp_path: Path) -> None:
    _, calls = read(DATA / "calls.vcf")
    assert {c.variant.chromosome for c in calls} == {"1", "X", "Y", "MT"}
    contigs = ["chr1", "1", "chrM", "MT", "M", "chrX", "NC_000001.11", "chr22_KI270731v1_random"]
    path = tmp_path / "names.vcf"
    path.write_text(
        "##fileformat=VCFv4.2\n##assembly=GRCh38\n"
        + "".join(f"##contig=<ID={name}>\n" for name in contigs)
        + "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + "".join(f"{name}\t5\t.\tA\tG\t.\t.\t.\n" for name in contigs)
    )
    _, calls = read(path)
    assert [c.variant.chromosome for c in calls] == [
        "1",
        "1",
        "MT",
        "MT",
        "MT",
        "X",
        "1",
        "chr22_KI270731v1_random",
    ]


def test_iterating_twice_gives_the_same_calls() -> None:
    with VcfFile(DATA / "calls.vcf") as vcf:
        assert list(vcf) == list(vcf)


# --- structural alleles -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alt", "reference", "start", "end", "kind"),
    [
        ("<DEL>", "N", 1000, 2000, VariantType.DEL),  # POS 1000, END 2000
        ("<DUP>", "N", 3000, 3500, VariantType.DUP),  # SVLEN 500
        ("<DUP:TANDEM>", "N", 4000, 4100, VariantType.DUP),
        ("<INS>", "N", 5000, 5000, VariantType.INS),  # neither END nor SVLEN: zero length
        ("<INS:ME:ALU>", "N", 6000, 6000, VariantType.INS),  # SVLEN is the inserted length
        ("<CN0>", "N", 7000, 7999, VariantType.CNV),
        ("<CNV>", "N", 8000, 8250, VariantType.CNV),  # negative SVLEN
        ("<INV>", "N", 9000, 9500, VariantType.INV),
        ("G]3:500]", "G", 99, 100, VariantType.BND),  # POS 100: the joined base itself
        ("T[2:100[", "T", 499, 500, VariantType.BND),
        ("<DEL:ME>", "N", 700, 740, VariantType.DEL),
        ("<SOMETHING>", "N", 900, 950, VariantType.DUP),  # type from INFO SVTYPE
    ],
)
def test_structural_alleles(
    alt: str, reference: str, start: int, end: int, kind: VariantType
) -> None:
    _, calls = read(DATA / "structural.vcf")
    variant = {c.variant.alternate: c.variant for c in calls}[alt]
    assert (variant.start, variant.end, variant.variant_type) == (start, end, kind)
    assert variant.reference == reference
    assert variant.assembly == "GRCh37"


def test_structural_genotypes() -> None:
    samples, calls = read(DATA / "structural.vcf")
    deletion = calls[0]
    assert deletion.variant.alternate == "<DEL>"
    assert names(deletion.carriers, samples) == {"S1", "S2"}
    assert names(deletion.homozygous, samples) == {"S2"}


# --- formats --------------------------------------------------------------------------------


@pytest.fixture
def calls_vcf_gz(tmp_path: Path) -> Path:
    """calls.vcf bgzipped and tabix-indexed in a temporary folder."""
    copy = tmp_path / "calls.vcf"
    shutil.copy(DATA / "calls.vcf", copy)
    return Path(pysam.tabix_index(str(copy), preset="vcf", force=True))


def to_bcf(source: Path, target: Path) -> Path:
    with (
        pysam.VariantFile(str(source)) as vcf,
        pysam.VariantFile(str(target), "wb", header=vcf.header) as bcf,
    ):
        for record in vcf:
            bcf.write(record)
    return target


def test_bgzipped_vcf_reads_like_text(calls_vcf_gz: Path) -> None:
    assert calls_vcf_gz.name == "calls.vcf.gz"
    assert Path(f"{calls_vcf_gz}.tbi").exists()
    assert read(calls_vcf_gz) == read(DATA / "calls.vcf")


def test_bcf_reads_like_text(tmp_path: Path) -> None:
    bcf = to_bcf(DATA / "calls.vcf", tmp_path / "calls.bcf")
    assert read(bcf) == read(DATA / "calls.vcf")
    assert read(to_bcf(DATA / "structural.vcf", tmp_path / "sv.bcf")) == read(
        DATA / "structural.vcf"
    )


def test_plain_gzip_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "calls.vcf.gz"
    plain.write_bytes(gzip.compress((DATA / "calls.vcf").read_bytes()))
    expected = f"{plain} is gzip-compressed but not BGZF; recompress it with bgzip"
    with pytest.raises(IngestError, match=re.escape(expected)):
        VcfFile(plain)


def test_windows_line_endings(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.vcf"
    crlf.write_bytes((DATA / "calls.vcf").read_bytes().replace(b"\n", b"\r\n"))
    assert read(crlf) == read(DATA / "calls.vcf")


def test_progress_reaches_the_file_size(calls_vcf_gz: Path) -> None:
    with VcfFile(calls_vcf_gz) as vcf:
        assert vcf.progress() == (0, calls_vcf_gz.stat().st_size)
        list(vcf)
        done, total = vcf.progress()
    assert total == calls_vcf_gz.stat().st_size
    assert total - 100 < done <= total


def test_file_digest_is_sha256_of_the_bytes() -> None:
    path = DATA / "calls.vcf"
    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# --- assembly -------------------------------------------------------------------------------


def with_header(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "header.vcf"
    header = ["##fileformat=VCFv4.2", *lines, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    path.write_text("\n".join(header) + "\n")
    return path


@pytest.mark.parametrize(
    ("lines", "assembly"),
    [
        (["##reference=ftp://host/GRCh38_full_analysis_set_plus_decoy_hla.fa"], "GRCh38"),
        (["##reference=file:///refs/hs37d5.fa.gz"], "GRCh37"),
        (["##reference=file:///refs/Homo_sapiens_assembly38.fasta"], "GRCh38"),
        (["##reference=file:///refs/human_g1k_v37.fasta"], "GRCh37"),
        (["##reference=hg19"], "GRCh37"),
        (["##assembly=GRCh38.p13"], "GRCh38"),
        (["##contig=<ID=chr22,assembly=hg38>"], "GRCh38"),
        (["##contig=<ID=chr1,length=248956422>"], "GRCh38"),
        (["##contig=<ID=1,length=249250621>", "##contig=<ID=2,length=243199373>"], "GRCh37"),
        (["##contig=<ID=chrM,length=16571>"], "GRCh37"),
        # a declared assembly beats a reference file name
        (["##assembly=GRCh38", "##reference=hg19.fa"], "GRCh38"),
        # contig lengths beat a reference file name
        (["##reference=hg19.fa", "##contig=<ID=chr22,length=50818468>"], "GRCh38"),
    ],
)
def test_assembly_from_header(tmp_path: Path, lines: list[str], assembly: str) -> None:
    with VcfFile(with_header(tmp_path, *lines)) as vcf:
        assert vcf.assembly == assembly


def test_missing_assembly_is_an_error(tmp_path: Path) -> None:
    path = with_header(tmp_path, "##contig=<ID=chr1>", "##reference=file:///refs/genome.fa")
    expected = (
        f"cannot tell the assembly of {path} from its header; pass --assembly GRCh38 or GRCh37"
    )
    with pytest.raises(IngestError, match=re.escape(expected)):
        VcfFile(path)


def test_assembly_argument_wins_over_the_header(tmp_path: Path) -> None:
    path = with_header(tmp_path, "##contig=<ID=chr1,length=248956422>")
    with VcfFile(path, assembly="hg19") as vcf:
        assert vcf.assembly == "GRCh37"
    with pytest.raises(IngestError, match="unknown assembly 'NCBI36'"):
        VcfFile(path, assembly="NCBI36")


# --- bad input ------------------------------------------------------------------------------

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=248956422>
##INFO=<ID=END,Number=1,Type=Integer,Description="End">
##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="Length">
##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\tS3
chr1\t10\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0\t1/1
"""


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("chr1 300 . AXG G . PASS . GT 0/1 1/1 0/0", "(chr1:300): illegal bases in REF 'AXG'"),
        ("chr1 300 . A Q . PASS . GT 0/1 1/1 0/0", "(chr1:300): illegal bases in ALT 'Q'"),
        ("chr1 300 . A G,<> . PASS . GT 0/1 1/1 0/0", "(chr1:300): illegal bases in ALT '<>'"),
        ("chr1 abc . A G . PASS . GT 0/1 1/1 0/0", "(chr1:abc): POS 'abc' is not a positive"),
        ("chr1 0 . A G . PASS . GT 0/1 1/1 0/0", "(chr1:0): POS 0 is before the first base"),
        ("chr1 300 . A G . PASS . GT 0/1 1/1", "(chr1:300): 2 sample columns, the header names 3"),
        (
            "chr1 300 . A G . PASS . GT 0/1 1/1 0/0 1/1",
            "(chr1:300): 4 sample columns, the header names 3",
        ),
        ("chr1 300 . A G . PASS .", "(chr1:300): no sample columns, the header names 3"),
        ("chr1 300 . A", ": 4 tab-separated columns, a VCF record needs at least 8"),
        (
            "chr1 300 . A G . PASS . GT 0/x 1/1 0/0",
            "(chr1:300): unreadable genotype '0/x' (sample S1)",
        ),
        (
            "chr1 300 . A G . PASS . GT 0/1 1/3 0/0",
            "(chr1:300): genotype allele 3 but the record has 1 ALT allele(s) (sample S2)",
        ),
        ("chr1 300 . N <DEL> . PASS END=200 GT 0/1 1/1 0/0", "INFO END 200 is before POS 300"),
        ("chr1 300 . N <DEL> . PASS END=x GT 0/1 1/1 0/0", "INFO END 'x' is not an integer"),
        (
            "chr1 300 . N <DEL> . PASS . GT 0/1 1/1 0/0",
            "symbolic allele <DEL> needs INFO END or SVLEN",
        ),
        (
            "chr1 300 . N <FOO> . PASS END=400 GT 0/1 1/1 0/0",
            "unknown symbolic allele <FOO> and no INFO SVTYPE",
        ),
        (
            "NC_000001.10 300 . A G . PASS . GT 0/1 1/1 0/0",
            "sequence NC_000001.10 is not a chromosome of GRCh38",
        ),
    ],
)
def test_bad_record_names_file_and_line(tmp_path: Path, record: str, message: str) -> None:
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "\t".join(record.split(" ")) + "\n")
    with pytest.raises(IngestError) as raised:
        read(path)
    assert str(raised.value).startswith(f"{path} line 9")
    assert message in str(raised.value)


def test_empty_sample_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.vcf"
    path.write_text(HEADER + "chr1\t300\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\t\t1/1\n")
    with pytest.raises(IngestError, match=r"line 9 \(chr1:300\): empty sample column"):
        read(path)


def test_bad_record_in_bcf_names_the_record(tmp_path: Path) -> None:
    source = tmp_path / "bad.vcf"
    source.write_text(HEADER + "chr1\t300\t.\tAXG\tG\t.\tPASS\t.\tGT\t0/1\t1/1\t0/0\n")
    bcf = to_bcf(source, tmp_path / "bad.bcf")
    with pytest.raises(IngestError, match=re.escape(f"{bcf} record 2 (chr1:300): illegal bases")):
        read(bcf)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.vcf", "missing.vcf: no such file"),
        (lambda d: d, ": not a regular file"),
        (lambda d: write(d / "notes.txt", "hello\nworld\n"), "notes.txt: not a VCF or BCF file"),
        (lambda d: write(d / "empty.vcf", ""), "empty.vcf: not a VCF or BCF file"),
        (
            lambda d: write(d / "nochrom.vcf", "##fileformat=VCFv4.2\nchr1\t5\t.\tA\tG\t.\t.\t.\n"),
            "nochrom.vcf: malformed VCF header",
        ),
        (
            lambda d: write(
                d / "dup.vcf",
                "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL"
                "\tFILTER\tINFO\tFORMAT\tA\tA\n",
            ),
            "dup.vcf: malformed VCF header",
        ),
    ],
)
def test_unreadable_files(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    with pytest.raises(IngestError, match=re.escape(message)):
        VcfFile(make(tmp_path))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def big_vcf_gz(tmp_path: Path) -> Path:
    """A synthetic bgzipped VCF spanning many BGZF blocks."""
    samples = [f"S{i}" for i in range(100)]
    lines = [
        HEADER.split("#CHROM")[0]
        + "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples]
        )
    ]
    for n in range(3000):
        genotypes = (f"{(n + i) % 2}|{(n * i) % 3 // 2}" for i in range(len(samples)))
        lines.append(
            "\t".join(["chr1", str(100 + n), ".", "A", "G", ".", "PASS", ".", "GT", *genotypes])
        )
    text = tmp_path / "big.vcf"
    text.write_text("\n".join(lines) + "\n")
    compressed = tmp_path / "big.vcf.gz"
    pysam.tabix_compress(str(text), str(compressed))
    return compressed


def test_truncated_bgzf_is_refused(big_vcf_gz: Path) -> None:
    data = big_vcf_gz.read_bytes()
    big_vcf_gz.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="truncated"):
        read(big_vcf_gz)


def test_corrupt_bgzf_block_stops_with_the_last_good_record(
    big_vcf_gz: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(big_vcf_gz.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    big_vcf_gz.write_bytes(bytes(data))
    seen: list[VariantCalls] = []
    with pytest.raises(IngestError) as raised, VcfFile(big_vcf_gz) as vcf:
        seen.extend(vcf)
    message = str(raised.value)
    assert re.match(
        rf"{re.escape(str(big_vcf_gz))}: cannot read past line \d+ "
        r"\(last record chr1:\d+\)",
        message,
    )
    assert "truncated, corrupt or malformed" in message
    assert 0 < len(seen) < 3000
    # htslib's own complaints are silenced: the IngestError is the one report.
    assert capfd.readouterr().err == ""


# --- the real 1000 Genomes slice ----------------------------------------------------------


def bcftools_calls(path: Path) -> list[tuple[str, int, str, set[int], set[int]]]:
    """(chrom, pos, alt, carrier columns, homozygous columns) per record, from bcftools."""
    text = str(pysam.bcftools.query("-f", "%CHROM\t%POS\t%REF\t%ALT[\t%GT]\n", str(path)))
    records = []
    for line in text.splitlines():
        chrom, pos, _ref, alt, *genotypes = line.split("\t")
        assert "," not in alt  # the slice is biallelic: ALT index 1 throughout
        # Classify each distinct genotype string once; 2,548 columns share a handful.
        alleles = {gt: re.split(r"[/|]", gt) for gt in set(genotypes)}
        carrying = {gt for gt, a in alleles.items() if "1" in a}
        homozygous = {gt for gt in carrying if set(alleles[gt]) <= {"1", "."}}
        records.append(
            (
                chrom,
                int(pos),
                alt,
                {i for i, gt in enumerate(genotypes) if gt in carrying},
                {i for i, gt in enumerate(genotypes) if gt in homozygous},
            )
        )
    return records


def test_thousand_genomes_matches_bcftools(thousand_genomes_vcf: Path) -> None:
    with VcfFile(thousand_genomes_vcf) as vcf:
        samples, assembly = vcf.samples, vcf.assembly
        calls = list(vcf)
    assert (len(samples), assembly, len(calls)) == (2548, "GRCh38", 3042)
    assert {c.variant.chromosome for c in calls} == {"22"}
    expected = bcftools_calls(thousand_genomes_vcf)
    assert len(expected) == 3042
    for call, (_chrom, pos, alt, carriers, homozygous) in zip(calls, expected, strict=True):
        assert (call.variant.start + 1, call.variant.alternate) == (pos, alt)
        assert int.from_bytes(call.carriers, "little").bit_count() == len(carriers)
        assert int.from_bytes(call.homozygous, "little").bit_count() == len(homozygous)
        assert bits(call.carriers) == carriers
        assert bits(call.homozygous) == homozygous
