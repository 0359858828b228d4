"""``gateway translate vcf`` as an operator runs it, on the vcf2fhir samples and 1000 Genomes.

Counts are checked against an independent decode (``bcftools query``), coordinates against the
VCF, and every Bundle parses with fhir.resources R4B.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pysam
import pysam.bcftools
import pytest

from tests.cli.test_ingest_command import command, environment, one_clear_line
from tests.support.fhir_validation import parse_with_fhir_resources

VARIANT = "69548-6"
PHASE = "82120-7"
EXACT = "81254-5"


def translate(database_url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command("translate", "vcf", *args),
        env=environment(database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def bundle_of(database_url: str, tmp_path: Path, *args: str | Path) -> tuple[dict[str, Any], str]:
    out = tmp_path / "bundle.json"
    result = translate(database_url, *args, "-o", out)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text()), result.stderr


def resources(bundle: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"]["coding"][0]["code"] == code
    ]


def component(observation: dict[str, Any], code: str) -> dict[str, Any] | None:
    return next(
        (c for c in observation.get("component", []) if c["code"]["coding"][0]["code"] == code),
        None,
    )


def independent_allele_count(
    path: Path, sample: str | None = None, region: str | None = None
) -> int:
    """Distinct non-reference alleles called per record, FILTER PASS or '.', ALT not '*', '.'
    or a breakend (the reader counts those as skipped): decoded by bcftools, not by the
    gateway's reader."""
    arguments = ["-f", "%FILTER\t%ALT\t[%GT]\n"]
    if sample is not None:
        arguments = ["-s", sample, *arguments]
    if region is not None:
        arguments = ["-r", region, *arguments]
    total = 0
    decoded = pysam.bcftools.query(*arguments, str(path))
    assert isinstance(decoded, str)
    for line in decoded.splitlines():
        filters, alts, genotype = line.split("\t")
        if filters not in ("PASS", "."):
            continue
        alternates = alts.split(",")
        indices = {int(a) for a in genotype.replace("|", "/").split("/") if a not in (".", "0")}
        total += sum(1 for i in indices if _reportable(alternates[i - 1]))
    return total


def _reportable(alternate: str) -> bool:
    return alternate not in ("*", ".") and "[" not in alternate and "]" not in alternate


def test_a_single_sample_vcf_becomes_a_valid_genomic_report(shared, database_url, tmp_path):
    path = shared / "conformance" / "vcf-examples" / "HG00404_b37.vcf"
    bundle, stderr = bundle_of(database_url, tmp_path, path)
    variants = resources(bundle, VARIANT)
    assert len(variants) == independent_allele_count(path)
    (report,) = [
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DiagnosticReport"
    ]
    assert report["code"]["coding"][0]["code"] == "51969-4"
    phases = resources(bundle, PHASE)
    assert len(report["result"]) == len(variants) + len(phases)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(r["reference"] in urls for r in report["result"])
    assert phases, "HG00404 carries phased genotypes"
    assert f"-> {len(variants)} variant observations" in stderr
    assert parse_with_fhir_resources(bundle) == []


def test_coordinates_round_trip_to_the_vcf(shared, database_url, tmp_path):
    path = shared / "conformance" / "vcf-examples" / "HG00404_b37.vcf"
    bundle, _ = bundle_of(database_url, tmp_path, path)
    records = {
        (record.pos, record.ref, alt)
        for record in pysam.VariantFile(str(path))
        for alt in record.alts or ()
    }
    for observation in resources(bundle, VARIANT)[:500]:
        exact = component(observation, EXACT)
        if exact is None:  # structural alleles with imprecise bounds
            continue
        low, high = exact["valueRange"]["low"]["value"], exact["valueRange"]["high"]["value"]
        reference = component(observation, "69547-8")
        alternate = component(observation, "69551-0")
        assert reference is not None
        assert alternate is not None
        assert high - low == len(reference["valueString"])
        assert (low + 1, reference["valueString"], alternate["valueString"]) in records


def test_a_region_is_1_based_inclusive_as_bcftools_reads_it(shared, database_url, tmp_path):
    path = shared / "conformance" / "vcf-examples" / "HG00403A.vcf.gz"
    # The first record that the sample carries, so the region holds something to report.
    first = next(
        r
        for r in pysam.VariantFile(str(path))
        if any(a not in (0, None) for a in next(iter(r.samples.values()))["GT"])
    )
    region = f"{first.chrom}:{first.pos}-{first.pos}"
    bundle, _ = bundle_of(database_url, tmp_path, path, "--region", region)
    variants = resources(bundle, VARIANT)
    assert len(variants) == independent_allele_count(path, region=region)
    for observation in variants:
        low = component(observation, EXACT)["valueRange"]["low"]["value"]  # type: ignore[index]
        assert low + 1 == first.pos


def test_one_sample_of_1000_genomes(thousand_genomes_vcf, database_url, tmp_path):
    bundle, _ = bundle_of(
        database_url, tmp_path, thousand_genomes_vcf, "--sample", "HG00096", "--assembly", "GRCh38"
    )
    assert len(resources(bundle, VARIANT)) == independent_allele_count(
        thousand_genomes_vcf, "HG00096"
    )
    assert parse_with_fhir_resources(bundle) == []


def test_several_samples_need_one_chosen(thousand_genomes_vcf, database_url, tmp_path):
    line = one_clear_line(translate(database_url, thousand_genomes_vcf, "-o", tmp_path / "x.json"))
    assert "--sample" in line
    assert "2548 samples" in line
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
            "1\tnotanumber\t.\tA\tG\t.\tPASS\t.\tGT\t0/1\n",
            "line",
        ),
        ("not a vcf at all\n", "vcf"),
    ],
)
def test_a_bad_file_is_one_line_and_leaves_no_output(database_url, tmp_path, content, says):
    source = tmp_path / "bad.vcf"
    source.write_text(content)
    out = tmp_path / "out" / "bundle.json"
    out.parent.mkdir()
    line = one_clear_line(translate(database_url, source, "--assembly", "GRCh38", "-o", out))
    assert says in line.lower()
    assert list(out.parent.iterdir()) == []


def test_structural_variants_keep_their_span_and_kind(shared, database_url, tmp_path):
    path = shared / "conformance" / "vcf-examples" / "vcf_structural_variants.vcf"
    bundle, stderr = bundle_of(database_url, tmp_path, path, "--assembly", "GRCh37")
    variants = resources(bundle, VARIANT)
    structural = [
        v
        for v in variants
        if component(v, "48019-4") is not None and component(v, "69551-0") is None
    ]
    assert structural, "the SV sample holds symbolic alleles"
    for observation in structural:
        spans = [c for c in ("81254-5", "81302-2", "81301-4") if component(observation, c)]
        assert spans, "every structural allele states where it lies"
    assert "structural" in stderr
    assert parse_with_fhir_resources(bundle) == []


REQUIRED_COMPONENTS = {"48013-7", "92822-6", "69547-8", "53034-5", "48002-0", "62374-4"}


@pytest.mark.parametrize("name", ["HG00404_b37.vcf", "HG00403A.vcf.gz", "NB6TK328_filtered.vcf"])
def test_every_variant_has_the_codes_and_components_of_the_profile(
    shared, database_url, tmp_path, name
):
    path = shared / "conformance" / "vcf-examples" / name
    bundle, _ = bundle_of(database_url, tmp_path, path, "--assembly", "GRCh37")
    variants = resources(bundle, VARIANT)
    assert variants
    for observation in variants:
        assert observation["meta"]["profile"] == [
            "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"
        ]
        categories = {c["coding"][0]["code"] for c in observation["category"]}
        assert categories == {"laboratory", "GE"}
        assert observation["valueCodeableConcept"]["coding"][0]["code"] == "LA9633-4"
        codes = {c["code"]["coding"][0]["code"] for c in observation["component"]}
        assert codes >= REQUIRED_COMPONENTS
        assert codes & {"81254-5", "81302-2", "81301-4"}, "a location"
        system = component(observation, "92822-6")["valueCodeableConcept"]["coding"][0]  # type: ignore[index]
        assert system["code"] == "LA30100-4"
        refseq = component(observation, "48013-7")["valueCodeableConcept"]["coding"][0]  # type: ignore[index]
        assert re.fullmatch(r"NC_0000\d\d\.\d+|NC_012920\.1", refseq["code"])
    assert parse_with_fhir_resources(bundle) == []
