"""The ``ehdsi-cda`` profiles: their mapping steers the reader, and their identifier rules.

Each test changes one key of a shipped profile's ``mapping`` and shows the reader follows it,
so that a member state with the same format needs a YAML file, not code.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.records import ABSENT_UNKNOWN, Note, Section
from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records import Reading
from gateway.ingest.records.cda import read_cda
from gateway.ingest.records.cda_mapping import mapping_of
from gateway.profiles.model import Profile
from tests.support.records import shipped_profiles, translate

DATA = Path(__file__).parent / "data" / "cda"
SAMPLES = Path("conformance") / "national-samples"
ITALIAN = (DATA / "it-ps-icd9cm.xml").read_bytes()
ABSENT = (DATA / "generic-fr-absent.xml").read_bytes()


def _profile(name: str = "generic-ehdsi-cda") -> Profile:
    found = shipped_profiles().get(name)
    assert found is not None
    return found


def _changed(name: str, change: dict[str, Any]) -> Profile:
    """The shipped profile with some mapping keys replaced."""
    profile = _profile(name)
    mapping = copy.deepcopy(dict(profile.mapping))
    mapping.update(change)
    return replace(profile, mapping=mapping)


def _sections(**changes: dict[str, Any] | None) -> dict[str, Any]:
    sections = copy.deepcopy(dict(_profile().mapping["sections"]))
    for target, spec in changes.items():
        if spec is None:
            del sections[target]
        else:
            sections[target] = spec
    return {"sections": sections}


@pytest.fixture(scope="module")
def paolo(shared: Path) -> bytes:
    return (shared / SAMPLES / "epsos-ps-pivot-it-paolo.xml").read_bytes()


def test_every_shipped_cda_profile_has_a_coherent_mapping() -> None:
    profiles = [p for p in shipped_profiles() if p.format == "ehdsi-cda"]
    assert {p.name for p in profiles} >= {"generic-ehdsi-cda", "it-ehdsi-cda"}
    for profile in profiles:
        mapping = mapping_of(profile)  # no code or templateId claimed twice
        assert mapping.section_rule("11450-4", ()) is not None


def test_sections_go_where_the_profile_says() -> None:
    moved = _changed(
        "it-ehdsi-cda", _sections(problems=None, past_problems={"codes": ["11450-4", "11348-0"]})
    )
    reading = read_cda(ITALIAN, moved)
    assert reading.record.problems == ()
    assert [p.code.text for p in reading.record.past_problems] == [
        "Ipertensione essenziale",
        "Diabete mellito di tipo 2",
        "Artrosi del ginocchio",
        "Asma bronchiale, risolta",
        "Ipotiroidismo",
    ]


def test_absence_is_stated_only_where_ips_has_a_code_for_it() -> None:
    moved = _changed(
        "generic-ehdsi-cda", _sections(problems=None, past_problems={"codes": ["11450-4"]})
    )
    reading = read_cda(ABSENT, moved)
    assert reading.record.past_problems == ()
    assert "a problem without a coded or described value: not read" in [
        f.message for f in reading.findings
    ]


def test_a_section_the_profile_leaves_out_is_reported() -> None:
    reading = read_cda(ITALIAN, _changed("it-ehdsi-cda", _sections(advance_directives=None)))
    assert reading.record.notes == ()
    assert "section 42348-3 is not in the profile: not read" in [
        f.message for f in reading.findings
    ]


def test_sections_are_recognised_by_template_id() -> None:
    by_template = {"template_ids": ["1.3.6.1.4.1.12559.11.10.1.3.1.2.9"]}
    reading = read_cda(ABSENT, _changed("generic-ehdsi-cda", _sections(problems=by_template)))
    assert len(reading.record.problems) == 1


def test_narrative_only_sections_become_notes_when_the_profile_says() -> None:
    kept = {"codes": ["11369-6"], "without_entries": "note"}
    reading = read_cda(ABSENT, _changed("generic-ehdsi-cda", _sections(immunizations=kept)))
    assert reading.record.notes == (
        Note(Section.IMMUNIZATIONS, "Carnet de vaccination non disponible"),
    )
    assert not any("narrative text only" in f.message for f in reading.findings)


def test_the_medication_namespace_comes_from_the_profile(paolo: bytes) -> None:
    eh_dsi_only = _changed("it-ehdsi-cda", {"medication_namespaces": ["urn:hl7-org:pharm"]})
    reading = read_cda(paolo, eh_dsi_only)
    # The epSOS ingredients are invisible: a medicine the reader cannot name is left out,
    # not taken for "no known medications" (its product code nullFlavor="NA" notwithstanding).
    assert reading.record.medications == ()
    assert "a medication without a coded or named medicine: not read" in [
        f.message for f in reading.findings
    ]
    assert read_cda(paolo, _profile("it-ehdsi-cda")).record.medications[0].medication.codings


def test_status_tables_come_from_the_profile(paolo: bytes) -> None:
    statuses = copy.deepcopy(dict(_profile().mapping["statuses"]))
    statuses["concern"] = {**statuses["concern"], "completed": "inactive"}
    reading = read_cda(paolo, _changed("generic-ehdsi-cda", {"statuses": statuses}))
    assert [p.clinical_status for p in reading.record.past_problems] == ["inactive", "inactive"]


def test_null_flavors_state_absence_only_as_the_profile_says(paolo: bytes) -> None:
    reading = read_cda(paolo, _changed("it-ehdsi-cda", {"absent_null_flavors": {}}))
    assert reading.record.devices == ()
    default = read_cda(paolo, _profile("it-ehdsi-cda")).record.devices
    assert default[0].device.codings[0].system == ABSENT_UNKNOWN


def test_gender_and_telecom_tables_come_from_the_profile() -> None:
    changed = _changed("it-ehdsi-cda", {"gender": {"M": "other"}, "telecom": {"tel": "phone"}})
    patient = read_cda(ITALIAN, changed).record.patient
    assert patient.gender == "other"
    assert [(t.system, t.value) for t in patient.telecoms] == [
        ("phone", "+39060000000"),
        ("other", "mailto:paziente.test@example.it"),
    ]


def test_name_uses_come_from_the_profile() -> None:
    legal_is_official = _changed("it-ehdsi-cda", {"name_uses": {"L": "official"}})
    assert read_cda(ITALIAN, legal_is_official).record.patient.names[0].use == "official"
    reading = read_cda(ITALIAN, _changed("it-ehdsi-cda", {"name_uses": {}}))
    assert reading.record.patient.names[0].use is None
    assert [str(f) for f in reading.findings if "name use" in f.message] == [
        "/ClinicalDocument/recordTarget/patientRole/patient/name: name use L is not in the "
        "profile: left out"
    ]


def test_a_mapping_is_compiled_once_per_profile() -> None:
    profile = _profile("it-ehdsi-cda")
    assert mapping_of(profile) is mapping_of(profile)
    changed = _changed("it-ehdsi-cda", {"name_uses": {"L": "official"}})
    assert mapping_of(changed) is not mapping_of(profile)
    assert mapping_of(changed).name_uses == {"L": "official"}


def test_document_codes_come_from_the_profile() -> None:
    strict = _changed("generic-ehdsi-cda", {"document_codes": ["60592-3"]})
    with pytest.raises(RecordRejected) as caught:
        read_cda(ABSENT, strict)
    assert caught.value.location == "/ClinicalDocument/code"


def test_a_section_claimed_twice_is_a_profile_error() -> None:
    twice = _changed("generic-ehdsi-cda", _sections(past_problems={"codes": ["11450-4"]}))
    with pytest.raises(RecordError) as caught:
        read_cda(ABSENT, twice)
    assert caught.value.location == "profile"
    assert "11450-4" in caught.value.detail


# --- identifier checks ------------------------------------------------------------------------


def _with_codice_fiscale(value: str) -> bytes:
    return ITALIAN.replace(b"RSSMRA80A01H501U", value.encode())


def test_the_italian_profile_rejects_a_codice_fiscale_that_fails_its_check() -> None:
    with pytest.raises(RecordRejected) as caught:
        translate(_with_codice_fiscale("RSSMRA80A01H501Z"), "it-ehdsi-cda")
    assert caught.value.location == "patient.identifiers[0]"
    assert "RSSMRA80A01H501Z" not in str(caught.value)


def test_the_generic_profile_only_warns_about_it() -> None:
    result = translate(_with_codice_fiscale("RSSMRA80A01H501Z"), "generic-ehdsi-cda")
    assert result.translation.record.patient.country == "IT"
    assert [str(f) for f in result.translation.findings if f.location.startswith("patient.")] == [
        "patient.identifiers[0]: http://hl7.it/sid/codiceFiscale: check digit does not match"
    ]


def test_readers_keep_the_identifier_system_of_the_profile() -> None:
    reading: Reading = read_cda(ITALIAN, _profile("it-ehdsi-cda"))
    assert reading.record.patient.identifiers[0].system == "http://hl7.it/sid/codiceFiscale"
