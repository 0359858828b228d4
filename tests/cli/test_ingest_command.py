"""``gateway ingest vcf`` and ``gateway datasets`` as an operator runs them: real processes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pysam
import pytest

from tests.api.conftest import SMALL_MANIFEST, SMALL_VCF


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "gateway", *map(str, args)]


def gateway(database_url: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(*args),
        env=environment(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def environment(database_url: str) -> dict[str, str]:
    return {**os.environ, "GATEWAY_DATABASE_URL": database_url, "GATEWAY_LOG_LEVEL": "WARNING"}


def listing(database_url: str) -> dict[str, list[str]]:
    result = gateway(database_url, "datasets", "list")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()[1:]]
    return {row[0]: row[1:] for row in rows}


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("gateway: ")
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["demo"],
        ["ingest"],
        ["ingest", "vcf"],
        ["datasets"],
        ["datasets", "list"],
        ["datasets", "set"],
    ],
)
def test_every_command_has_help(database_url: str, command: list[str]) -> None:
    result = gateway(database_url, *command, "--help")
    assert result.returncode == 0
    assert "usage: gateway" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "vcf", "x.vcf"],
        ["ingest", "vcf", "x.vcf", "--dataset", "d", "--security", "X"],
        ["ingest", "vcf", "x.vcf", "--dataset", "d", "--duo", "GRU"],
        ["nothing"],
    ],
)
def test_wrong_usage_exits_2(database_url: str, args: list[str]) -> None:
    assert gateway(database_url, *args).returncode == 2


def test_ingest_reports_and_lists(database_url: str) -> None:
    result = gateway(
        database_url,
        "ingest",
        "vcf",
        SMALL_VCF,
        "--dataset",
        "cohort",
        "--samples",
        SMALL_MANIFEST,
        "--duo",
        "DUO:0000042",
    )
    assert result.returncode == 0, result.stderr
    assert "stored 8 variants from 6 samples" in result.stdout
    assert listing(database_url)["cohort"] == [
        "GRCh38",
        "PUBLIC",
        "count",
        "citizen",
        "DUO:0000042",
        "8",
        "6",
    ]


def test_same_file_again_changes_nothing(database_url: str, tmp_path: Path) -> None:
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    copy = shutil.copy(SMALL_VCF, tmp_path / "renamed.vcf")
    again = gateway(database_url, "ingest", "vcf", copy, "--dataset", "d")
    assert again.returncode == 0
    assert "already ingested" in again.stdout
    assert listing(database_url)["d"][-2:] == ["8", "6"]


def test_another_file_appends_and_replace_replaces(database_url: str, tmp_path: Path) -> None:
    other = tmp_path / "other.vcf"
    other.write_text(
        SMALL_VCF.read_text().replace("\tS1\tS2\tS3\tS4\tS5\tS6", "\tT1\tT2\tT3\tT4\tT5\tT6")
    )
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    assert gateway(database_url, "ingest", "vcf", other, "--dataset", "d").returncode == 0
    # Same alleles, new samples: still 8 distinct variants, now carried by 12 samples.
    assert listing(database_url)["d"][-2:] == ["8", "12"]
    result = gateway(database_url, "ingest", "vcf", other, "--dataset", "d", "--replace")
    assert result.returncode == 0, result.stderr
    assert listing(database_url)["d"][-2:] == ["8", "6"]


def test_missing_file(database_url: str, tmp_path: Path) -> None:
    line = one_clear_line(
        gateway(database_url, "ingest", "vcf", tmp_path / "nope.vcf.gz", "--dataset", "d")
    )
    assert "nope.vcf.gz" in line
    assert listing(database_url) == {}


def test_truncated_gzip_stores_nothing(
    database_url: str, tmp_path: Path, thousand_genomes_vcf: Path
) -> None:
    data = thousand_genomes_vcf.read_bytes()
    broken = tmp_path / "truncated.vcf.gz"
    broken.write_bytes(data[: len(data) // 2])
    line = one_clear_line(gateway(database_url, "ingest", "vcf", broken, "--dataset", "d"))
    assert "truncated.vcf.gz" in line
    assert listing(database_url) == {}


def test_bad_record_late_in_the_file_leaves_the_dataset_as_it_was(
    database_url: str, tmp_path: Path
) -> None:
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    before = listing(database_url)
    bad = tmp_path / "bad.vcf"
    text = SMALL_VCF.read_text().replace("\tS1\tS2", "\tU1\tU2")
    bad.write_text(text + "chrX\t3000000\t.\tC\tZ\t50\tPASS\t.\tGT\t0/1\t0/0\t0/0\t0/0\t0/0\t0/0\n")
    line = one_clear_line(gateway(database_url, "ingest", "vcf", bad, "--dataset", "d"))
    assert "line 24" in line
    assert listing(database_url) == before


def test_manifest_must_cover_every_sample(database_url: str, tmp_path: Path) -> None:
    manifest = tmp_path / "m.tsv"
    manifest.write_text("".join(SMALL_MANIFEST.read_text().splitlines(keepends=True)[:-1]))
    line = one_clear_line(
        gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d", "--samples", manifest)
    )
    assert "'S6'" in line
    assert listing(database_url) == {}


def test_datasets_set_changes_policy(database_url: str) -> None:
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    result = gateway(
        database_url,
        "datasets",
        "set",
        "d",
        "--security",
        "REGISTERED",
        "--max-granularity",
        "boolean",
        "--duo",
        "DUO:0000042,DUO:0000006",
    )
    assert result.returncode == 0, result.stderr
    assert listing(database_url)["d"][:5] == [
        "GRCh38",
        "REGISTERED",
        "boolean",
        "open",
        "DUO:0000042,DUO:0000006",
    ]
    one_clear_line(gateway(database_url, "datasets", "set", "nothing", "--security", "PUBLIC"))


@pytest.fixture(scope="module")
def large_vcf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40,000 records x 200 samples: long enough to kill an ingest half way."""
    folder = tmp_path_factory.mktemp("large")
    text = folder / "large.vcf"
    rng = random.Random(7)
    samples = [f"L{i:03d}" for i in range(200)]
    genotypes = ["0|0"] * 180 + ["0|1", "1|0", "1|1"] * 6 + ["0|1", "1|1"]
    with text.open("w") as out:
        out.write(
            "##fileformat=VCFv4.3\n##contig=<ID=chr2,length=242193529>\n"
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        )
        out.write(
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n"
        )
        for i in range(40_000):
            rng.shuffle(genotypes)
            out.write(
                f"chr2\t{1000 + i * 10}\t.\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(genotypes) + "\n"
            )
    compressed = folder / "large.vcf.gz"
    pysam.tabix_compress(str(text), str(compressed))
    return compressed


def test_a_killed_ingest_leaves_the_dataset_as_it_was(database_url: str, large_vcf: Path) -> None:
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    before = listing(database_url)
    with subprocess.Popen(
        command("ingest", "vcf", large_vcf, "--dataset", "d", "--assembly", "GRCh38"),
        env=environment(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        progress = process.stderr.readline()  # the first progress line: rows are being written
        assert "%" in progress, progress
        time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert listing(database_url) == before
    # The store still works and the file can be ingested afterwards.
    result = gateway(
        database_url, "ingest", "vcf", large_vcf, "--dataset", "d", "--assembly", "GRCh38"
    )
    assert result.returncode == 0, result.stderr
    assert listing(database_url)["d"][-2:] == ["40008", "206"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://db/x", "GATEWAY_DATABASE_URL uses 'mysql'"),
        ("postgresql+asyncpg://postgres@127.0.0.1:1/none", "database unavailable"),
        ("sqlite+aiosqlite:////proc/no-such-folder/x.db", "cannot create the database folder"),
    ],
)
@pytest.mark.parametrize("command", [["datasets", "list"], ["serve", "--port", "18999"]])
def test_an_unusable_database_is_one_line(url: str, message: str, command: list[str]) -> None:
    assert message in one_clear_line(gateway(url, *command))


def test_bad_settings_are_one_line(database_url: str) -> None:
    result = subprocess.run(
        command("datasets", "list"),
        env={**environment(database_url), "GATEWAY_PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "GATEWAY_PORT" in one_clear_line(result)


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise(
    database_url: str, large_vcf: Path
) -> None:
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    with subprocess.Popen(
        command("ingest", "vcf", large_vcf, "--dataset", "tty", "--assembly", "GRCh38"),
        env=environment(database_url),
        stdout=subprocess.DEVNULL,
        stderr=terminal,
    ) as process:
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closes when the process ends
                break
            if not chunk:
                break
            seen += chunk
        process.wait(timeout=120)
    os.close(controller)
    assert process.returncode == 0
    assert b"ingest large.vcf.gz:" in seen
    assert b"\r" in seen  # redrawn in place
    assert b"%|" in seen  # tqdm's bar
    plain = gateway(
        database_url, "ingest", "vcf", large_vcf, "--dataset", "plain", "--assembly", "GRCh38"
    )
    assert plain.returncode == 0
    lines = plain.stderr.splitlines()
    assert lines
    assert all(line.startswith("ingest large.vcf.gz: ") and line.endswith("%") for line in lines)


def test_replace_with_another_assembly_adopts_it(database_url: str, tmp_path: Path) -> None:
    grch37 = tmp_path / "grch37.vcf"
    grch37.write_text(SMALL_VCF.read_text().replace("GRCh38", "GRCh37"))
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    refused = one_clear_line(gateway(database_url, "ingest", "vcf", grch37, "--dataset", "d"))
    assert "holds GRCh38 variants" in refused
    result = gateway(database_url, "ingest", "vcf", grch37, "--dataset", "d", "--replace")
    assert result.returncode == 0, result.stderr
    assert listing(database_url)["d"][0] == "GRCh37"


def test_appending_without_a_manifest_keeps_who_the_samples_are(
    database_url: str, settings: Any, tmp_path: Path
) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    assert (
        gateway(
            database_url,
            "ingest",
            "vcf",
            SMALL_VCF,
            "--dataset",
            "c",
            "--samples",
            SMALL_MANIFEST,
            "--max-granularity",
            "record",
        ).returncode
        == 0
    )
    more = tmp_path / "more.vcf"
    header = [line for line in SMALL_VCF.read_text().splitlines() if line.startswith("#")]
    more.write_text(
        "\n".join(
            [*header, "chr2\t500\t.\tG\tT\t50\tPASS\t.\tGT\t0/1\t0/1\t0/0\t0/1\t0/0\t0/0", ""]
        )
    )
    assert gateway(database_url, "ingest", "vcf", more, "--dataset", "c").returncode == 0
    with TestClient(create_app(settings)) as client:
        women = client.get("/beacon/individuals", params={"filters": "NCIT:C16576"}).json()
        carriers = client.post(
            "/beacon/g_variants/GRCh38-2-500-G-T/individuals",
            json={"query": {"requestedGranularity": "record"}},
        ).json()
    assert women["responseSummary"]["numTotalResults"] == 2  # P1 and P4, still linked
    people = carriers["response"]["resultSets"][0]["results"]
    assert sorted(p["id"] for p in people) == ["P1", "P2", "P4"]


def test_conflicting_manifest_rows_are_refused(database_url: str, tmp_path: Path) -> None:
    manifest = tmp_path / "m.tsv"
    manifest.write_text(SMALL_MANIFEST.read_text().replace("S2\tP2", "S2\tP1"))
    line = one_clear_line(
        gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d", "--samples", manifest)
    )
    assert "'S1' and 'S2' belong to individual 'P1'" in line
    assert "A123456780" not in line
    assert listing(database_url) == {}


def test_citizens_cannot_silently_join_an_open_dataset(database_url: str) -> None:
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    copy_args = (
        "ingest",
        "vcf",
        SMALL_VCF,
        "--dataset",
        "d",
        "--samples",
        SMALL_MANIFEST,
        "--replace",
    )
    assert "consent basis 'open'" in one_clear_line(gateway(database_url, *copy_args))
    assert gateway(database_url, *copy_args, "--consent-basis", "citizen").returncode == 0
    assert listing(database_url)["d"][3] == "citizen"


def test_same_file_with_new_policy_says_so(database_url: str) -> None:
    assert gateway(database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d").returncode == 0
    again = gateway(
        database_url, "ingest", "vcf", SMALL_VCF, "--dataset", "d", "--security", "CONTROLLED"
    )
    assert "data unchanged, policy updated" in again.stdout
    assert listing(database_url)["d"][1] == "CONTROLLED"


def test_datasets_set_without_changes_is_a_usage_error(database_url: str) -> None:
    result = gateway(database_url, "datasets", "set", "d")
    assert result.returncode == 2
    assert "nothing to change" in result.stderr
    assert result.stdout == ""


def test_in_memory_sqlite_is_refused() -> None:
    assert "in-memory SQLite" in one_clear_line(gateway("sqlite+aiosqlite://", "datasets", "list"))


def test_concurrent_ingests_into_one_dataset_queue_up(database_url: str, tmp_path: Path) -> None:
    files = []
    for batch in range(3):
        path = tmp_path / f"batch{batch}.vcf"
        names = "\t".join(f"B{batch}_{i}" for i in range(6))
        path.write_text(SMALL_VCF.read_text().replace("S1\tS2\tS3\tS4\tS5\tS6", names))
        files.append(path)
    processes = [
        subprocess.Popen(
            command("ingest", "vcf", path, "--dataset", "shared"),
            env=environment(database_url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    # Wait for every process before asserting, so that none is left running or unclosed.
    outcomes = [(process.communicate(timeout=120)[1], process.wait()) for process in processes]
    assert [code for _, code in outcomes] == [0, 0, 0], [err for err, _ in outcomes]
    assert listing(database_url)["shared"][-2:] == ["8", "18"]
