"""Loading the profiles folder: the shipped profiles, and folders the loader must refuse."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gateway.profiles.loader import ProfileError, load_profiles
from tests.support.records import PROFILES

SHIPPED = {
    "it-ehdsi-cda": ("IT", "ehdsi-cda"),
    "generic-ehdsi-cda": (None, "ehdsi-cda"),
    "fr-hl7v2-pam": ("FR", "hl7v2"),
    "generic-hl7v2": (None, "hl7v2"),
    "de-isik-fhir": ("DE", "fhir"),
    "nl-zib-fhir": ("NL", "fhir"),
    "be-cancer-registry-csv": ("BE", "registry-csv"),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped profiles to break."""
    copy = tmp_path / "profiles"
    shutil.copytree(PROFILES, copy)
    return copy


def test_the_shipped_profiles_load_with_their_country_and_format():
    loaded = {p.name: (p.country, p.format) for p in load_profiles(PROFILES)}
    assert loaded.items() >= SHIPPED.items()


@pytest.mark.parametrize(
    ("system", "country"),
    [
        ("http://hl7.it/sid/codiceFiscale", "IT"),
        ("urn:oid:2.16.840.1.113883.2.9.4.3.2", "IT"),
        ("2.16.840.1.113883.2.9.4.3.2", "IT"),
        ("urn:oid:1.2.250.1.213.1.4.8", "FR"),
        ("http://fhir.de/sid/gkv/kvid-10", "DE"),
        ("http://fhir.nl/fhir/NamingSystem/bsn", "NL"),
        ("https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin", "BE"),
        ("urn:oid:1.2.752.129.2.1.3.1", "SE"),  # known to the registry only
        ("urn:oid:1.2.3.4", None),
    ],
)
def test_each_identifier_system_belongs_to_one_country(system, country):
    assert load_profiles(PROFILES).country_of(system) == country


def add(folder: Path, relative: str, text: str) -> None:
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


MINIMAL = "name: xx-test\ncountry: XX\nformat: fhir\ndescription: d\n"


@pytest.mark.parametrize(
    ("relative", "text", "says"),
    [
        ("xx/a.yaml", "name: [unclosed\n", "xx/a.yaml: not readable"),
        ("xx/a.yaml", "- a list\n", "a profile or policy is a mapping"),
        ("xx/a.yaml", "name: xx-test\nformat: fhir\n", "is a required property"),
        ("xx/a.yaml", MINIMAL.replace("fhir", "fax"), "at format"),
        ("xx/a.yaml", MINIMAL + "colour: blue\n", "colour"),
        ("xx/a.yaml", MINIMAL.replace("XX", "xx"), "at country"),
        ("xx/a.yaml", MINIMAL + "mapping: {nonsense: 1}\n", "xx/a.yaml mapping"),
        (
            "xx/a.yaml",
            MINIMAL + "identifiers: [{system: 'urn:oid:1.2.3', check: luhn-ish}]\n",
            "no identifier check algorithm is called 'luhn-ish'",
        ),
        (
            "xx/a.yaml",
            MINIMAL + "concept_maps: [{field: problems.code, map: 'https://x.eu/none'}]\n",
            "ConceptMap https://x.eu/none is not in the profiles folder",
        ),
        (
            "xx/a.yaml",
            MINIMAL + "identifiers: [{system: 'http://fhir.nl/fhir/NamingSystem/bsn'}]\n",
            "belongs to NL, not XX",
        ),
        (
            "xx/a.yaml",
            "name: xx-test\nformat: fhir\ndescription: d\n"
            "identifiers: [{system: 'urn:oid:1.2.3'}]\n",
            "a generic profile must give each identifier's country",
        ),
        ("conceptmaps/bad.json", "{}", "bad.json: not a FHIR ConceptMap"),
    ],
)
def test_a_broken_file_stops_the_load_naming_it(folder, relative, text, says):
    if relative.endswith(".yaml") and "mapping" not in text and "format: fhir" in text:
        text += "mapping: " + _fhir_mapping(folder) + "\n"
    add(folder, relative, text)
    with pytest.raises(ProfileError, match=says.replace("[", r"\[").replace(".", r"\.")):
        load_profiles(folder)


def test_two_profiles_with_one_name_are_refused(folder):
    duplicate = (folder / "nl" / "nl-zib-fhir.yaml").read_text()
    add(folder, "nl/copy.yaml", duplicate)
    with pytest.raises(ProfileError, match=r"two files define the profile name 'nl-zib-fhir'"):
        load_profiles(folder)


def test_one_system_claimed_by_two_countries_is_refused(folder):
    mine = (
        MINIMAL + "identifiers: [{system: 'urn:oid:1.2.3.4.5'}]\nmapping: " + _fhir_mapping(folder)
    )
    theirs = mine.replace("xx-test", "yy-test").replace("XX", "YY")
    add(folder, "xx/a.yaml", mine + "\n")
    add(folder, "yy/a.yaml", theirs + "\n")
    with pytest.raises(ProfileError, match=r"claimed by XX .* and YY"):
        load_profiles(folder)


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profiles(tmp_path / "nowhere")


def test_country_policies_load_and_decide_the_research_default(folder):
    add(
        folder,
        "xx/policy.yaml",
        "country: XX\npatient_summary: {purposes: [TREAT], "
        "recipient_countries: [FR]}\nresearch: deny\n",
    )
    loaded = load_profiles(folder)
    assert "policy" not in " ".join(loaded.names)
    policy = loaded.policy("XX")
    assert policy is not None
    assert (policy.summary_purposes, policy.summary_recipients) == (("TREAT",), ("FR",))
    assert not loaded.research_by_default(None, "XX")
    assert not loaded.research_by_default("http://fhir.nl/fhir/NamingSystem/bsn", "DE")
    assert loaded.research_by_default("http://fhir.de/sid/gkv/kvid-10", "XX")
    assert loaded.research_by_default(None, "SE")  # no policy: EHDS opt-out


@pytest.mark.parametrize(
    "text",
    [
        "country: XX\nresearch: permit\n",
        "country: XX\npatient_summary: {purposes: [SHOP], recipient_countries: ['*']}\n"
        "research: permit\n",
        "country: XX\npatient_summary: {purposes: [], recipient_countries: ['*']}\n"
        "research: maybe\n",
    ],
)
def test_a_broken_policy_stops_the_load(folder, text):
    add(folder, "xx/policy.yaml", text)
    with pytest.raises(ProfileError, match=r"xx/policy\.yaml"):
        load_profiles(folder)


def _fhir_mapping(folder: Path) -> str:
    """The DE profile's own FHIR mapping, as inline JSON: a valid one for the schema."""
    data = yaml.safe_load((folder / "de" / "de-isik-fhir.yaml").read_text())
    return json.dumps(data["mapping"])
