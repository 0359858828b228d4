"""The synthetic demo data: deterministic, readable by pysam, and internally consistent."""

from __future__ import annotations

import csv
import hashlib
from collections import Counter
from pathlib import Path

import pysam
import pytest

from gateway.demo import DemoFiles, kvnr_check_digit, write_demo
from gateway.demo.synthetic import CSQ_FORMAT, KVNR_SYSTEM


def _kvnr_valid(value: str) -> bool:
    """An independent reading of the KVNR rule in reference/national-records.md."""
    if len(value) != 10 or not value[0].isalpha() or not value[1:].isdigit():
        return False
    digits = f"{ord(value[0].upper()) - 64:02d}" + value[1:9]
    products = [int(d) * w for d, w in zip(digits, [1, 2] * 5, strict=True)]
    return sum(p - 9 if p > 9 else p for p in products) % 10 == int(value[9])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoFiles:
    return write_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def records(demo: DemoFiles) -> list[pysam.VariantRecord]:
    with pysam.VariantFile(str(demo.vcf)) as vcf:
        return list(vcf)


@pytest.fixture(scope="module")
def manifest(demo: DemoFiles) -> list[dict[str, str]]:
    with demo.manifest.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.mark.parametrize("value", ["A123456780", "E567890127", "H890123459", "M123456785"])
def test_kvnr_check_digit_matches_published_examples(value: str) -> None:
    assert kvnr_check_digit(value[:9]) == value[9]
    assert _kvnr_valid(value)


@pytest.mark.parametrize("value", ["A123456789", "G995030567"])
def test_kvnr_check_digit_rejects_invalid_examples(value: str) -> None:
    assert kvnr_check_digit(value[:9]) != value[9]
    assert not _kvnr_valid(value)


@pytest.mark.parametrize("body", ["1234567890", "A1234567", "a12345678", "A1234567X"])
def test_kvnr_check_digit_refuses_malformed_bodies(body: str) -> None:
    with pytest.raises(ValueError, match="KVNR"):
        kvnr_check_digit(body)


def test_same_arguments_give_identical_bytes(tmp_path: Path, demo: DemoFiles) -> None:
    again = write_demo(tmp_path / "again")
    assert _sha256(again.vcf) == _sha256(demo.vcf)
    assert _sha256(again.manifest) == _sha256(demo.manifest)
    assert _sha256(Path(f"{again.vcf}.tbi")) == _sha256(Path(f"{demo.vcf}.tbi"))


def test_another_seed_gives_other_data(tmp_path: Path, demo: DemoFiles) -> None:
    other = write_demo(tmp_path, seed=1, individuals=12, records=200)
    assert _sha256(other.vcf) != _sha256(demo.vcf)
    with pysam.VariantFile(str(other.vcf)) as vcf:
        assert len(vcf.header.samples) == 12
        assert sum(1 for _ in vcf) == 200


def test_out_of_range_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="individuals"):
        write_demo(tmp_path, individuals=0)


def test_header_declares_the_contract(demo: DemoFiles, records: list[pysam.VariantRecord]) -> None:
    with pysam.VariantFile(str(demo.vcf)) as vcf:
        header = vcf.header
        assert str(header).startswith("##fileformat=VCFv4.3\n")
        assert "##reference=GRCh38" in str(header)
        assert {"END", "SVLEN", "SVTYPE", "AC", "AN", "CSQ"} <= set(header.info)
        assert CSQ_FORMAT in str(header.info["CSQ"].description)
        assert {"DEL", "DUP", "INV", "INS", "CNV"} <= set(header.alts)
        used = {record.chrom for record in records}
        assert set(header.contigs) == used
        assert all(header.contigs[name].length for name in used)
        assert header.contigs["chr17"].length == 83_257_441


def test_record_count_and_order(records: list[pysam.VariantRecord]) -> None:
    assert len(records) == 3000
    contigs = list(dict.fromkeys(record.chrom for record in records))
    assert contigs[0] == "chr1"
    assert contigs[-1] == "chrX"
    keys = [(contigs.index(r.chrom), r.pos) for r in records]
    assert keys == sorted(keys)
    assert len({(r.chrom, r.pos, r.ref, r.alts) for r in records}) == len(records)


def test_variant_kinds_are_all_present(records: list[pysam.VariantRecord]) -> None:
    kinds = Counter(_kind(record) for record in records)
    assert kinds["snv"] > 2000
    assert kinds["mnp"] > 0
    assert kinds["insertion"] > 0
    assert kinds["deletion"] > 0
    assert 0.03 < kinds["multi"] / len(records) < 0.07
    assert {f"<{t}>" for t in ("DEL", "DUP", "INV", "INS", "CNV")} <= set(kinds)


def _kind(record: pysam.VariantRecord) -> str:
    ref, alts = record.ref or "", record.alts or ()
    if len(alts) > 1:
        return "multi"
    alt = alts[0]
    if alt.startswith("<"):
        return alt
    if len(alt) == len(ref):
        return "snv" if len(alt) == 1 else "mnp"
    return "insertion" if len(alt) > len(ref) else "deletion"


def test_indels_carry_the_padding_base(records: list[pysam.VariantRecord]) -> None:
    for record in records:
        ref, alts = record.ref or "", record.alts or ()
        if len(alts) == 1 and len(alts[0]) != len(ref) and not alts[0].startswith("<"):
            assert alts[0][0] == ref[0]


def test_structural_records_carry_end_svlen_svtype(records: list[pysam.VariantRecord]) -> None:
    structural = [r for r in records if (r.alts or ("",))[0].startswith("<")]
    assert 20 <= len(structural) <= 40
    for record in structural:
        svtype = record.info["SVTYPE"]
        assert record.alts == (f"<{svtype}>",)
        svlen = record.info["SVLEN"][0]
        assert (svlen < 0) == (svtype == "DEL")
        if svtype == "INS":
            assert record.stop == record.pos
        else:
            assert record.stop == record.pos + abs(svlen)


def test_csq_has_one_entry_per_alt_in_gene_regions(records: list[pysam.VariantRecord]) -> None:
    annotated = [r for r in records if "CSQ" in r.info]
    assert 0.75 * len(records) < len(annotated) < len(records)
    symbols: set[str] = set()
    for record in annotated:
        entries = [entry.split("|") for entry in record.info["CSQ"]]
        assert all(len(fields) == 9 for fields in entries)
        assert [int(fields[8]) for fields in entries] == list(range(1, len(record.alts or ()) + 1))
        symbols.update(fields[3] for fields in entries)
    assert {"BRCA1", "BRCA2", "TP53", "CFTR", "BRAF", "MLH1", "APOE", "LDLR"} <= symbols


def test_multiallelic_records_count_each_alt(records: list[pysam.VariantRecord]) -> None:
    for record in records:
        alleles = [a for s in record.samples.values() for a in s["GT"] if a is not None]
        assert record.info["AN"] == len(alleles)
        counts = [alleles.count(n) for n in range(1, len(record.alts or ()) + 1)]
        assert list(record.info["AC"]) == counts
        assert min(counts) >= 1


def test_males_are_haploid_on_chrx(
    records: list[pysam.VariantRecord], manifest: list[dict[str, str]]
) -> None:
    sexes = {row["sample_id"]: row["sex"] for row in manifest}
    chrx = [r for r in records if r.chrom == "chrX"]
    assert chrx
    for record in chrx:
        for name, sample in record.samples.items():
            assert len(sample["GT"]) == (1 if sexes[str(name)] == "male" else 2)
    autosomal = next(r for r in records if r.chrom == "chr1")
    assert all(len(sample["GT"]) == 2 for sample in autosomal.samples.values())


def test_genotypes_mix_phasing_missing_and_a_rare_heavy_spectrum(
    records: list[pysam.VariantRecord],
) -> None:
    phased = sum(1 for r in records if next(iter(r.samples.values())).phased)
    assert 0.5 < phased / len(records) < 0.9
    missing = sum(1 for r in records for s in r.samples.values() if None in s["GT"])
    assert missing > 0
    frequencies = [r.info["AC"][0] / r.info["AN"] for r in records]
    rare = sum(1 for f in frequencies if f < 0.05)
    common = sum(1 for f in frequencies if f > 0.2)
    assert rare > len(records) / 2
    assert common > 0


def test_manifest_matches_the_vcf_samples(demo: DemoFiles, manifest: list[dict[str, str]]) -> None:
    with pysam.VariantFile(str(demo.vcf)) as vcf:
        assert [row["sample_id"] for row in manifest] == list(vcf.header.samples)
    assert list(manifest[0]) == ["sample_id", "individual_id", "sex", "identifier"]
    assert [row["individual_id"] for row in manifest][:2] == ["DE-IND-0001", "DE-IND-0002"]
    sexes = Counter(row["sex"] for row in manifest)
    assert sexes["unknown"] == 1
    assert sexes["female"] >= 15
    assert sexes["male"] >= 15


def test_manifest_identifiers_are_valid_synthetic_kvnr(manifest: list[dict[str, str]]) -> None:
    linked = [row["identifier"] for row in manifest if row["identifier"]]
    assert 0 < len(manifest) - len(linked) <= 5
    assert len(set(linked)) == len(linked)
    for identifier in linked:
        system, value = identifier.split("|")
        assert system == KVNR_SYSTEM
        assert _kvnr_valid(value)
        assert value[:3] in {"X99", "Y99", "Z99"}
