"""PID to the record's patient: identifiers (CX), names (XPN), birth date, sex, addresses (XAD)
and telecoms (XTN), at the fields and with the tables the profile gives.

A name's use comes from its XPN-7 type through the profile's ``names.uses`` table (HL7 table
0200 -> FHIR NameUse). An identifier's system comes from its assigning authority (CX-4): the
profile's identifier rules (by OID or by the name the sender uses), then its ``authorities``
table, then the authority's own OID, then the profile's ``unknown_authority`` prefix. The
engine checks the values; the reader only names their systems.
"""

from __future__ import annotations

from urllib.parse import quote

from gateway.domain.clinical_values import NameUse, TelecomSystem
from gateway.domain.records import Address, HumanName, Identifier, Patient, Sex, Telecom
from gateway.errors import RecordRejected
from gateway.ingest.records.hl7v2_mapping import Hl7v2Mapping
from gateway.ingest.records.hl7v2_message import Rep, Segment, part
from gateway.ingest.records.hl7v2_types import HD, fhir_date, hd
from gateway.profiles.model import Finding, Profile

__all__ = ["read_patient"]

# HL7 table 0202 (telecommunication equipment type) -> FHIR ContactPoint.system, as the
# v2-to-FHIR ConceptMap has it; a cell phone is a phone.
_EQUIPMENT: dict[str, TelecomSystem] = {
    "PH": "phone",
    "CP": "phone",
    "FX": "fax",
    "BP": "pager",
    "INTERNET": "email",
    "X.400": "email",
    "MD": "other",
    "SAT": "other",
    "TDD": "other",
    "TTY": "other",
}
_EMAIL_USE = "NET"  # XTN-2 (table 0201): a network (email) address


def read_patient(
    pid: Segment, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> Patient:
    """The patient PID describes.

    :raises RecordRejected: when PID names no one (no name) or holds an impossible birth date.
    """
    names = _names(pid, mapping, found)
    if not names:
        raise RecordRejected("the patient has no name", pid.where(mapping.names))
    birth = pid.where(mapping.birth_date)
    try:
        return Patient(
            identifiers=_identifiers(pid, mapping, profile, found),
            names=names,
            birth_date=fhir_date(pid.value(mapping.birth_date), profile, birth),
            gender=_sex(pid, mapping, found),
            addresses=_addresses(pid, mapping, found),
            telecoms=_telecoms(pid, mapping),
        )
    except ValueError as exc:
        raise RecordRejected(str(exc), pid.label) from None


# --- identifiers ------------------------------------------------------------------------------


def _identifiers(
    pid: Segment, mapping: Hl7v2Mapping, profile: Profile, found: list[Finding]
) -> tuple[Identifier, ...]:
    field = mapping.identifiers
    kept: list[Identifier] = []
    for number, rep in enumerate(pid.field(field), start=1):
        value, kind = part(rep, 1), part(rep, 5)
        if not value or (
            mapping.identifier_types is not None and kind not in mapping.identifier_types
        ):
            continue
        where = pid.where(field, number)
        authority = hd(rep[3] if len(rep) > 3 else ())
        system = _system(authority, mapping, profile)
        if system is None:
            found.append(Finding(where, _unknown_authority(authority)))
            continue
        kept.append(Identifier(system, value))
        _check_qualified(pid, kind, where, mapping, found)
    return tuple(dict.fromkeys(kept))


def _system(authority: HD, mapping: Hl7v2Mapping, profile: Profile) -> str | None:
    names = [name for name in (authority.uri, authority.universal_id, authority.namespace) if name]
    for name in names:
        rule = profile.identifier_rule(name)
        if rule is not None:
            return rule.system
    for name in names:
        if name in mapping.authorities:
            return mapping.authorities[name]
    if authority.uri is not None:
        return authority.uri
    if mapping.unknown_authority is not None and authority.name:
        return mapping.unknown_authority + quote(authority.name, safe="")
    return None


def _unknown_authority(authority: HD) -> str:
    if not authority.name:
        return "identifier names no assigning authority (CX-4): left out"
    return f"assigning authority {authority.name} is not known to the profile: left out"


def _check_qualified(
    pid: Segment, kind: str, where: str, mapping: Hl7v2Mapping, found: list[Finding]
) -> None:
    rule = mapping.qualification
    if rule is None or kind not in rule.types:
        return
    status = pid.value(rule.field)
    if status not in rule.codes:
        shown = status or "empty"
        found.append(
            Finding(
                where,
                f"identity status {shown} ({pid.where(rule.field)}) does not qualify "
                f"the {kind} identifier: kept, but not qualified",
            )
        )


# --- names ------------------------------------------------------------------------------------


def _names(pid: Segment, mapping: Hl7v2Mapping, found: list[Finding]) -> tuple[HumanName, ...]:
    field = mapping.names
    typed: list[tuple[str, HumanName]] = []
    for number, rep in enumerate(pid.field(field), start=1):
        kind = part(rep, 7)
        name = _name(rep, kind, mapping, pid.where(field, number), found)
        if name is not None:
            typed.append((kind, name))
    if mapping.name_types is None:
        return tuple(name for _, name in typed)
    order = {kind: n for n, kind in enumerate(mapping.name_types)}
    # Wanted types first, in the profile's order; a name with no type last; others left out.
    kept = [
        (order.get(kind, len(order)), name) for kind, name in typed if kind in order or not kind
    ]
    return tuple(name for _, name in sorted(kept, key=lambda item: item[0]))


def _name(
    rep: Rep, kind: str, mapping: Hl7v2Mapping, where: str, found: list[Finding]
) -> HumanName | None:
    family, first, further = part(rep, 1), part(rep, 2), part(rep, 3)
    if mapping.given_list and further:
        # IHE PAM France: XPN-3 lists every given name at birth, the first one included.
        listed = further.split()
        given = tuple(listed if listed[0] == first or not first else (first, *listed))
    else:
        given = tuple(name for name in (first, further) if name)
    if not family and not given:
        return None
    return HumanName(family or None, given, use=_use(kind, mapping, where, found))


def _use(kind: str, mapping: Hl7v2Mapping, where: str, found: list[Finding]) -> NameUse | None:
    """The FHIR use of a name of XPN-7 type ``kind``, as the profile's table says."""
    if mapping.name_uses is None or not kind:
        return None
    use = mapping.name_uses.get(kind.upper())
    if use is None and _kept(kind, mapping):
        found.append(Finding(where, f"name type {kind} is not in the profile's uses: no use"))
    return use


def _kept(kind: str, mapping: Hl7v2Mapping) -> bool:
    return mapping.name_types is None or kind in mapping.name_types


# --- sex, addresses, telecoms -----------------------------------------------------------------


def _sex(pid: Segment, mapping: Hl7v2Mapping, found: list[Finding]) -> Sex | None:
    if mapping.sex is None:
        return None
    code = pid.value(mapping.sex).upper()
    if not code:
        return None
    sex = mapping.sex_codes.get(code)
    if sex is None:
        found.append(
            Finding(pid.where(mapping.sex), f"sex code {code} is not in the profile: left out")
        )
    return sex


def _addresses(pid: Segment, mapping: Hl7v2Mapping, found: list[Finding]) -> tuple[Address, ...]:
    if mapping.addresses is None:
        return ()
    kept: list[Address] = []
    for number, rep in enumerate(pid.field(mapping.addresses), start=1):
        if part(rep, 7) in mapping.skip_address_types:
            continue  # a birth place (BDL) is not where the patient lives
        where = pid.where(mapping.addresses, number)
        lines = tuple(line for line in (_street(rep), part(rep, 2)) if line)
        city, postal = part(rep, 3) or None, part(rep, 5) or None
        country = _country(part(rep, 6), mapping, where, found)
        if lines or city or postal or country:
            kept.append(Address(lines, city, postal, country))
    return tuple(kept)


def _street(rep: Rep) -> str:
    # XAD-1 is an SAD: the street line, then (optionally) its street name and house number.
    parts = rep[0] if rep else ()
    line = parts[0] if parts else ""
    rest = [p for p in parts[1:3] if p and p not in line]
    return " ".join(p for p in (line, *rest) if p)


def _country(code: str, mapping: Hl7v2Mapping, where: str, found: list[Finding]) -> str | None:
    code = code.upper()
    if not code:
        return None
    if len(code) == 2 and code.isalpha():
        return code
    country = mapping.countries.get(code)
    if country is None:
        found.append(
            Finding(
                where,
                f"country {code} is not ISO 3166 alpha-2 nor in the profile's table: left out",
            )
        )
    return country


def _telecoms(pid: Segment, mapping: Hl7v2Mapping) -> tuple[Telecom, ...]:
    found = (_telecom(rep) for field in mapping.telecoms for rep in pid.field(field))
    return tuple(dict.fromkeys(t for t in found if t is not None))


def _telecom(rep: Rep) -> Telecom | None:
    equipment, use = part(rep, 3).upper(), part(rep, 2).upper()
    system = _EQUIPMENT.get(equipment, "email" if use == _EMAIL_USE else "phone")
    if system == "email":
        value = part(rep, 4) or part(rep, 1)
    else:
        value = part(rep, 12) or part(rep, 1) or _dialled(rep)
    return Telecom(system, value) if value else None


def _dialled(rep: Rep) -> str:
    # XTN-5 country code, XTN-6 area code, XTN-7 local number, XTN-8 extension
    country, area, local, extension = (part(rep, n) for n in (5, 6, 7, 8))
    if not local:
        return ""
    number = " ".join(p for p in (f"+{country}" if country else "", area, local) if p)
    return f"{number} ext. {extension}" if extension else number
