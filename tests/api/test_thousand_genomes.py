"""Beacon answers over real 1000 Genomes data equal bcftools' own counts of the same file.

bcftools (bundled with pysam) counts carriers (``N_PASS(GT="alt")``) and homozygous
carriers (``N_PASS(GT="AA")``) per record; the gateway must report the same numbers, and
exactly the records with at least one carrier must exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pysam.bcftools
import pytest
from fastapi.testclient import TestClient

from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from tests.api.conftest import serving
from tests.support.beacon_schema import RESPONSE_SCHEMAS, assert_valid

Counts = dict[str, tuple[int, int]]


@pytest.fixture(scope="module")
def bcftools_counts(thousand_genomes_vcf: Path) -> Counts:
    """variant id → (carriers, homozygous carriers), counted by bcftools."""
    out = pysam.bcftools.query(
        "-f",
        '%CHROM\t%POS\t%REF\t%ALT\t%N_PASS(GT="alt")\t%N_PASS(GT="AA")\n',
        str(thousand_genomes_vcf),
    )
    assert isinstance(out, str)
    counts = {}
    for line in out.splitlines():
        chrom, pos, ref, alt, carriers, homozygous = line.split("\t")
        counts[f"GRCh38-{chrom.removeprefix('chr')}-{pos}-{ref}-{alt}"] = (
            int(carriers),
            int(homozygous),
        )
    assert len(counts) == 3042
    return counts


@pytest.fixture
def client(settings: Settings, thousand_genomes_vcf: Path) -> Iterator[TestClient]:
    job = VcfIngest(
        thousand_genomes_vcf, "1000g", policy=PolicyChange(max_granularity=Granularity.RECORD)
    )
    with serving(settings, job) as test_client:
        yield test_client


def record_pages(client: TestClient) -> Iterator[dict[str, Any]]:
    query = {
        "requestParameters": {"referenceName": "chr22", "start": [10_000_000], "end": [11_000_000]},
        "requestedGranularity": "record",
    }
    for page in range(100):
        response = client.post(
            "/beacon/g_variants",
            json={
                "meta": {"apiVersion": "v2.0"},
                "query": {**query, "pagination": {"skip": page, "limit": 500}},
            },
        )
        assert response.status_code == 200
        body = response.json()
        results = (
            body["response"]["resultSets"][0]["results"] if body["response"]["resultSets"] else []
        )
        if not results:
            return
        if page == 0:
            assert_valid(body, RESPONSE_SCHEMAS["record"])
        yield from results


def test_existence_and_carrier_counts_equal_bcftools(
    client: TestClient, bcftools_counts: Counts
) -> None:
    seen = {}
    for record in record_pages(client):
        cases = record["caseLevelData"]
        homozygous = sum(c["zygosity"]["label"] == "homozygous" for c in cases)
        seen[record["variantInternalId"]] = (len(cases), homozygous)
    carried = {vid: counts for vid, counts in bcftools_counts.items() if counts[0] > 0}
    assert len(carried) == 2996  # 46 records have no carrier among the 2,548 samples
    assert seen == carried


def test_count_answers_equal_bcftools(client: TestClient, bcftools_counts: Counts) -> None:
    for vid in sorted(bcftools_counts)[::60]:
        carriers = bcftools_counts[vid][0]
        body = client.get(f"/beacon/g_variants/{vid}").json()
        assert body["responseSummary"]["exists"] is (carriers > 0), vid
        if carriers:
            people = client.get(f"/beacon/g_variants/{vid}/individuals").json()
            assert people["responseSummary"]["numTotalResults"] == carriers, vid
