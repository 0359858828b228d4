"""National identifier systems (pure): every example in reference/national-records.md §2-3."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from stdnum import luhn
from stdnum.dk import cpr

from gateway.profiles.identifiers import (
    SYSTEMS,
    CheckResult,
    IdentifierSystem,
    check,
    country_of,
    normalize_value,
    system_for,
)

BY_KEY = {system.key: system for system in SYSTEMS}

COUNTRIES = {
    "de-kvnr-gkv": "DE",
    "de-kvnr-pkv": "DE",
    "de-pzn": "DE",
    "it-codice-fiscale": "IT",
    "fr-ins-nir": "FR",
    "fr-ins-nia": "FR",
    "fr-ins-nir-test": "FR",
    "nl-bsn": "NL",
    "be-ssin": "BE",
    "es-cip-sns": "ES",
    "se-personnummer": "SE",
    "se-samordningsnummer": "SE",
    "dk-cpr": "DK",
    "pl-pesel": "PL",
    "pt-sns": "PT",
    "at-svnr": "AT",
}

# Valid examples from the note (verified or synthetic there), by registry key.
VALID = {
    "de-kvnr-gkv": ["A123456780", "E567890127", "H890123459", "M123456785"],
    "de-kvnr-pkv": ["A123456780", "E567890127", "H890123459", "M123456785"],
    "de-pzn": ["06313728", "07265233", "19201712"],
    "it-codice-fiscale": [
        "CRRPLA47H13A794V",
        "LGHDNT71E01D612Q",
        "RCCMNL83S18D969H",
        "RSSMRA80A01H501U",
        "TSTPSN80A01D612A",
    ],
    "fr-ins-nir": [
        "279035121518989",
        "295109912611193",
        "253072B07300470",
        "253072A07300443",
        "185077512345608",
    ],
    "fr-ins-nir-test": ["279035121518989"],
    "nl-bsn": ["111222333", "999999011", "123456782"],
    "be-ssin": ["85073003328", "17073003384", "80051207915"],
    "se-personnummer": ["880320-0016", "811228-9841", "19121212-1212"],
    # Not from the note: day 63 is the 3rd + 60, and the Luhn digit holds.
    "se-samordningsnummer": ["701063-2391"],
    # The last three are DK test CPRs that fail the historical mod-11 yet are in use.
    "dk-cpr": ["2110625629", "0101701239", "3001749995", "2512489996", "0201609995"],
    "pl-pesel": ["44051401359", "02211307589", "40010151673", "85123101236"],
    "at-svnr": ["1237010180", "9994210469", "1231150385"],
}

CHECK_DIGIT = "check digit does not match"

# Invalid examples: the note's, then ones derived here (marked) for systems the note lists
# none for, and for the hand-written algorithms' edges.
INVALID = {
    "de-kvnr-gkv": [
        ("A123456789", CHECK_DIGIT),  # ISiK PatientinMusterfrau
        ("G995030567", CHECK_DIGIT),  # basisprofil documentation
        ("1234567890", "characters or layout not allowed"),  # derived: no letter
        ("A12345678", "wrong length"),  # derived
    ],
    "de-kvnr-pkv": [("A123456789", CHECK_DIGIT), ("G995030567", CHECK_DIGIT)],
    "de-pzn": [
        ("06313729", CHECK_DIGIT),  # derived: last digit changed
        ("10004000", CHECK_DIGIT),  # derived: remainder 10, never issued
        ("0631372", "wrong length"),  # derived: a seven-digit PZN
        ("0631372X", "characters or layout not allowed"),  # derived
    ],
    "it-codice-fiscale": [("RSSMRA80A01H501Z", CHECK_DIGIT)],
    "fr-ins-nir": [("279035121518988", CHECK_DIGIT)],  # derived: key changed
    "nl-bsn": [("111222334", CHECK_DIGIT)],  # derived: check digit changed
    "be-ssin": [("06092473240", CHECK_DIGIT), ("79080412345", CHECK_DIGIT)],
    "se-personnummer": [
        ("880320-0017", CHECK_DIGIT),  # derived
        ("701063-2391", "an embedded part (such as the birth date) is not valid"),
    ],
    "se-samordningsnummer": [
        ("701063-2392", CHECK_DIGIT),  # derived
        ("880320-0016", "an embedded part (such as the birth date) is not valid"),
        # day 90 - 60 = 30 February; the Luhn digit is right (see the test below)
        ("700290-2398", "an embedded part (such as the birth date) is not valid"),
        ("19700290-2398", "an embedded part (such as the birth date) is not valid"),
    ],
    "dk-cpr": [
        ("3213701234", "an embedded part (such as the birth date) is not valid"),  # month 13
        ("211062562", "wrong length"),  # derived
    ],
    "pl-pesel": [("62091599999", CHECK_DIGIT)],
    "at-svnr": [("1234010100", CHECK_DIGIT)],  # used in AT examples
}


def spellings(key: str) -> list[str]:
    """Every way a caller may name the system: each URI, each ``urn:oid:``, each bare OID."""
    systems = list(BY_KEY[key].systems)
    return systems + [s.removeprefix("urn:oid:") for s in systems if s.startswith("urn:oid:")]


def cases(examples: dict[str, list[str]]) -> list[object]:
    return [
        pytest.param(system, value, id=f"{key}:{value}:{system}")
        for key, values in examples.items()
        for value in values
        for system in spellings(key)
    ]


def invalid_cases() -> list[object]:
    return [
        pytest.param(system, value, reason, id=f"{key}:{value}:{system}")
        for key, examples in INVALID.items()
        for value, reason in examples
        for system in spellings(key)
    ]


@pytest.mark.parametrize(("system", "value"), cases(VALID))
def test_valid_examples_pass(system: str, value: str) -> None:
    assert check(system, value) == CheckResult(valid=True, reason=None, known=True)


@pytest.mark.parametrize(("system", "value", "reason"), invalid_cases())
def test_invalid_examples_fail_with_a_reason(system: str, value: str, reason: str) -> None:
    assert check(system, value) == CheckResult(valid=False, reason=reason, known=True)


def test_samordningsnummer_needs_a_real_birth_date_not_just_its_luhn_digit() -> None:
    # 700290-2398 passes Luhn; only its birth day (90 - 60 = 30 February) makes it invalid.
    assert luhn.is_valid("7002902398")
    (system,) = BY_KEY["se-samordningsnummer"].systems[:1]
    assert check(system, "700290-2398").valid is False
    assert check(system, "700290-2398").reason == (
        "an embedded part (such as the birth date) is not valid"
    )


def test_the_registry_is_the_one_tested_here() -> None:
    assert {system.key: system.country for system in SYSTEMS} == COUNTRIES
    assert len(BY_KEY) == len(SYSTEMS)


@pytest.mark.parametrize(
    ("system", "country"),
    [
        pytest.param(spelling, COUNTRIES[key], id=spelling)
        for key in COUNTRIES
        for spelling in spellings(key)
    ],
)
def test_country_of_every_spelling(system: str, country: str) -> None:
    assert country_of(system) == country
    found = system_for(system)
    assert found is not None
    assert found.country == country


def test_every_system_belongs_to_exactly_one_entry() -> None:
    names = [name for system in SYSTEMS for name in system.systems]
    assert len(names) == len(set(names))
    for system in SYSTEMS:
        assert system.systems, system.key
        for name in system.systems:
            assert system_for(name) is system


def test_systems_are_uris_or_urn_oids_and_countries_are_alpha_2() -> None:
    for system in SYSTEMS:
        assert len(system.country) == 2
        assert system.country.isascii()
        assert system.country.isupper()
        for name in system.systems:
            assert name.startswith(("http://", "https://", "urn:oid:")), name


def test_only_the_pzn_is_not_a_person_identifier() -> None:
    assert [system.key for system in SYSTEMS if not system.person] == ["de-pzn"]


@pytest.mark.parametrize(
    "system",
    [
        "http://example.org/fhir/sid/unknown",
        "urn:oid:1.2.3.4",
        "1.2.3.4",
        "",
        "http://fhir.de/sid/gkv/kvid-10/",  # URIs match exactly
        "HTTP://FHIR.DE/SID/GKV/KVID-10",
        "urn:oid:1.2.276.0.76.4.80",
    ],
)
def test_unknown_systems_are_not_checked(system: str) -> None:
    assert system_for(system) is None
    assert country_of(system) is None
    assert check(system, "A123456789") == CheckResult(
        valid=True, reason=None, known=False, checked=False
    )


@pytest.mark.parametrize(
    "system", ["URN:OID:1.2.276.0.76.4.8", " urn:oid:1.2.276.0.76.4.8 ", " 1.2.276.0.76.4.8"]
)
def test_oid_spelling_is_forgiving(system: str) -> None:
    assert system_for(system) is BY_KEY["de-kvnr-gkv"]


@pytest.mark.parametrize("key", ["fr-ins-nia", "es-cip-sns", "pt-sns"])
def test_systems_without_a_verified_check_only_require_a_value(key: str) -> None:
    system = BY_KEY[key].systems[0]
    assert check(system, "anything at all") == CheckResult(
        valid=True, reason=None, known=True, checked=False
    )
    assert check(system, " ") == CheckResult(valid=False, reason="empty value", known=True)


@pytest.mark.parametrize("system", [system.systems[0] for system in SYSTEMS])
def test_empty_values_are_invalid(system: str) -> None:
    assert check(system, "") == CheckResult(valid=False, reason="empty value", known=True)


def test_dk_cpr_does_not_enforce_the_old_mod_11() -> None:
    # The note: not guaranteed since 2007; these DK test CPRs fail it and are in use.
    for value in ["3001749995", "2512489996", "0201609995"]:
        assert cpr.checksum(value) != 0
        assert check("urn:oid:1.2.208.176.1.2", value).valid


@pytest.mark.parametrize(
    "value",
    ["a123456780", "A 123 456 780", "a123456789", "\u0131123456780", "Ä123456780", "A12345678٠"],
)
def test_kvnr_case_spacing_and_non_ascii(value: str) -> None:
    expected = value.replace(" ", "").upper() == "A123456780"
    assert check("http://fhir.de/sid/gkv/kvid-10", value).valid is expected


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    ("system", "value"),
    [
        pytest.param(system.systems[0], spelled, id=f"{system.key}:{how}")
        for system in SYSTEMS
        if system.key in VALID
        for how, spelled in (
            ("fullwidth", _fullwidth(VALID[system.key][0])),
            ("arabic-indic", VALID[system.key][0].translate(str.maketrans("0123", "٠١٢٣"))),
        )
        if spelled != VALID[system.key][0]
    ],
)
def test_look_alike_spellings_of_a_valid_number_fail_the_check(system: str, value: str) -> None:
    """python-stdnum reads look-alikes as ASCII; stored as given they would be another
    identifier that looks like a real citizen's."""
    result = check(system, value)
    assert not result.valid
    assert result.reason == "characters or layout not allowed"


GARBAGE = [
    "A123456789",
    "RSSMRA80A01H501Z",
    "06092473240",
    "999999999999999999999",
    "not-an-identifier",
    "1234-5678",
    "+++++++++++",
    "12345678901234567",
    "\u00b2\u00b3\u00b9456789",
]


@pytest.mark.parametrize(
    ("system", "value"),
    [
        pytest.param(system.systems[0], value, id=f"{system.key}:{value}")
        for system in SYSTEMS
        for value in GARBAGE + [value for value, _ in INVALID.get(system.key, [])]
    ],
)
def test_reasons_never_quote_the_value(system: str, value: str) -> None:
    result = check(system, value)
    assert result.known
    if result.reason is not None:
        assert not result.valid
        for fragment in {value, value.replace("-", ""), value.upper(), value[:4], value[-4:]}:
            assert fragment not in result.reason


def test_results_and_systems_are_immutable() -> None:
    system: IdentifierSystem = SYSTEMS[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        system.country = "FR"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        check(system.systems[0], "x").valid = True  # type: ignore[misc]


# The copied national samples (read in place in ../shared).


def test_isik_sample_kvnr_is_invalid(shared: Path) -> None:
    path = shared / "conformance" / "national-samples" / "isik-Patient-PatientinMusterfrau.json"
    patient = json.loads(path.read_text(encoding="utf-8"))
    (kvnr,) = [i for i in patient["identifier"] if i.get("system", "").endswith("gkv/kvid-10")]
    assert kvnr["value"] == "A123456789"
    result = check(kvnr["system"], kvnr["value"])
    assert result == CheckResult(valid=False, reason=CHECK_DIGIT, known=True)
    assert country_of(kvnr["system"]) == "DE"


def test_nictiz_sample_bsn_is_valid(shared: Path) -> None:
    path = shared / "conformance" / "national-samples" / "nictiz-nl-core-Patient-01.xml"
    ns = {"f": "http://hl7.org/fhir"}
    identifier = ET.parse(path).getroot().find("f:identifier", ns)  # noqa: S314 (local file)
    assert identifier is not None
    system = identifier.find("f:system", ns)
    value = identifier.find("f:value", ns)
    assert system is not None
    assert value is not None
    assert check(system.get("value", ""), value.get("value", "")).valid
    assert country_of(system.get("value", "")) == "NL"


def test_epsos_sample_codice_fiscale_is_valid(shared: Path) -> None:
    path = shared / "conformance" / "national-samples" / "epsos-ps-pivot-it-paolo.xml"
    root = ET.parse(path).getroot()  # noqa: S314 (local file)
    ids = [
        element
        for element in root.iter("{urn:hl7-org:v3}id")
        if element.get("root") == "2.16.840.1.113883.2.9.4.3.2"
    ]
    assert ids
    for element in ids:
        assert check(element.get("root", ""), element.get("extension", "")).valid
        assert country_of(element.get("root", "")) == "IT"


def test_an_eleven_digit_vat_number_is_not_a_codice_fiscale() -> None:
    # python-stdnum's codicefiscale.validate routes 11 digits to the partita IVA check.
    result = check("http://hl7.it/sid/codiceFiscale", "00743110157")
    assert result == CheckResult(valid=False, reason="wrong length")


@pytest.mark.parametrize(
    ("key", "spelled", "canonical"),
    [
        ("de-kvnr-gkv", " a123 456 780 ", "A123456780"),
        ("nl-bsn", "1112.22.333", "111222333"),
        ("fr-ins-nir", "2 79 03 51 215 189 89", "279035121518989"),
        ("it-codice-fiscale", "rssmra80a01h501u", "RSSMRA80A01H501U"),
        ("be-ssin", "85.07.30-033.28", "85073003328"),
        ("se-personnummer", "880320-0016", "880320-0016"),  # the dash says the century
        (None, " local-Id.7 ", "local-Id.7"),
        ("no-such-key", "a b", "a b"),
    ],
)
def test_values_take_their_canonical_spelling(key, spelled, canonical) -> None:
    assert normalize_value(key, spelled) == canonical
