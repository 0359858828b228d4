"""HL7 v2 data types the reader needs, read from one repetition: CWE/CE/CNE to a concept, TS/DTM
to a FHIR date, HD (an assigning authority or facility) to its parts.

Coded values follow HL7 v2-to-FHIR: each triplet (1-3, 4-6, 10-12) whose coding system the
profile or table 0396 names becomes a coding, CWE-9 (original text) becomes the text. A
triplet whose system nobody names is kept as text, with a finding, and never dropped
(``reference/national-records.md`` §4).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.domain.records import Code, Concept
from gateway.errors import RecordRejected
from gateway.ingest.records.hl7v2_message import Rep, part
from gateway.ingest.records.text import hl7_datetime
from gateway.profiles.codesystems import system_uri
from gateway.profiles.model import Finding, Profile

__all__ = ["HD", "concept", "fhir_date", "fhir_datetime", "hd"]

_TRIPLETS = ((1, 2, 3), (4, 5, 6), (10, 11, 12))
_ORIGINAL_TEXT = 9
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")


def concept(
    rep: Rep,
    profile: Profile,
    where: str,
    findings: list[Finding],
    *,
    text: str = "",
) -> Concept | None:
    """The concept a CWE (or CE, CNE) repetition codes; None when it is empty.

    ``text`` is the segment's own description of the code (DG1-4, PR1-4), used when CWE-9
    gives none.
    """
    codings: list[Code] = []
    unnamed: list[str] = []
    for code_at, display_at, system_at in _TRIPLETS:
        code, display, system = (part(rep, n) for n in (code_at, display_at, system_at))
        if not code:
            continue
        uri = system_uri(system, profile) if system else None
        if uri is None:
            findings.append(Finding(where, _unnamed(system, code)))
            unnamed.append(display or code)
            continue
        codings.append(_code(uri, code, display, where))
    original = part(rep, _ORIGINAL_TEXT) or text or (unnamed[0] if unnamed else "")
    if not codings and not original:
        return None
    return Concept(tuple(dict.fromkeys(codings)), original or None)


def _unnamed(system: str, code: str) -> str:
    if not system:
        return f"code {code} names no coding system: kept as text"
    return f"coding system {system} is not one the profile or HL7 table 0396 names: kept as text"


def _code(system: str, code: str, display: str, where: str) -> Code:
    try:
        return Code(system, code, display or None)
    except ValueError as exc:
        raise RecordRejected(str(exc), where) from None


def fhir_datetime(value: str, profile: Profile, where: str) -> str | None:
    """A TS/DTM value (its first component) as a FHIR dateTime; None when empty."""
    stamp = value.strip()
    return hl7_datetime(stamp, profile.timezone, where) if stamp else None


def fhir_date(value: str, profile: Profile, where: str) -> str | None:
    """A TS/DTM/DT value as a FHIR date: the day as the sender wrote it (a birth time is cut)."""
    moment = fhir_datetime(value, profile, where)
    return None if moment is None else moment[:10]


@dataclass(frozen=True, slots=True)
class HD:
    """A hierarchic designator: namespace id, universal id and its type (ISO, UUID, URI...)."""

    namespace: str
    universal_id: str
    universal_type: str

    @property
    def uri(self) -> str | None:
        """The universal id as a URI, when its type says how to write it."""
        kind = self.universal_type.upper()
        if not self.universal_id:
            return None
        if kind == "ISO" and _OID.fullmatch(self.universal_id):
            return "urn:oid:" + self.universal_id
        if kind in ("UUID", "GUID"):
            return "urn:uuid:" + self.universal_id.lower()
        if kind == "URI" and ":" in self.universal_id:
            return self.universal_id
        return None

    @property
    def name(self) -> str:
        return self.namespace or self.universal_id


def hd(values: tuple[str, ...]) -> HD:
    """An HD from its three parts (subcomponents inside CX-4, components in MSH-4)."""
    padded = (*values, "", "", "")
    return HD(padded[0], padded[1], padded[2])
