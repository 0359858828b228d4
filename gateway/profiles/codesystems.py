"""Code system names as sources write them (CDA OIDs, HL7 v2 table 0396 names) -> FHIR URIs.

The OIDs are those ``reference/national-records.md`` §3 saw in eHDSI pivot documents; the v2
names are HL7 table 0396's. A profile's ``code_systems`` table is consulted first, so a member
state can add its national systems without code. An OID nobody knows becomes ``urn:oid:<OID>``,
which FHIR allows; a v2 name nobody knows has no URI, and the reader keeps the code as text.
"""

from __future__ import annotations

import re

from gateway.domain.clinical_values import ATC, ICD10, LOINC, SNOMED, UCUM
from gateway.profiles.model import Profile

__all__ = ["DEFAULT_SYSTEMS", "EDQM", "ICD9CM", "ICD_O_3", "system_uri"]

ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
ICD_O_3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
EDQM = "http://standardterms.edqm.eu"

_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")

DEFAULT_SYSTEMS: dict[str, str] = {
    # OIDs seen in eHDSI pivot CDA
    "2.16.840.1.113883.6.1": LOINC,
    "2.16.840.1.113883.6.96": SNOMED,
    "2.16.840.1.113883.6.73": ATC,
    "1.3.6.1.4.1.12559.11.10.1.3.1.44.2": ICD10,
    "2.16.840.1.113883.6.3": ICD10,
    "2.16.840.1.113883.6.103": ICD9CM,
    "2.16.840.1.113883.6.43.1": ICD_O_3,
    "2.16.840.1.113883.6.8": UCUM,
    "0.4.0.127.0.16.1.1.2.1": EDQM,
    "1.3.6.1.4.1.12559.11.10.1.3.1.44.1": EDQM,
    # HL7 v2 table 0396 names
    "LN": LOINC,
    "SCT": SNOMED,
    "SNM": SNOMED,
    "I10": ICD10,
    "I9C": ICD9CM,
    "ATC": ATC,
    "UCUM": UCUM,
    # FHIR URIs stand for themselves
    LOINC: LOINC,
    SNOMED: SNOMED,
    ATC: ATC,
    ICD10: ICD10,
    UCUM: UCUM,
    ICD9CM: ICD9CM,
    ICD_O_3: ICD_O_3,
}


def system_uri(name: str, profile: Profile | None = None) -> str | None:
    """The FHIR URI for a source's code system name, OID or URI; None when nobody knows it.

    The profile's table wins over the defaults; an unknown OID becomes ``urn:oid:<OID>``; an
    unknown absolute URI is taken as it is.
    """
    text = name.strip()
    if not text:
        return None
    bare = text[8:] if text.lower().startswith("urn:oid:") else text
    if profile is not None:
        found = profile.code_system(text) or profile.code_system(bare)
        if found:
            return found
    known = DEFAULT_SYSTEMS.get(bare) or DEFAULT_SYSTEMS.get(text)
    if known:
        return known
    if _OID.fullmatch(bare):
        return "urn:oid:" + bare
    if "://" in text or text.startswith("urn:"):
        return text
    return None
