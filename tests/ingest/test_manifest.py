"""Sample manifests: parsing and every refusal naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.domain.samples import Identifier, SampleLink, Sex
from gateway.errors import IngestError
from gateway.ingest.manifest import read_manifest

HEADER = "sample_id\tindividual_id\tsex\tidentifier\n"


def manifest(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "samples.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_links_in_file_order(tmp_path: Path) -> None:
    path = manifest(
        tmp_path,
        HEADER
        + "S1\tP1\tfemale\turn:oid:1.2.276.0.76.4.8|A123456789\n"
        + "S2\tP2\tmale\t\n"
        + "\n"
        + "S3\tP1\tUnknown\t\n"
        + "S4\tP4\tother\thttp://ns.electronichealth.net.au/id/medicare-number|a|b\n",
    )
    assert read_manifest(path) == [
        SampleLink("S1", "P1", Sex.FEMALE, Identifier("urn:oid:1.2.276.0.76.4.8", "A123456789")),
        SampleLink("S2", "P2", Sex.MALE, None),
        SampleLink("S3", "P1", Sex.UNKNOWN, None),
        SampleLink(
            "S4",
            "P4",
            Sex.OTHER,
            Identifier("http://ns.electronichealth.net.au/id/medicare-number", "a|b"),
        ),
    ]


def test_header_only_is_empty(tmp_path: Path) -> None:
    assert read_manifest(manifest(tmp_path, HEADER)) == []


def test_byte_order_mark_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "samples.tsv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "S1\tP1\tmale\t\n").replace("\n", "\r\n").encode())
    assert read_manifest(path) == [SampleLink("S1", "P1", Sex.MALE, None)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the header must be sample_id<TAB>individual_id<TAB>sex<TAB>identifier"),
        ("sample\tindividual\tsex\tidentifier\n", "line 1: the header must be"),
        ("sample_id,individual_id,sex,identifier\n", "line 1: the header must be"),
        (HEADER + "S1\tP1\tfemale\n", "line 2: 3 columns, expected 4"),
        (HEADER + "S1\tP1\tmale\t\n" + "S2\tP2\tmale\t\textra\n", "line 3: 5 columns, expected 4"),
        (HEADER + "S1\tP1\tf\t\n", "line 2: sex 'f' is not one of female, male, other, unknown"),
        (HEADER + "S1\tP1\tfemale\tA123\n", "line 2: identifier is not system|value"),
        (HEADER + "S1\tP1\tfemale\t|A123\n", "line 2: identifier is not system|value"),
        (
            HEADER + "S1\tP1\tmale\t\n" + "S1\tP2\tmale\t\n",
            "line 3: sample_id 'S1' already on line 2",
        ),
        (HEADER + "\tP1\tmale\t\n", "line 2: sample_id and individual_id must not be empty"),
        (HEADER + "S1\t \tmale\t\n", "line 2: sample_id and individual_id must not be empty"),
    ],
)
def test_bad_manifest_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = manifest(tmp_path, text)
    with pytest.raises(IngestError) as raised:
        read_manifest(path)
    assert str(raised.value).startswith(f"{path} ")
    assert message in str(raised.value)
    assert "A123" not in str(raised.value)  # a citizen's identifier is never echoed


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read sample manifest"):
        read_manifest(tmp_path / "absent.tsv")
