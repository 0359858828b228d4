"""National identifier systems: which country a FHIR identifier system belongs to, and whether
a value passes that system's check digit.

The systems, URIs, OIDs, algorithms and examples come from ``reference/national-records.md``
§2 (identifier table) and §3 (PZN), which read them in gematik/spec-VSDM2 and
hl7germany/basisprofil-de-r4 (KVNR), gematik/ePA-Medication (PZN), hl7-it/base and the eHDSI
samples in ncp-docker-dev-AT/eHDSI_ehealth (codice fiscale, PT SNS), Interop-Sante/FHIR-FR-Core
and ansforge/hl7V2-exemples (INS), Nictiz/Nictiz-R4-zib2020 (BSN), pablumar/github-guia-hcdsns
(CIP-SNS), and cross-checked against python-stdnum 2.2, which does the checking wherever it has
the algorithm. A failed check is reported as data (:class:`CheckResult`), never raised: the note
finds many public examples with wrong check digits, so each profile decides whether a failure
is a warning or a rejection.

Identifier values are patient data: reasons are fixed phrases and never quote the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from stdnum import luhn
from stdnum.at import vnr
from stdnum.be import ssn
from stdnum.dk import cpr
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer

__all__ = [
    "SYSTEMS",
    "CheckResult",
    "IdentifierSystem",
    "by_key",
    "check",
    "check_with",
    "country_of",
    "kvnr_check_digit",
    "normalize_system",
    "normalize_value",
    "system_for",
]

# A validator returns normally or raises one of python-stdnum's ValidationErrors.
Validator = Callable[[str], object]


@dataclass(frozen=True)
class IdentifierSystem:
    """One national identifier system; ``systems`` holds its FHIR URIs and ``urn:oid:`` OIDs."""

    key: str
    country: str
    name: str
    systems: tuple[str, ...]
    person: bool


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`.

    ``known`` is False for a system outside the registry. ``checked`` says whether a
    format and check-digit algorithm ran: it is False for unknown systems and for known ones
    with no verified check (FR INS-NIA, ES CIP-SNS, PT SNS), which are only refused when
    empty. ``reason`` never contains the value.
    """

    valid: bool
    reason: str | None = None
    known: bool = True
    checked: bool = True


_KVNR = re.compile(r"[A-Z][0-9]{9}")
_KVNR_BODY = re.compile(r"[A-Z][0-9]{8}")
_PZN = re.compile(r"[0-9]{8}")
_DIGITS = re.compile(r"[0-9]+")
_OID = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]*))+")
_URN_OID = "urn:oid:"


def kvnr_check_digit(body: str) -> str:
    """The check digit of a KVNR's first nine characters (a capital letter and eight digits).

    Hand-written: no library has the KVNR (python-stdnum's `de` covers only tax and company
    numbers). The letter becomes two digits (A=01..Z=26); with the next eight digits that makes
    ten, weighted 1,2,1,2,...; two-digit products count as their cross sum, and the sum mod 10
    is the check digit.

    :raises ValueError: ``body`` is not a capital letter followed by eight digits.
    """
    if not (body.isascii() and _KVNR_BODY.fullmatch(body)):
        raise ValueError("not a KVNR body (a capital letter and eight digits)")
    digits = f"{ord(body[0]) - ord('A') + 1:02d}{body[1:]}"
    products = (int(digit) * (1 + position % 2) for position, digit in enumerate(digits))
    return str(sum(p - 9 if p > 9 else p for p in products) % 10)


def _kvnr(value: str) -> None:
    number = value.replace(" ", "")
    if len(number) != 10:
        raise InvalidLength
    if not (number.isascii() and _KVNR.fullmatch(number.upper())):
        raise InvalidFormat
    number = number.upper()
    if kvnr_check_digit(number[:9]) != number[9]:
        raise InvalidChecksum


def _pzn(value: str) -> None:
    # Hand-written: no library has the PZN. Σ(i · d_i, i = 1..7) mod 11 is the eighth digit;
    # numbers whose remainder is 10 are never issued (no digit can match).
    number = value.replace(" ", "")
    if len(number) != 8:
        raise InvalidLength
    if not _PZN.fullmatch(number):
        raise InvalidFormat
    remainder = sum(i * int(d) for i, d in enumerate(number[:7], start=1)) % 11
    if remainder != int(number[7]):
        raise InvalidChecksum


def _codice_fiscale(value: str) -> None:
    # python-stdnum's codicefiscale also accepts an 11-digit number, which is a company's
    # VAT number (partita IVA), not a person's fiscal code.
    if len(codicefiscale.compact(value)) != 16:
        raise InvalidLength
    codicefiscale.validate(value)


def _samordningsnummer(value: str) -> None:
    # python-stdnum's personnummer rejects coordination numbers, whose day is the birth day
    # + 60; otherwise they follow the personnummer rules (Luhn over YYMMDDNNNC).
    number = personnummer.compact(value)
    if len(number) not in (11, 13):
        raise InvalidLength
    digits = number[:-5] + number[-4:]
    if number[-5] not in "-+" or not _DIGITS.fullmatch(digits):
        raise InvalidFormat
    day = int(number[-7:-5])
    if day <= 60:
        raise InvalidComponent
    personnummer.get_birth_date(f"{number[:-7]}{day - 60:02d}{number[-5:]}")
    luhn.validate(digits[-10:])


_Entry = tuple[IdentifierSystem, Validator | None]


def _entry(
    key: str,
    country: str,
    name: str,
    systems: tuple[str, ...],
    validator: Validator | None,
    *,
    person: bool = True,
) -> _Entry:
    return IdentifierSystem(key, country, name, systems, person), validator


# Systems and OIDs exactly as the note gives them. A validator of None means the note has no
# verified check for that system: it is registered so that its country is known.
_REGISTRY: tuple[_Entry, ...] = (
    _entry(
        "de-kvnr-gkv",
        "DE",
        "Krankenversichertennummer (KVNR), statutory insurance (GKV)",
        ("http://fhir.de/sid/gkv/kvid-10", "urn:oid:1.2.276.0.76.4.8"),
        _kvnr,
    ),
    _entry(
        "de-kvnr-pkv",
        "DE",
        "Krankenversichertennummer (KVNR), private insurance (PKV)",
        ("http://fhir.de/sid/pkv/kvid-10",),
        _kvnr,
    ),
    _entry(
        "de-pzn",
        "DE",
        "Pharmazentralnummer (PZN), a pharmacy product code",
        ("http://fhir.de/CodeSystem/ifa/pzn",),
        _pzn,
        person=False,
    ),
    _entry(
        "it-codice-fiscale",
        "IT",
        "Codice fiscale",
        ("http://hl7.it/sid/codiceFiscale", "urn:oid:2.16.840.1.113883.2.9.4.3.2"),
        _codice_fiscale,
    ),
    _entry("fr-ins-nir", "FR", "INS-NIR", ("urn:oid:1.2.250.1.213.1.4.8",), nir.validate),
    # The note verifies the NIR key only; NIA values have no verified example.
    _entry("fr-ins-nia", "FR", "INS-NIA", ("urn:oid:1.2.250.1.213.1.4.9",), None),
    _entry(
        "fr-ins-nir-test",
        "FR",
        "INS-NIR, test namespace",
        ("urn:oid:1.2.250.1.213.1.4.10",),
        nir.validate,
    ),
    _entry(
        "nl-bsn",
        "NL",
        "Burgerservicenummer (BSN)",
        ("http://fhir.nl/fhir/NamingSystem/bsn", "urn:oid:2.16.840.1.113883.2.4.6.3"),
        bsn.validate,
    ),
    _entry(
        "be-ssin",
        "BE",
        "INSZ/NISS (national register or BIS number)",
        (
            "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/ssin",
            "urn:oid:1.3.6.1.4.1.21297.100.1.1",
        ),
        ssn.validate,
    ),
    # Spain's health identifier is the CIP-SNS, not the DNI/NIE, and its check (if any) is
    # not public; python-stdnum has only DNI/NIE.
    _entry("es-cip-sns", "ES", "CIP-SNS", ("urn:oid:2.16.724.4.40",), None),
    _entry(
        "se-personnummer",
        "SE",
        "Personnummer",
        ("urn:oid:1.2.752.129.2.1.3.1", "http://electronichealth.se/identifier/personnummer"),
        personnummer.validate,
    ),
    _entry(
        "se-samordningsnummer",
        "SE",
        "Samordningsnummer (coordination number)",
        ("urn:oid:1.2.752.129.2.1.3.3",),
        _samordningsnummer,
    ),
    # Length, digits and birth date only: since 2007 CPR numbers need not pass the old mod-11
    # check (DK test CPRs fail it), and python-stdnum's validate does not apply it either.
    _entry("dk-cpr", "DK", "CPR-nummer", ("urn:oid:1.2.208.176.1.2",), cpr.validate),
    _entry(
        "pl-pesel", "PL", "PESEL", ("urn:oid:2.16.840.1.113883.3.4424.1.1.616",), pesel.validate
    ),
    # Portugal's health identifier is the SNS user number, not the NIF; no check is public.
    _entry("pt-sns", "PT", "Número de utente do SNS", ("urn:oid:2.16.620.1.101.10.1.1",), None),
    _entry(
        "at-svnr",
        "AT",
        "Sozialversicherungsnummer (SVNR)",
        ("urn:oid:1.2.40.0.10.1.4.3.1",),
        vnr.validate,
    ),
)

SYSTEMS: tuple[IdentifierSystem, ...] = tuple(system for system, _ in _REGISTRY)

# InvalidLength is a subclass of InvalidFormat, so it is looked up first.
_REASONS: tuple[tuple[type[ValidationError], str], ...] = (
    (InvalidLength, "wrong length"),
    (InvalidFormat, "characters or layout not allowed"),
    (InvalidChecksum, "check digit does not match"),
    (InvalidComponent, "an embedded part (such as the birth date) is not valid"),
)


def normalize_system(system_uri_or_oid: str) -> str:
    """``urn:oid:X`` for an OID in either spelling; anything else as given (URIs are
    case-sensitive)."""
    text = system_uri_or_oid.strip()
    if text[: len(_URN_OID)].lower() == _URN_OID:
        return _URN_OID + text[len(_URN_OID) :]
    return _URN_OID + text if _OID.fullmatch(text) else text


def _index() -> Mapping[str, _Entry]:
    index: dict[str, _Entry] = {}
    for entry in _REGISTRY:
        for name in map(normalize_system, entry[0].systems):
            if name in index:
                raise ValueError(f"identifier system {name} is registered twice")
            index[name] = entry
    return MappingProxyType(index)


_BY_SYSTEM = _index()


def system_for(system_uri_or_oid: str) -> IdentifierSystem | None:
    """The registered system for a FHIR system URI, ``urn:oid:X`` or bare OID, if any."""
    entry = _BY_SYSTEM.get(normalize_system(system_uri_or_oid))
    return entry[0] if entry else None


def country_of(system_uri_or_oid: str) -> str | None:
    """The ISO 3166-1 alpha-2 country a system belongs to, or None when it is unknown."""
    system = system_for(system_uri_or_oid)
    return system.country if system else None


def check(system_uri_or_oid: str, value: str) -> CheckResult:
    """Check ``value`` against its system's format and check digit."""
    entry = _BY_SYSTEM.get(normalize_system(system_uri_or_oid))
    if entry is None:
        return CheckResult(valid=True, known=False, checked=False)
    return _run(entry, value)


# Spellings a clerk or a system may add: blanks, dots, dashes, slashes, lower case. The
# canonical value is the number as its issuer writes it without separators.
_SEPARATORS = str.maketrans("", "", " .-/\t")
# Whose separators carry meaning and stay: a personnummer's "+" or "-" tells the century.
_KEEP_SPELLING = frozenset({"se-personnummer", "se-samordningsnummer"})


def normalize_value(key: str | None, value: str) -> str:
    """``value`` in its canonical spelling for the algorithm ``key``: separators removed and
    letters upper-cased, so ``a123 456 780`` and ``A123456780`` are one identifier. Unknown or
    absent keys keep the value as given (trimmed): its spelling may carry meaning."""
    trimmed = value.strip()
    if key is None or key in _KEEP_SPELLING or by_key(key) is None:
        return trimmed
    return trimmed.translate(_SEPARATORS).upper()


def by_key(key: str) -> IdentifierSystem | None:
    """The registered system whose algorithm key is ``key`` (``it-codice-fiscale``)."""
    return next((system for system, _ in _REGISTRY if system.key == key), None)


def check_with(key: str, value: str) -> CheckResult:
    """Check ``value`` with the algorithm of the system registered as ``key``; a profile names
    its algorithm this way, whatever system URI it writes the identifier with."""
    entry = next((entry for entry in _REGISTRY if entry[0].key == key), None)
    if entry is None:
        return CheckResult(valid=True, known=False, checked=False)
    return _run(entry, value)


def _run(entry: _Entry, value: str) -> CheckResult:
    if not value.strip():
        return CheckResult(valid=False, reason="empty value")
    validator = entry[1]
    if validator is None:
        return CheckResult(valid=True, checked=False)
    if not value.isascii():
        # python-stdnum reads look-alikes (fullwidth digits, other dashes) as their ASCII
        # twins: a homoglyph spelling would pass the check yet be stored as another identifier.
        return CheckResult(valid=False, reason="characters or layout not allowed")
    try:
        validator(value)
    except ValidationError as exc:
        return CheckResult(valid=False, reason=_reason(exc))
    return CheckResult(valid=True)


def _reason(exc: ValidationError) -> str:
    # Fixed phrases only: python-stdnum's own messages are generic today, but nothing
    # guarantees they never echo the number.
    return next((text for kind, text in _REASONS if isinstance(exc, kind)), "not valid")
