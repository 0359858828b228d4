"""kill -9 in the middle of a write, then start again: an ingest or a record push is all or
nothing, the same command completes on retry, and the store holds exactly what was
acknowledged. The audit chain holds after every kill."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.settings import Settings
from tests.api.conftest import SMALL_VCF
from tests.api.test_concurrent_records import SAMPLE
from tests.cli.test_ingest_command import listing
from tests.faults.support import (
    assert_audit_holds,
    register_node,
    run_gateway,
    stored_records,
)
from tests.support.server import served_gateway

REPO = Path(__file__).resolve().parents[2]
LARGE_REGION = {"referenceName": "2", "start": "999", "end": "500000"}
RECORDS = 12_000
SAMPLES = 100


@pytest.fixture(scope="module")
def large_vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12,000 records x 100 samples on chr2: a few seconds of ingest, long enough to kill."""
    path = tmp_path_factory.mktemp("large") / "large.vcf"
    rng = random.Random(7)
    names = "\t".join(f"L{i:03d}" for i in range(SAMPLES))
    genotypes = ["0|0"] * (SAMPLES - 10) + ["0|1", "1|0", "1|1", "0|1", "0|1"] * 2
    with path.open("w") as out:
        out.write(
            "##fileformat=VCFv4.3\n##contig=<ID=chr2,length=242193529>\n"
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
            f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{names}\n"
        )
        for i in range(RECORDS):
            rng.shuffle(genotypes)
            calls = "\t".join(genotypes)
            out.write(f"chr2\t{1000 + i * 10}\t.\tA\tG\t.\tPASS\t.\tGT\t{calls}\n")
    return path


def variants_in_beacon(settings: Settings) -> int:
    """What an anonymous Beacon caller counts on chr2 (where only the large VCF has calls)."""
    with TestClient(create_app(settings)) as client:
        answer = client.get("/beacon/g_variants", params=LARGE_REGION)
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["responseSummary"]["numTotalResults"]
    return total


def test_a_killed_ingest_shows_nothing_half_written_and_completes_on_retry(
    database_url: str, settings: Settings, large_vcf: Path
) -> None:
    assert (
        run_gateway(database_url, "ingest", "vcf", str(SMALL_VCF), "--dataset", "d").returncode == 0
    )
    before = listing(database_url)
    ingest = [sys.executable, "-m", "gateway", "ingest", "vcf", str(large_vcf), "--dataset", "d"]
    env = {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_LOG_LEVEL": "WARNING"}
    with subprocess.Popen(
        [*ingest, "--assembly", "GRCh38"], env=env, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        assert "%" in process.stderr.readline()  # rows are being written
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert listing(database_url) == before
    assert variants_in_beacon(settings) == 0
    assert_audit_holds(database_url)

    again = run_gateway(database_url, *ingest[3:], "--assembly", "GRCh38")
    assert again.returncode == 0, again.stderr
    small = 8, 6  # small.vcf's variants and samples
    assert listing(database_url)["d"][-2:] == [str(RECORDS + small[0]), str(SAMPLES + small[1])]
    assert variants_in_beacon(settings) == RECORDS
    assert_audit_holds(database_url)


def submissions(count: int) -> list[bytes]:
    """The sample registry export under ``count`` submission ids: ``count`` distinct records."""
    text = SAMPLE.read_bytes().decode("utf-8-sig")
    return [text.replace("BCR-2024-000173", f"BCR-2024-8{n:05d}").encode() for n in range(count)]


def token(environment: dict[str, str], base: str, key_folder: Path) -> str:
    issued = run_gateway(
        environment["GATEWAY_DATABASE_URL"],
        "token",
        "--client",
        "node",
        "--key",
        str(key_folder / "node.key"),
        "--url",
        f"{base}/oauth/token",
        **environment,
    )
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def push(base: str, bearer: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{base}/national/records",
        params={"profile": "be-cancer-registry-csv"},
        content=body,
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=30,
    )


def test_a_server_killed_during_record_pushes_keeps_exactly_what_it_acknowledged(
    database_url: str, tmp_path: Path
) -> None:
    environment = {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_PKI_DIR": str(tmp_path / "certs"),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    scopes = "system/Patient.rs system/Bundle.c"
    keys = tmp_path / "clients"
    register_node(environment, keys, scopes)
    bodies = submissions(16)
    acknowledged: list[int] = []
    with served_gateway(environment) as (base, process):
        bearer = token(environment, base, keys)

        def keep_pushing() -> None:
            for number, body in enumerate(bodies):
                try:
                    answer = push(base, bearer, body)
                except httpx.TransportError:
                    return  # the server died under this push: not acknowledged
                assert answer.status_code == 201, answer.text
                acknowledged.append(number)

        pusher = threading.Thread(target=keep_pushing)
        pusher.start()
        while len(acknowledged) < 3 and pusher.is_alive():
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)  # the next push is on its way or being written
        pusher.join(timeout=60)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert 3 <= len(acknowledged) < len(bodies)
    assert acknowledged == list(range(len(acknowledged)))
    # The push in flight is either wholly stored or absent; none of the others is there.
    assert stored_records(database_url) in (len(acknowledged), len(acknowledged) + 1)
    assert_audit_holds(database_url)

    with served_gateway(environment) as (base, _):
        bearer = token(environment, base, keys)
        for body in bodies:  # the client retries everything, acknowledged or not: idempotent
            answer = push(base, bearer, body)
            assert answer.status_code in (200, 201), answer.text
    assert stored_records(database_url) == len(bodies)
    assert_audit_holds(database_url)
