"""Beacon v2 over HTTP, through the real app, on a store whose content is known exactly.

Every answer is checked against the official v2.1.1 schemas (``../shared/conformance``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity, SecurityLevel
from gateway.services.datasets import set_policy
from gateway.services.ingest_vcf import VcfIngest
from gateway.storage.database import open_database
from tests.api.conftest import SMALL_VCF, STANDARD_JOBS, serving
from tests.support.beacon_schema import (
    COLLECTIONS,
    ERROR,
    INDIVIDUAL_RECORD,
    RESPONSE_SCHEMAS,
    VARIANT_RECORD,
    assert_valid,
)

pytestmark = pytest.mark.usefixtures("shared")

SCHEMAS = {
    "/info": "framework/json/responses/beaconInfoResponse.json",
    "/": "framework/json/responses/beaconInfoResponse.json",
    "/service-info": "framework/json/responses/ga4gh-service-info-1-0-0-schema.json",
    "/configuration": "framework/json/responses/beaconConfigurationResponse.json",
    "/map": "framework/json/responses/beaconMapResponse.json",
    "/entry_types": "framework/json/responses/beaconEntryTypesResponse.json",
    "/filtering_terms": "framework/json/responses/beaconFilteringTermsResponse.json",
    "/individuals/filtering_terms": "framework/json/responses/beaconFilteringTermsResponse.json",
    "/datasets/cohort/filtering_terms": (
        "framework/json/responses/beaconFilteringTermsResponse.json"
    ),
}


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    collections = "collections" in body.get("response", {})
    schema = COLLECTIONS if collections else RESPONSE_SCHEMAS[body["meta"]["returnedGranularity"]]
    assert_valid(body, schema)
    return body


def post(
    client: TestClient,
    path: str,
    parameters: dict[str, Any] | None = None,
    granularity: str | None = "record",
    **query: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "meta": {"apiVersion": "v2.0"},
        "query": {"requestParameters": parameters or {}, **query},
    }
    if granularity:
        body["query"]["requestedGranularity"] = granularity
    return ok(client.post(f"/beacon{path}", json=body))


def ids(body: dict[str, Any], dataset: str = "cohort") -> list[str]:
    for result_set in body["response"]["resultSets"]:
        if result_set["id"] == dataset:
            return [r.get("variantInternalId") or r["id"] for r in result_set["results"]]
    return []


def total(body: dict[str, Any]) -> int:
    value: int = body["responseSummary"]["numTotalResults"]
    return value


@pytest.mark.parametrize("path", sorted(SCHEMAS))
def test_informational_endpoints_are_schema_valid(client: TestClient, path: str) -> None:
    response = client.get(f"/beacon{path}")
    assert response.status_code == 200, response.text
    assert_valid(response.json(), SCHEMAS[path])


def test_get_answers_at_count_granularity(client: TestClient) -> None:
    body = ok(
        client.get(
            "/beacon/g_variants",
            params={"referenceName": "1", "start": "1999", "alternateBases": "T"},
        )
    )
    assert body["meta"]["returnedGranularity"] == "count"
    assert body["responseSummary"] == {
        "exists": True,
        "numTotalResults": 2,
        "countPrecision": "exact",
    }


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
def test_post_honours_requested_granularity_up_to_the_dataset_maximum(
    client: TestClient, granularity: str
) -> None:
    body = post(
        client,
        "/g_variants",
        {"referenceName": "1", "start": [1999], "alternateBases": "T", "datasetIds": ["cohort"]},
        granularity=granularity,
    )
    assert body["meta"]["returnedGranularity"] == granularity
    assert body["responseSummary"]["exists"] is True


def test_record_granularity_is_capped_by_the_least_permissive_dataset(client: TestClient) -> None:
    body = post(
        client, "/g_variants", {"referenceName": "1", "start": [1999], "alternateBases": "T"}
    )
    assert body["meta"]["returnedGranularity"] == "count"  # 'reference' allows count only


def test_sequence_query_record_carries_case_level_data(client: TestClient) -> None:
    body = post(
        client,
        "/g_variants",
        {
            "g_variant": {"referenceName": "chr1", "start": [1999], "alternateBases": "G"},
            "datasets": {"datasetIds": ["cohort"]},
        },
    )
    (record,) = body["response"]["resultSets"][0]["results"]
    assert_valid(record, VARIANT_RECORD)
    assert record["variantInternalId"] == "GRCh38-1-2000-C-G"
    cases = {c["biosampleId"]: c["zygosity"]["label"] for c in record["caseLevelData"]}
    assert cases == {"S2": "heterozygous", "S4": "homozygous"}


@pytest.mark.parametrize("name", ["1", "chr1", "NC_000001.11", "refseq:NC_000001.11"])
def test_chromosome_spellings_are_the_same_chromosome(client: TestClient, name: str) -> None:
    body = ok(
        client.get(
            "/beacon/g_variants",
            params={
                "referenceName": name,
                "start": "999",
                "alternateBases": "G",
                "datasetIds": "reference",
            },
        )
    )
    assert body["responseSummary"]["exists"] is True


def test_chromosome_one_never_matches_nineteen(client: TestClient) -> None:
    # chr19:1000 A>G exists; chr1:1000 A>G exists too but only in the reference dataset.
    body = post(
        client,
        "/g_variants",
        {"referenceName": "1", "start": [0], "end": [100_000], "datasetIds": ["cohort"]},
        pagination={"skip": 0, "limit": 100},
    )
    assert ids(body)
    assert all(i.startswith("GRCh38-1-") for i in ids(body))


def test_range_query_finds_partial_overlaps_including_long_deletions(client: TestClient) -> None:
    body = post(
        client,
        "/g_variants",
        {"referenceName": "1", "start": [10_000], "end": [10_001], "datasetIds": ["cohort"]},
    )
    assert ids(body) == ["GRCh38-1-5001-N-DEL-25000"]
    record = body["response"]["resultSets"][0]["results"][0]
    assert record["variation"]["location"]["interval"]["start"]["value"] == 5000
    assert record["variation"]["location"]["interval"]["end"]["value"] == 25000


@pytest.mark.parametrize(
    "parameters",
    [
        {},
        {"referenceName": "1", "start": [0], "end": [100_000]},
        {"geneId": "brca2"},
        {"referenceName": "1", "start": [4000, 6000], "end": [20000, 30000]},
        {"referenceName": "X", "start": [0], "end": [3_000_000], "variantType": "SNP"},
    ],
)
def test_database_counts_equal_the_records(settings: Any, parameters: dict[str, Any]) -> None:
    job = VcfIngest(SMALL_VCF, "open", policy=PolicyChange(max_granularity=Granularity.RECORD))
    with serving(settings, job) as client:
        counted = post(client, "/g_variants", parameters, granularity="count")  # by the database
        listed = post(client, "/g_variants", parameters, pagination={"skip": 0, "limit": 100})
    assert total(counted) == len(ids(listed, "open")) == total(listed)
    assert total(counted) > 0


def test_range_end_is_exclusive(client: TestClient) -> None:
    body = post(
        client,
        "/g_variants",
        {"referenceName": "1", "start": [0], "end": [999], "datasetIds": ["reference"]},
        granularity="count",
    )
    assert body["responseSummary"]["exists"] is False
    body = post(
        client,
        "/g_variants",
        {"referenceName": "1", "start": [0], "end": [1000], "datasetIds": ["reference"]},
        granularity="count",
    )
    assert total(body) == 1


def test_bracket_query_with_variant_type(client: TestClient) -> None:
    body = post(
        client,
        "/g_variants",
        {
            "referenceName": "1",
            "start": [4000, 6000],
            "end": [20000, 30000],
            "variantType": "DEL",
            "datasetIds": ["cohort"],
        },
    )
    assert ids(body) == ["GRCh38-1-5001-N-DEL-25000"]
    body = post(
        client,
        "/g_variants",
        {
            "referenceName": "1",
            "start": [4000, 6000],
            "end": [20000, 30000],
            "variantType": "DUP",
            "datasetIds": ["cohort"],
        },
        granularity="count",
    )
    assert body["responseSummary"]["exists"] is False


def test_variant_length_bounds(client: TestClient) -> None:
    body = post(
        client,
        "/g_variants",
        {
            "referenceName": "1",
            "start": [0],
            "end": [100_000],
            "variantMinLength": 2,
            "datasetIds": ["cohort"],
        },
    )
    assert ids(body) == ["GRCh38-1-3000-AT-A", "GRCh38-1-5001-N-DEL-25000"]
    body = post(
        client,
        "/g_variants",
        {
            "referenceName": "1",
            "start": [0],
            "end": [100_000],
            "variantMaxLength": 1000,
            "variantMinLength": 2,
            "datasetIds": ["cohort"],
        },
    )
    assert ids(body) == ["GRCh38-1-3000-AT-A"]


def test_gene_query(client: TestClient) -> None:
    body = post(client, "/g_variants", {"geneId": "BRCA2", "datasetIds": ["cohort"]})
    (record,) = body["response"]["resultSets"][0]["results"]
    assert record["variantInternalId"] == "GRCh38-13-32316000-G-A"
    assert record["molecularAttributes"]["geneIds"] == ["BRCA2"]
    in_range = {"referenceName": "13", "start": "32000000", "end": "33000000", "geneId": "BRCA2"}
    assert total(ok(client.get("/beacon/g_variants", params=in_range))) == 2  # two datasets
    elsewhere = {**in_range, "geneId": "TP53"}
    assert total(ok(client.get("/beacon/g_variants", params=elsewhere))) == 0
    lower = ok(client.get("/beacon/g_variants", params={"geneId": "brca2"}))
    assert lower["responseSummary"]["exists"] is True
    assert (
        ok(client.get("/beacon/g_variants", params={"geneId": "BRCA1"}))["responseSummary"][
            "exists"
        ]
        is False
    )


def test_genomic_hgvs_query(client: TestClient) -> None:
    body = ok(
        client.get(
            "/beacon/g_variants", params={"genomicAlleleShortForm": "NC_000013.11:g.32316000G>A"}
        )
    )
    assert body["responseSummary"]["exists"] is True


def test_assembly_id_restricts_the_search(client: TestClient) -> None:
    params = {"referenceName": "13", "start": "32315999", "alternateBases": "A"}
    assert (
        ok(client.get("/beacon/g_variants", params={**params, "assemblyId": "GRCh38"}))[
            "responseSummary"
        ]["exists"]
        is True
    )
    assert (
        ok(client.get("/beacon/g_variants", params={**params, "assemblyId": "GRCh37"}))[
            "responseSummary"
        ]["exists"]
        is False
    )


def test_filtered_records_and_lowqual_and_uncarried_alleles_are_not_stored(
    client: TestClient,
) -> None:
    for start in ("3499", "7999"):
        body = ok(
            client.get(
                "/beacon/g_variants",
                params={"referenceName": "1", "start": start, "alternateBases": "C"},
            )
        )
        assert body["responseSummary"]["exists"] is False


def test_citizen_basis_counts_only_linked_samples(client: TestClient) -> None:
    # chr1:1000 A>G is carried by S3 and S6 only, neither linked to a citizen.
    params = {"referenceName": "1", "start": [999], "alternateBases": "G"}
    assert (
        post(client, "/g_variants", {**params, "datasetIds": ["cohort"]}, granularity="count")[
            "responseSummary"
        ]["exists"]
        is False
    )
    assert (
        post(client, "/g_variants", {**params, "datasetIds": ["reference"]}, granularity="count")[
            "responseSummary"
        ]["exists"]
        is True
    )


def test_controlled_datasets_are_invisible_to_anonymous_callers(client: TestClient) -> None:
    listed = ok(client.get("/beacon/datasets"))
    assert_valid(listed, COLLECTIONS)
    assert [c["id"] for c in listed["response"]["collections"]] == ["cohort", "reference"]
    body = post(
        client,
        "/g_variants",
        {"referenceName": "1", "start": [1999], "alternateBases": "T", "datasetIds": ["secret"]},
        granularity="count",
    )
    assert body["responseSummary"]["exists"] is False
    missing = client.get("/beacon/datasets/secret")
    assert missing.status_code == 404
    assert_valid(missing.json(), ERROR)


def test_pagination_skip_counts_pages(client: TestClient) -> None:
    parameters = {"referenceName": "1", "start": [0], "end": [100_000], "datasetIds": ["cohort"]}
    everything = ids(post(client, "/g_variants", parameters, pagination={"skip": 0, "limit": 100}))
    assert len(everything) == 4
    pages = [
        ids(post(client, "/g_variants", parameters, pagination={"skip": s, "limit": 2}))
        for s in range(3)
    ]
    assert pages == [everything[:2], everything[2:4], []]
    body = post(client, "/g_variants", parameters, pagination={"skip": 1, "limit": 2})
    assert total(body) == 4  # the total before pagination


def test_include_resultset_responses(client: TestClient) -> None:
    parameters = {
        "referenceName": "1",
        "start": [999],
        "alternateBases": "G",
        "datasetIds": ["cohort"],
    }
    miss = post(client, "/g_variants", parameters, includeResultsetResponses="MISS")
    assert [rs["id"] for rs in miss["response"]["resultSets"]] == ["cohort"]
    hit = post(client, "/g_variants", parameters)
    assert hit["response"]["resultSets"] == []


def test_carriers_of_a_variant(client: TestClient) -> None:
    body = ok(client.get("/beacon/g_variants/GRCh38-X-2000000-C-T/individuals"))
    assert body["responseSummary"]["numTotalResults"] == 3 + 3  # cohort (P1,P2,P4) + reference
    records = post(
        client, "/g_variants/GRCh38-X-2000000-C-T/individuals", {"datasetIds": ["cohort"]}
    )
    people = ids(records)
    assert sorted(people) == ["P1", "P2", "P4"]
    for person in records["response"]["resultSets"][0]["results"]:
        assert_valid(person, INDIVIDUAL_RECORD)


def test_individuals_filtered_by_sex_and_consent(client: TestClient) -> None:
    female = post(
        client, "/individuals", {"datasetIds": ["cohort"]}, filters=[{"id": "NCIT:C16576"}]
    )
    assert sorted(ids(female)) == ["P1", "P4"]  # P3 is female but not linked
    get = ok(client.get("/beacon/individuals", params={"filters": "NCIT:C20197"}))
    assert total(get) == 2  # P2, P5 in cohort; the reference dataset has no sex information


def test_variants_filtered_by_carrier_sex(client: TestClient) -> None:
    parameters = {
        "referenceName": "X",
        "start": [1999999],
        "alternateBases": "T",
        "datasetIds": ["cohort"],
    }
    (record,) = post(client, "/g_variants", parameters, filters=[{"id": "NCIT:C20197"}])[
        "response"
    ]["resultSets"][0]["results"]
    assert [c["individualId"] for c in record["caseLevelData"]] == ["P2"]


def test_individuals_who_do_not_count_are_not_found_on_any_route(client: TestClient) -> None:
    # P3 is female but not linked to a citizen: in the citizen dataset she never counts.
    for path in ("/individuals/P3", "/individuals/P3/g_variants"):
        response = client.post(
            f"/beacon{path}", json={"query": {"requestParameters": {"datasetIds": ["cohort"]}}}
        )
        assert response.status_code == 404, path
    # P1 is female: a male filter excludes her from her variants as well as from herself.
    for path in ("/individuals/P1", "/individuals/P1/g_variants"):
        response = client.post(
            f"/beacon{path}",
            json={
                "query": {
                    "requestParameters": {"datasetIds": ["cohort"]},
                    "filters": ["NCIT:C20197"],
                }
            },
        )
        assert response.status_code == 404, path


def test_a_variant_carried_only_by_people_who_do_not_count_looks_absent(client: TestClient) -> None:
    query = {"query": {"requestParameters": {"datasetIds": ["cohort"]}}}
    only_unlinked = client.post("/beacon/g_variants/GRCh38-1-1000-A-G/individuals", json=query)
    absent = client.post("/beacon/g_variants/GRCh38-1-1-A-T/individuals", json=query)
    assert only_unlinked.status_code == absent.status_code == 404
    assert only_unlinked.json()["error"]["errorMessage"].replace("1-1000-A-G", "") == absent.json()[
        "error"
    ]["errorMessage"].replace("1-1-A-T", "")


def test_datasets_name_no_counts_and_honour_granularity(client: TestClient) -> None:
    listed = ok(client.get("/beacon/datasets"))
    for dataset in listed["response"]["collections"]:
        assert "sampleCount" not in dataset.get("info", {})
        assert "variantCount" not in dataset.get("info", {})
    body = post(client, "/datasets", {}, granularity="boolean")
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert body["responseSummary"] == {"exists": True}


def test_individual_and_its_variants(client: TestClient) -> None:
    person = post(client, "/individuals/P4", {"datasetIds": ["cohort"]})
    assert ids(person) == ["P4"]
    variants = post(
        client,
        "/individuals/P4/g_variants",
        {"datasetIds": ["cohort"]},
        pagination={"skip": 0, "limit": 50},
    )
    assert ids(variants) == ["GRCh38-1-2000-C-G", "GRCh38-X-2000000-C-T"]


def test_dataset_scoped_routes(client: TestClient) -> None:
    assert ok(client.get("/beacon/datasets/cohort"))["response"]["collections"][0]["id"] == "cohort"
    body = ok(client.get("/beacon/datasets/reference/g_variants"))
    assert total(body) == 8
    body = ok(client.get("/beacon/datasets/cohort/individuals"))
    assert total(body) == 4


def test_small_counts_of_individuals_are_reported_imprecise(settings: Any) -> None:
    protected = settings.model_copy(update={"small_count_floor": 5})
    with serving(protected, *STANDARD_JOBS) as client:
        body = ok(
            client.get(
                "/beacon/g_variants/GRCh38-13-32316000-G-A/individuals",
                params={"datasetIds": "cohort"},
            )
        )
        assert body["responseSummary"] == {
            "exists": True,
            "numTotalResults": 5,
            "countAdjustedTo": [5],
            "countPrecision": "imprecise",
        }
        variants = ok(client.get("/beacon/g_variants", params={"geneId": "BRCA2"}))
        assert variants["responseSummary"]["numTotalResults"] == 2  # variants are not people


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/g_variants?start=abc", None),
        ("GET", "/g_variants?referenceName=1&start=10&end=5", None),
        ("GET", "/g_variants?referenceName=1&start=10&alternateBases=X", None),
        ("GET", "/g_variants?requestedGranularity=record", None),
        ("GET", "/g_variants?referenceName=1&start=1&alternateBases=A&assemblyId=hg17", None),
        (
            "GET",
            "/g_variants?referenceName=NC_000001.10&start=1&alternateBases=A&assemblyId=GRCh38",
            None,
        ),
        ("GET", "/g_variants?filters=HP:0000118", None),
        ("GET", "/g_variants?aminoacidChange=V600E&geneId=BRAF", None),
        ("GET", "/g_variants?skip=-1", None),
        ("GET", "/individuals?referenceName=1&start=1&alternateBases=A", None),
        ("GET", "/g_variants?skip=99999999999999999999999", None),
        ("GET", "/g_variants?referenceName=1&start=9223372036854775808&alternateBases=A", None),
        ("GET", "/g_variants?referenceName=1&start=1&end=5&variantMinLength=3000000000", None),
        ("GET", "/g_variants?datasetIds=%00", None),
        ("GET", "/g_variants?geneId=BR%00CA2", None),
        ("GET", "/g_variants?referenceName=chr%00&start=1&alternateBases=A", None),
        ("GET", "/g_variants/GRCh38-1%00", None),
        ("GET", "/individuals/P%004/g_variants", None),
        (
            "POST",
            "/datasets/cohort/g_variants",
            b'{"query": {"requestParameters": {"datasetIds": ["reference"]}}}',
        ),
        ("POST", "/g_variants", b"{not json"),
        ("POST", "/g_variants", b"[1, 2]"),
        ("POST", "/g_variants", b'{"query": {"requestedGranularity": "everything"}}'),
        (
            "POST",
            "/individuals",
            b'{"query": {"filters": [{"id": "NCIT:C16576", "operator": "~", "value": "x"}]}}',
        ),
    ],
)
def test_bad_queries_get_a_beacon_error_with_a_4xx(
    client: TestClient, method: str, path: str, payload: bytes | None
) -> None:
    response = client.request(method, f"/beacon{path}", content=payload)
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert_valid(body, ERROR)
    assert body["error"]["errorCode"] == response.status_code
    assert "Traceback" not in response.text


def test_unknown_ids_are_404_beacon_errors(client: TestClient) -> None:
    for path in (
        "/g_variants/GRCh38-1-1-A-T/individuals",
        "/individuals/nobody",
        "/datasets/nothing/g_variants",
    ):
        response = client.get(f"/beacon{path}")
        assert response.status_code == 404, path
        assert_valid(response.json(), ERROR)


def test_unknown_variant_by_id_is_an_empty_answer(client: TestClient) -> None:
    body = ok(client.get("/beacon/g_variants/GRCh38-1-1-A-T"))
    assert body["responseSummary"]["exists"] is False


def test_a_policy_change_by_another_process_applies_to_the_next_query(
    client: TestClient, settings: Any
) -> None:
    params = {"referenceName": "1", "start": "999", "alternateBases": "G"}
    assert total(ok(client.get("/beacon/g_variants", params=params))) == 1

    async def hide() -> None:
        database = open_database(settings.database_url)  # as `gateway datasets set` does
        try:
            await set_policy(
                database, "reference", PolicyChange(security_level=SecurityLevel.CONTROLLED)
            )
        finally:
            await database.dispose()

    asyncio.run(hide())
    assert ok(client.get("/beacon/g_variants", params=params))["responseSummary"]["exists"] is False


QUERY_ROUTES = [
    ("/g_variants", {"referenceName": "1", "start": [0], "end": [100_000]}),
    ("/g_variants/GRCh38-1-2000-C-G", {}),
    ("/g_variants/GRCh38-1-2000-C-G/individuals", {}),
    ("/individuals", {}),
    ("/individuals/P4", {}),
    ("/individuals/P4/g_variants", {}),
    ("/datasets/cohort/g_variants", {"geneId": "BRCA2"}),
    ("/datasets/cohort/individuals", {}),
]


@pytest.mark.parametrize("granularity", ["boolean", "count", "record"])
@pytest.mark.parametrize(("path", "parameters"), QUERY_ROUTES)
def test_every_query_route_answers_schema_valid_at_every_granularity(
    client: TestClient, path: str, parameters: dict[str, Any], granularity: str
) -> None:
    body = post(client, path, {**parameters, "datasetIds": ["cohort"]}, granularity=granularity)
    assert body["meta"]["returnedGranularity"] == granularity
    assert body["responseSummary"]["exists"] is True
    if granularity == "record":
        entity = "individual" if path.endswith(("individuals", "P4")) else "genomicVariation"
        schema = INDIVIDUAL_RECORD if entity == "individual" else VARIANT_RECORD
        for record in body["response"]["resultSets"][0]["results"]:
            assert_valid(record, schema)


@pytest.mark.parametrize("path", ["/datasets", "/datasets/cohort"])
def test_dataset_routes_are_schema_valid_collections(client: TestClient, path: str) -> None:
    for method in ("GET", "POST"):
        response = client.request(method, f"/beacon{path}")
        assert response.status_code == 200
        assert_valid(response.json(), COLLECTIONS)


def test_queries_too_broad_for_the_scan_limit_are_refused(settings: Any) -> None:
    bounded = settings.model_copy(update={"beacon_max_scan": 3})
    with serving(bounded, *STANDARD_JOBS) as client:
        broad = client.get("/beacon/g_variants")
        assert broad.status_code == 400
        assert "more than 3 stored variants" in broad.json()["error"]["errorMessage"]
        narrow = client.get("/beacon/g_variants", params={"geneId": "BRCA2"})
        assert narrow.status_code == 200
        # Open datasets without filters are counted by the database, whatever their size.
        counted = client.get("/beacon/g_variants", params={"datasetIds": "reference"})
        assert counted.status_code == 200
        assert counted.json()["responseSummary"]["numTotalResults"] == 8


def test_trimmed_indel_queries_find_vcf_padded_alleles(settings: Any, tmp_path: Any) -> None:
    indels = tmp_path / "indels.vcf"
    header = [line for line in SMALL_VCF.read_text().splitlines() if line.startswith("#")]
    indels.write_text(
        "\n".join(
            [
                *header,
                "chr1\t3000\t.\tAT\tA\t50\tPASS\t.\tGT\t0/1\t0/0\t0/0\t0/0\t0/0\t0/0",
                "chr1\t4000\t.\tC\tCGA\t50\tPASS\t.\tGT\t0/0\t0/1\t0/0\t0/0\t0/0\t0/0",
                "",
            ]
        )
    )

    def exists(reference: str | None, alternate: str, start: int) -> bool:
        parameters: dict[str, Any] = {
            "referenceName": "1",
            "start": [start],
            "alternateBases": alternate,
        }
        if reference is not None:
            parameters["referenceBases"] = reference
        body = client.post(
            "/beacon/g_variants",
            json={"query": {"requestParameters": parameters, "requestedGranularity": "boolean"}},
        )
        assert body.status_code == 200, body.text
        found: bool = body.json()["responseSummary"]["exists"]
        return found

    with serving(settings, VcfIngest(indels, "indels")) as client:
        assert exists("AT", "A", 2999)  # VCF form
        assert exists("T", "", 3000)  # Beacon's trimmed deletion
        assert exists("T", "-", 3000)
        assert exists(None, "", 3000)  # a deletion of anything there
        assert not exists("G", "", 3000)
        assert exists("", "GA", 4000)  # trimmed insertion
        assert not exists("", "GG", 4000)


def test_oversized_bodies_are_refused(client: TestClient) -> None:
    response = client.post("/beacon/g_variants", content=b"{" + b" " * (2 << 20) + b"}")
    assert response.status_code == 413
    assert_valid(response.json(), ERROR)
