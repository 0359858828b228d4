"""``gateway profiles list``, ``translate record`` and ``ingest record`` as real processes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.cli.test_ingest_command import command, one_clear_line
from tests.support.fhir_validation import document_errors

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "ingest" / "records" / "data" / "registry_csv" / "breast-cancer.csv"
PROFILE = "be-cancer-registry-csv"


def gateway(
    database_url: str, *args: str | Path, profiles: Path = REPO / "profiles"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PROFILES_DIR": str(profiles),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(
        command(*args), env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_profiles_list_prints_name_country_format(database_url):
    result = gateway(database_url, "profiles", "list")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert all(len(row) == 3 for row in rows)
    assert [PROFILE, "BE", "registry-csv"] in rows
    assert [row[0] for row in rows] == sorted(row[0] for row in rows)


def test_translate_record_prints_a_valid_document_and_warnings_on_stderr(database_url):
    result = gateway(database_url, "translate", "record", SAMPLE, "--profile", PROFILE)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["resourceType"] == "Bundle"
    assert document["type"] == "document"
    assert document_errors(document) == []
    assert all(line.startswith("warning: ") for line in result.stderr.splitlines())


def test_translate_record_writes_the_output_file(database_url, tmp_path):
    out = tmp_path / "summary.json"
    result = gateway(database_url, "translate", "record", SAMPLE, "--profile", PROFILE, "-o", out)
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["type"] == "document"
    assert result.stdout == ""


def test_a_bad_record_is_one_line_and_leaves_no_output_file(database_url, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_bytes(SAMPLE.read_bytes().replace(b"12/04/1968", b"31/02/1968"))
    out = tmp_path / "summary.json"
    result = gateway(database_url, "translate", "record", broken, "--profile", PROFILE, "-o", out)
    line = one_clear_line(result)
    assert "line" in line
    assert "1968" not in line
    assert list(tmp_path.iterdir()) == [broken]


def test_ingest_record_stores_once(database_url):
    first = gateway(database_url, "ingest", "record", SAMPLE, "--profile", PROFILE)
    assert first.returncode == 0, first.stderr
    outcome, patient = first.stdout.strip().split("\t")
    assert outcome == "created"
    assert patient.startswith("Patient/")
    again = gateway(database_url, "ingest", "record", SAMPLE, "--profile", PROFILE)
    assert again.stdout.strip() == f"unchanged\t{patient}"


def test_usage_and_input_errors_are_one_line(database_url, tmp_path):
    missing = one_clear_line(
        gateway(database_url, "translate", "record", tmp_path / "nope.xml", "--profile", PROFILE)
    )
    assert "nope.xml" in missing
    unknown = one_clear_line(
        gateway(database_url, "translate", "record", SAMPLE, "--profile", "xx-none")
    )
    assert "unknown profile 'xx-none'" in unknown
    usage = gateway(database_url, "translate", "record", SAMPLE)
    assert usage.returncode == 2
    assert "--profile" in usage.stderr


def test_a_broken_profiles_folder_is_named_in_one_line(database_url, tmp_path):
    folder = tmp_path / "profiles"
    (folder / "xx").mkdir(parents=True)
    (folder / "xx" / "broken.yaml").write_text("name: xx-broken\nformat: fax\ndescription: d\n")
    line = one_clear_line(gateway(database_url, "profiles", "list", profiles=folder))
    assert "profiles/xx/broken.yaml" in line
    assert "format" in line


def test_a_mapping_only_the_reader_can_judge_is_refused_at_start(database_url, tmp_path):
    folder = tmp_path / "profiles"
    shutil.copytree(REPO / "profiles", folder)
    profile = folder / "it" / "it-ehdsi-cda.yaml"
    text = profile.read_text()
    # Two record lists claiming one section: valid for the schema, not for the reader.
    profile.write_text(text.replace('      codes: ["48765-2"]', '      codes: ["10160-0"]', 1))
    line = one_clear_line(gateway(database_url, "profiles", "list", profiles=folder))
    assert "it-ehdsi-cda.yaml: mapping:" in line
    assert "10160-0" in line


def test_profiles_systems_prints_each_identifier_system_with_its_country(database_url):
    result = gateway(database_url, "profiles", "systems")
    assert result.returncode == 0, result.stderr
    table = dict(line.split("\t") for line in result.stdout.splitlines())
    assert table["http://hl7.it/sid/codiceFiscale"] == "IT"
    assert table["urn:oid:2.16.840.1.113883.2.9.4.3.2"] == "IT"
    assert table["urn:oid:1.2.250.1.213.1.4.8"] == "FR"
    assert table["http://fhir.de/sid/gkv/kvid-10"] == "DE"
    assert table["http://fhir.nl/fhir/NamingSystem/bsn"] == "NL"
    assert table["https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin"] == "BE"
    assert list(table) == sorted(table)
