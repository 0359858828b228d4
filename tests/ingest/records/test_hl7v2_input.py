"""The HL7 v2 reader on the input's shape: bad messages, separators, character sets, escapes,
and a profile mapping that changes what is read.

The ``data/hl7v2/bad/`` corpus and the crafted messages below must each end in a RecordError
or RecordRejected with the right location and a message that quotes no patient data; the
separator, character set and envelope variants of a good message must read to the same record.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.domain.records import PatientRecord
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading, check_mapping
from gateway.ingest.records.hl7v2 import read_hl7v2
from gateway.profiles.loader import ProfileError, load_profiles
from gateway.profiles.model import Profile
from tests.support.records import PROFILES, shipped_profiles

DATA = Path(__file__).parent / "data" / "hl7v2"
BAD = DATA / "bad"

# Patient data in the bad corpus and the crafted messages: never in an error message.
PATIENT_DATA = (
    "DUPONT", "Zoé", "MARTIN", "Léa", "185077512345608", "19850714", "1985-07-14", "19900101",
    "20230230", "13,8", "0.95", "environ",
)  # fmt: skip

# file -> (error, location)
CORPUS: dict[str, tuple[type[RecordError], str]] = {
    "empty.hl7": (RecordError, "line 1"),
    "blank-lines-only.hl7": (RecordError, "line 1"),
    "not-starting-with-msh.hl7": (RecordError, "line 1"),
    "broken-encoding-characters.hl7": (RecordError, "MSH-2"),
    "repeated-encoding-character.hl7": (RecordError, "MSH-2"),
    "no-pid.hl7": (RecordRejected, "PID"),
    "pid-without-name.hl7": (RecordRejected, "PID-5"),
    "impossible-birth-date.hl7": (RecordRejected, "PID-7"),
    "impossible-message-date.hl7": (RecordRejected, "MSH-7"),
    "unsupported-message-type.hl7": (RecordError, "MSH-9"),
    "not-version-2.hl7": (RecordError, "MSH-12"),
    "unknown-character-set.hl7": (RecordError, "MSH-18"),
    "invalid-utf-8.hl7": (RecordError, "MSH-18"),
    "not-a-segment.hl7": (RecordError, "line 3"),
    "oru-without-obr.hl7": (RecordError, "OBR"),
    "nm-value-not-a-number.hl7": (RecordRejected, "OBX(2)-5"),
    "nm-value-repeats.hl7": (RecordRejected, "OBX-5"),
    "sn-value-malformed.hl7": (RecordRejected, "OBX-5"),
    "sn-comparator-without-number.hl7": (RecordRejected, "OBX(2)-5"),
    "date-value-impossible.hl7": (RecordRejected, "OBX-5"),
    "procedure-impossible-date.hl7": (RecordRejected, "PR1-5"),
    "order-without-number.hl7": (RecordRejected, "OBR-3"),
    "two-patients-in-one-message.hl7": (RecordError, "PID(2)"),
    "batch-of-two-patients.hl7": (RecordError, "line 4"),
}

MSH = (
    "MSH|^~\\&|GAM|CH-EXEMPLE^2.999.250.1^ISO|PASSERELLE|NCP-FR|20240312101500||{kind}|C-1|P|"
    "2.5|||||FRA|{charset}|FR"
)
PID = (
    "PID|1||185077512345608^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS||"
    "DUPONT^Zoé^Zoé^^^^L||19850714|F"
)
OBR = "OBR|1|CMD-1^CH-EXEMPLE|LAB-1^LABO|BILAN^Bilan^L|||20240312073000"


def message(
    *segments: str,
    kind: str = "ADT^A01^ADT_A01",
    charset: str = "UNICODE UTF-8",
    pid: str = PID,
    encoding: str = "utf-8",
) -> bytes:
    lines = [MSH.format(kind=kind, charset=charset), pid, *segments]
    return ("\r".join(lines) + "\r").encode(encoding)


def results(*segments: str) -> bytes:
    return message(OBR, *segments, kind="ORU^R01^ORU_R01")


def profile(name: str = "fr-hl7v2-pam") -> Profile:
    found = shipped_profiles().get(name)
    assert found is not None
    return found


def read(data: bytes, name: str = "fr-hl7v2-pam") -> Reading:
    return read_hl7v2(data, profile(name))


def with_mapping(base: Profile, path: str, value: Any) -> Profile:
    """``base`` with one mapping key (``results.list``) set, or removed when ``value`` is None."""
    mapping: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(base.mapping)))
    *parents, key = path.split(".")
    node = mapping
    for parent in parents:
        node = node[parent]
    if value is None:
        del node[key]
    else:
        node[key] = value
    return replace(base, mapping=mapping)


def assert_quotes_no_patient_data(error: RecordError) -> None:
    text = str(error)
    leaked = [value for value in PATIENT_DATA if value in text]
    assert leaked == [], text


# --- refused input ------------------------------------------------------------------------------


def test_the_bad_corpus_is_all_listed() -> None:
    assert sorted(path.name for path in BAD.iterdir()) == sorted(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_bad_messages_are_refused_where_they_break(name: str) -> None:
    error, location = CORPUS[name]
    with pytest.raises(error) as caught:
        read((BAD / name).read_bytes())
    assert type(caught.value) is error
    assert caught.value.location == location
    assert_quotes_no_patient_data(caught.value)


CRAFTED = {
    "no message type": (message(kind=""), RecordError, "MSH-9"),
    "no message date": (
        message().replace(b"|20240312101500|", b"||", 1),
        RecordRejected,
        "MSH-7",
    ),
    "a birth date that is not a timestamp": (
        message(pid=PID.replace("19850714", "1985-07-14")),
        RecordRejected,
        "PID-7",
    ),
    "a version the profile does not read": (
        message().replace(b"|P|2.5|", b"|P|2.6|", 1),
        RecordError,
        "MSH-12",
    ),
    "an impossible result time": (
        results("OBX|1|NM|GLY^Glycémie^L||0.95||||||F|||20230230"),
        RecordRejected,
        "OBX-14",
    ),
    "a field separator that is a letter": (
        b"MSHX^~\\&XGAM\r" + PID.encode(),
        RecordError,
        "MSH-1",
    ),
    "a NUL in a name": (message(pid=PID.replace("DUPONT", "DUP\x00ONT")), RecordError, "line 2"),
    "an escape character in a value": (
        message(pid=PID.replace("DUPONT", "\x1b[2JDUPONT")),
        RecordError,
        "line 2",
    ),
    "a coded value with a broken code": (
        results("OBX|1|CWE|ABO^Groupe^L||A  B^Groupe A^L||||||F"),
        RecordRejected,
        "OBX-5",
    ),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_messages_are_refused_where_they_break(case: str) -> None:
    data, error, location = CRAFTED[case]
    with pytest.raises(error) as caught:
        read(data)
    assert caught.value.location == location
    assert_quotes_no_patient_data(caught.value)


# --- separators, envelopes, character sets ------------------------------------------------------


def _with_breaks(data: bytes, newline: bytes) -> bytes:
    return data.replace(b"\r\n", b"\r").replace(b"\n", b"\r").replace(b"\r", newline)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
@pytest.mark.parametrize("newline", [b"\r", b"\n", b"\r\n"], ids=["cr", "lf", "crlf"])
def test_segments_split_on_cr_lf_and_crlf_with_or_without_a_bom(newline: bytes, bom: bytes) -> None:
    original = (DATA / "fr-oru-r01.hl7").read_bytes()
    variant = read(bom + _with_breaks(original, newline))
    assert variant == read(original)
    assert len(variant.record.results) == 7


def test_mllp_framing_and_a_batch_of_one_message_are_unwrapped() -> None:
    original = (DATA / "fr-adt-a04.hl7").read_bytes()
    framed = b"\x0b" + original + b"\x1c\r"
    batch = b"FHS|^~\\&|GAM\rBHS|^~\\&|GAM\r" + _with_breaks(original, b"\r") + b"BTS|1\rFTS|1\r"
    assert read(framed) == read(original) == read(batch)


def test_the_character_set_is_the_one_msh18_declares() -> None:
    latin = (DATA / "fr-adt-a01.hl7").read_bytes()
    as_utf8 = latin.decode("latin-1").replace("|8859/1|", "|UNICODE UTF-8|").encode("utf-8")
    assert read(as_utf8).record == read(latin).record
    assert read(latin).record.patient.names[0].family == "LÉGER"


def test_an_empty_msh18_means_the_profiles_character_set() -> None:
    latin = (DATA / "fr-adt-a01.hl7").read_bytes().replace(b"|8859/1|", b"||")
    assert read(latin).record.patient.names[0].family == "LÉGER"  # France: 8859/1
    with pytest.raises(RecordError) as caught:
        read(latin, "generic-hl7v2")  # generic: UTF-8, which these bytes are not
    assert caught.value.location == "MSH-18"
    assert "default character set" in caught.value.detail


def test_latin_9_and_utf_16_messages_read() -> None:
    latin9 = message(pid=PID.replace("DUPONT", "CŒUR"), charset="8859/15", encoding="iso8859-15")
    assert read(latin9).record.patient.names[0].family == "CŒUR"
    utf16 = message(pid=PID.replace("DUPONT", "CŒUR"), encoding="utf-16")  # with its BOM
    assert read(utf16).record.patient.names[0].family == "CŒUR"


def test_escapes_are_resolved_and_explicit_nulls_are_empty() -> None:
    pid = PID.replace("DUPONT", "DUPONT\\T\\FILS\\X00\\").replace("|F", '|""')
    data = message(
        OBR,
        "OBX|1|ST|COM^Commentaire^L||1\\S\\2 \\F\\ 3\\E\\4\\.br\\\\X41\\ suite\\H\\||||||F",
        kind="ORU^R01^ORU_R01",
        pid=pid,
    )
    record = read(data).record
    assert record.patient.names[0].family == "DUPONT&FILS"
    assert record.patient.gender is None
    assert record.results[0].value == "1^2 | 3\\4\nA suite"


def test_v27_truncation_character_in_msh2_is_accepted() -> None:
    data = message().replace(b"|^~\\&|", b"|^~\\&#|", 1)
    assert data.startswith(b"MSH|^~\\&#|")
    assert read(data).record.patient.names[0].family == "DUPONT"


def test_a_withdrawn_diagnosis_is_left_out() -> None:
    data = message(
        "DG1|1||I10^Hypertension essentielle^I10||20190401|A",
        "DG1|2||E11.9^Diabète de type 2^I10||20200101|A|||||||||||||||D",
    )
    (problem,) = read(data).record.problems
    assert problem.code.codings[0].code == "I10"


# --- findings for what is left out -------------------------------------------------------------


def test_what_the_profile_cannot_name_is_reported_not_guessed() -> None:
    pid = (
        "PID|1||185077512345608^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~"
        "X1^^^SOMEWHERE^PI||DUPONT^Zoé^Zoé^^^^L||19850714|Q|||1 Main St^^Springfield^^1^XYZ^H"
    )
    data = message(
        OBR,
        "OBX|1|ED|PDF^Compte rendu^L||^AP^PDF^Base64^JVBERi0=||||||F",
        "OBX|2|NM|GLU^Glucose||0.95||||||Z",
        kind="ORU^R01^ORU_R01",
        pid=pid,
    )
    reading = read(data)
    assert [str(f) for f in reading.findings] == [
        "PID-3(1): identity status empty (PID-32) does not qualify the INS identifier: "
        "kept, but not qualified",
        "PID-3(2): assigning authority SOMEWHERE is not known to the profile: left out",
        "PID-8: sex code Q is not in the profile: left out",
        "PID-11(1): country XYZ is not ISO 3166 alpha-2 nor in the profile's table: left out",
        "OBX(1)-2: value type ED is not read: left out",
        "OBX(2)-3: code GLU names no coding system: kept as text",
        "OBX(2)-11: result status Z is not in the profile: unknown",
    ]
    (glucose,) = reading.record.results
    assert (glucose.code.text, glucose.status) == ("Glucose", "unknown")


# --- the profile's mapping decides --------------------------------------------------------------


def test_the_message_table_decides_what_is_read() -> None:
    no_results = with_mapping(profile(), "messages", {"ADT^A01": "adt"})
    with pytest.raises(RecordError) as caught:
        read_hl7v2((DATA / "fr-oru-r01.hl7").read_bytes(), no_results)
    assert caught.value.location == "MSH-9"
    assert "only ADT^A01" in caught.value.detail


def test_results_can_fill_another_list() -> None:
    vitals = with_mapping(profile(), "results.list", "vital_signs")
    record = read_hl7v2((DATA / "fr-oru-r01.hl7").read_bytes(), vitals).record
    assert (len(record.results), len(record.vital_signs)) == (0, 7)


def test_the_effective_time_comes_from_the_profiles_fields() -> None:
    obr_only = with_mapping(profile(), "results.effective", ["OBR-22"])
    record = read_hl7v2((DATA / "fr-oru-r01.hl7").read_bytes(), obr_only).record
    assert {r.effective for r in record.results} == {"2024-03-13T09:15:00+01:00"}


def test_value_types_and_statuses_come_from_the_profile() -> None:
    base = profile()
    no_sn = with_mapping(base, "results.value_types", {"NM": "number", "CWE": "coded"})
    reading = read_hl7v2((DATA / "fr-oru-r01.hl7").read_bytes(), no_sn)
    assert len(reading.record.results) == 6
    assert "OBX(4)-2: value type SN is not read: left out" in [str(f) for f in reading.findings]
    keep_deleted = with_mapping(base, "results.left_out", [])
    corrected = read_hl7v2((DATA / "fr-oru-r01-corrected.hl7").read_bytes(), keep_deleted)
    assert [r.status for r in corrected.record.results] == ["corrected", "unknown"]


def test_identifier_types_names_and_segments_come_from_the_profile() -> None:
    data = (DATA / "fr-adt-a01.hl7").read_bytes()
    base = profile()
    only_ins = with_mapping(base, "identifiers.types", ["INS"])
    assert [i.value for i in read_hl7v2(data, only_ins).record.patient.identifiers] == [
        "185077512345608"
    ]
    used_name = with_mapping(base, "names.types", ["D"])
    names = read_hl7v2(data, used_name).record.patient.names
    assert [n.family for n in names] == ["LÉGER-DUVAL"]
    no_clinical = with_mapping(base, "adt_segments", {})
    record: PatientRecord = read_hl7v2(data, no_clinical).record
    assert (record.problems, record.allergies) == ((), ())
    past = with_mapping(base, "adt_segments", {"DG1": "past_problems"})
    record = read_hl7v2(data, past).record
    assert (len(record.problems), len(record.past_problems)) == (0, 1)


def test_without_an_unknown_authority_prefix_local_identifiers_are_left_out(
    shared: Path,
) -> None:
    data = (shared / "conformance/national-samples/hl7v2-oru-r01-lab-loinc.hl7").read_bytes()
    strict = with_mapping(profile("generic-hl7v2"), "identifiers.unknown_authority", None)
    reading = read_hl7v2(data, strict)
    assert reading.record.patient.identifiers == ()
    assert "PID-3(1): assigning authority 1 is not known to the profile: left out" in [
        str(f) for f in reading.findings
    ]


def test_the_loader_refuses_a_mapping_the_schema_does_not_allow(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    (folder / "generic").mkdir(parents=True)
    text = (PROFILES / "generic" / "hl7v2.yaml").read_text(encoding="utf-8")
    shutil.copy(PROFILES / "generic" / "hl7v2.yaml", folder / "generic" / "hl7v2.yaml")
    assert load_profiles(folder).get("generic-hl7v2") is not None
    broken = text.replace("ADT^A01: adt", "ADT^A01: patient", 1)
    (folder / "generic" / "hl7v2.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(ProfileError, match=r"generic/hl7v2.yaml mapping at messages/ADT\^A01"):
        load_profiles(folder)


@pytest.mark.parametrize(
    ("path", "value", "says"),
    [
        ("charsets", {"X-LOCAL": "no-such-codec"}, "charsets: X-LOCAL names no known codec"),
        ("charset", "EBCDIC", "charset 'EBCDIC' is not in table 0211 nor in charsets"),
        ("names.types", [], "names.types is empty"),
        ("identifiers.types", ["PI"], "identifiers.qualified.types names INS"),
        ("results.left_out", ["D", "F"], "result status F is both mapped and left out"),
    ],
)
def test_a_mapping_that_cannot_work_stops_the_gateway(path: str, value: Any, says: str) -> None:
    # The schema accepts these; compiling the mapping at start-up does not.
    with pytest.raises(RecordError) as caught:
        check_mapping(with_mapping(profile(), path, value))
    assert caught.value.location == "profile"
    assert says in caught.value.detail


def test_the_shipped_hl7v2_mappings_compile() -> None:
    for name in ("fr-hl7v2-pam", "generic-hl7v2"):
        check_mapping(profile(name))
