"""Values a clinical record is made of: codes and concepts, quantities, FHIR date formats,
names, addresses, the patient and organisations (see :mod:`gateway.domain.records`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal, get_args

from gateway.domain.samples import Identifier, Sex

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
# IPS codes that state an absence ("no known allergies") as an entry of its own.
ABSENT_UNKNOWN = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"


class Section(StrEnum):
    """Patient summary sections, by LOINC code (also the consent categories ``section:<code>``)."""

    PROBLEMS = "11450-4"
    ALLERGIES = "48765-2"
    MEDICATIONS = "10160-0"
    RESULTS = "30954-2"
    IMMUNIZATIONS = "11369-6"
    PROCEDURES = "47519-4"
    DEVICES = "46264-8"
    VITAL_SIGNS = "8716-3"
    PAST_PROBLEMS = "11348-0"
    PREGNANCY = "10162-6"
    SOCIAL_HISTORY = "29762-2"
    ADVANCE_DIRECTIVES = "42348-3"
    FUNCTIONAL_STATUS = "47420-5"


# --- formats ----------------------------------------------------------------------------------

# The FHIR R4 regular expressions for date and dateTime (datatypes.html); a time needs a zone.
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_DATE = _YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?"
_TIME = (
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
    r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
_DATE_RE = re.compile(_DATE)
_DATETIME_RE = re.compile(_DATE + f"({_TIME})?")
_INSTANT_RE = re.compile(_YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])" + _TIME)
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")  # BCP-47, loosely
_CODE_RE = re.compile(r"[^\s]+( [^\s]+)*")
_SYSTEM_RE = re.compile(r"\S+")  # a regex beats a per-character loop on every Code made


_FORMATS = {
    "date": "YYYY, YYYY-MM or YYYY-MM-DD",
    "dateTime": "a date, or YYYY-MM-DDThh:mm:ss with a zone",
    "instant": "YYYY-MM-DDThh:mm:ss with a zone",
}

# Error messages say what is wrong and where, never the value itself: it may be patient data
# (a birth date), and messages end up in logs and responses.


def check_date(value: str, what: str = "value") -> str:
    """``value`` if it is a FHIR ``date`` (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``).

    ``what`` names the value in the error message (``"birth date"``).

    :raises ValueError: otherwise, or for a day that does not exist (``2023-02-30``).
    """
    return _checked(value, _DATE_RE, "date", what)


def check_datetime(value: str, what: str = "value") -> str:
    """``value`` if it is a FHIR ``dateTime`` (a date, or a full date and time with zone).

    :raises ValueError: otherwise, or for a day that does not exist.
    """
    return _checked(value, _DATETIME_RE, "dateTime", what)


def check_instant(value: str, what: str = "value") -> str:
    """``value`` if it is a FHIR ``instant``: a full date and time with zone, to the second.

    :raises ValueError: otherwise, or for a day that does not exist.
    """
    return _checked(value, _INSTANT_RE, "instant", what)


def _checked(value: str, pattern: re.Pattern[str], kind: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"{what} is not a FHIR {kind} ({_FORMATS[kind]})")
    if len(value) >= 10:
        try:
            date.fromisoformat(value[:10])  # the pattern allows 02-30; the calendar does not
        except ValueError:
            raise ValueError(f"{what} is a FHIR {kind} on a day that does not exist") from None
    return value


def require_text(value: str | None, what: str) -> None:
    if value is not None and not value.strip():
        raise ValueError(f"{what} is blank")


def one_of(value: object, allowed: object, what: str) -> None:
    if value is not None and value not in get_args(allowed):
        raise ValueError(f"{what} is not one of {get_args(allowed)}")


def optional_datetimes(**values: str | None) -> None:
    """Check each given dateTime; the keyword names it in the error (``onset=...``)."""
    for what, value in values.items():
        if value is not None:
            check_datetime(value, what.replace("_", " "))


def check_order(start: str | None, end: str | None, what: str) -> None:
    """Refuse an ``end`` before ``start`` (FHIR per-1), compared at their shared precision.

    Two full dateTimes compare as instants (zones taken into account); otherwise the dates
    compare on what both give: ``2020-05-01`` against ``2019`` compares the years.

    :raises ValueError: if both are given and ``end`` is before ``start``.
    """
    if start is None or end is None:
        return
    began, ended = _instant(start), _instant(end)
    if began is not None and ended is not None:
        before = ended < began
    else:  # the common prefix of the dates: the precision both have
        first, last = start[:10], end[:10]
        shared = min(len(first), len(last))
        before = last[:shared] < first[:shared]
    if before:
        raise ValueError(f"{what} ends before it starts")


def _instant(value: str) -> datetime | None:
    """A full dateTime as an aware datetime; None for a date or a leap second (``:60``)."""
    if len(value) <= 10:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- data types -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Code:
    """One coding: a code in a code system (a URI such as ``http://loinc.org`` or ``urn:oid:``)."""

    system: str
    code: str
    display: str | None = None

    def __post_init__(self) -> None:
        if not _SYSTEM_RE.fullmatch(self.system):
            raise ValueError("code system is not a URI (blank, or with whitespace)")
        if not _CODE_RE.fullmatch(self.code):
            raise ValueError("code is not a FHIR code (blank, or stray whitespace)")
        require_text(self.display, "display")


@dataclass(frozen=True, slots=True)
class Concept:
    """What a coded element means: codings from any systems, and the original text."""

    codings: tuple[Code, ...] = ()
    text: str | None = None

    def __post_init__(self) -> None:
        if not self.codings and self.text is None:
            raise ValueError("a concept needs a coding or a text")
        require_text(self.text, "concept text")

    @classmethod
    def of(cls, system: str, code: str, display: str | None = None) -> Concept:
        return cls((Code(system, code, display),))

    @property
    def label(self) -> str:
        """What a reader sees: the original text, else the first display, else the first code."""
        if self.text is not None:
            return self.text
        first = self.codings[0]
        return first.display or first.code

    def coding(self, system: str) -> Code | None:
        """The first coding in ``system``, if any."""
        return next((c for c in self.codings if c.system == system), None)


Comparator = Literal["<", "<=", ">=", ">"]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured amount; ``system`` + ``code`` give the coded unit (UCUM for results).

    ``comparator`` says the real value lies beyond ``value`` (a result reported as ``<0.5``:
    below the limit of detection), as FHIR ``Quantity.comparator`` does.
    """

    value: Decimal
    unit: str | None = None
    system: str | None = None
    code: str | None = None
    comparator: Comparator | None = None

    def __post_init__(self) -> None:
        if not self.value.is_finite():
            raise ValueError("quantity value is not a finite number")
        if self.code is not None and self.system is None:
            raise ValueError("a coded unit needs its system")  # FHIR qty-3
        require_text(self.unit, "unit")
        one_of(self.comparator, Comparator, "quantity comparator")


@dataclass(frozen=True, slots=True)
class DateValue:
    """An observation value that is a date or dateTime (a pregnancy's expected delivery date)."""

    date: str

    def __post_init__(self) -> None:
        check_datetime(self.date, "date value")


NameUse = Literal["usual", "official", "temp", "nickname", "anonymous", "old", "maiden"]


@dataclass(frozen=True, slots=True)
class HumanName:
    """A name; ``use`` tells a legal (``official``) name from the one in use (``usual``) or a
    birth name (``maiden``), as FHIR's NameUse does."""

    family: str | None = None
    given: tuple[str, ...] = ()
    text: str | None = None
    use: NameUse | None = None

    def __post_init__(self) -> None:
        if self.family is None and not self.given and self.text is None:
            raise ValueError("a name needs a family name, a given name or a text")
        for part in (self.family, self.text, *self.given):
            require_text(part, "name part")
        one_of(self.use, NameUse, "name use")


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...] = ()
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2, as the eHDSI country value set

    def __post_init__(self) -> None:
        parts = (*self.lines, self.city, self.postal_code, self.country)
        if all(part is None for part in parts):
            raise ValueError("an address needs at least one part")
        for part in parts:
            require_text(part, "address part")


TelecomSystem = Literal["phone", "fax", "email", "pager", "url", "sms", "other"]


@dataclass(frozen=True, slots=True)
class Telecom:
    system: TelecomSystem
    value: str

    def __post_init__(self) -> None:
        one_of(self.system, TelecomSystem, "telecom system")
        require_text(self.value, "telecom value")


@dataclass(frozen=True, slots=True)
class Patient:
    """Who the record is about. ``country``: the member state whose national system holds it."""

    identifiers: tuple[Identifier, ...]
    names: tuple[HumanName, ...]
    birth_date: str | None = None
    gender: Sex | None = None  # None: not recorded; Sex.UNKNOWN: recorded as unknown
    addresses: tuple[Address, ...] = ()
    telecoms: tuple[Telecom, ...] = ()
    country: str | None = None

    def __post_init__(self) -> None:
        # A summary must say whom it is about (IPS: Patient.name 1..*, ips-pat-1).
        if not self.names:
            raise ValueError("a patient needs at least one name")
        if self.birth_date is not None:
            check_date(self.birth_date, "birth date")


@dataclass(frozen=True, slots=True)
class Organization:
    """The author or custodian of a record (a hospital, a GP practice, a national service)."""

    name: str
    identifiers: tuple[Identifier, ...] = ()
    country: str | None = None

    def __post_init__(self) -> None:
        require_text(self.name, "organisation name")
