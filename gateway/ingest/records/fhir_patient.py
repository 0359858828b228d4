"""A FHIR Patient to the record's :class:`~gateway.domain.records.Patient`.

Identifiers: those of national systems (a rule of the profile, or a system the gateway's
registry knows) are read, a hospital's own numbers only when the profile says; checking them is
the engine's work. Names: the uses the profile lists, in its order, then names without a use,
each keeping its use (an official name, a call name, a German Geburtsname as ``maiden``);
a family name sent only as its parts (German Namenszusatz and Vorsatzwort, Dutch own and partner
names) is composed as the profile's ``family_name`` says. Addresses and telecoms marked ``old``
are history, not contact details, and are left out.
"""

from __future__ import annotations

from typing import cast, get_args

from gateway.domain.clinical_values import NameUse, TelecomSystem
from gateway.domain.records import (
    Address,
    HumanName,
    Identifier,
    Patient,
    Sex,
    Telecom,
    check_date,
)
from gateway.errors import RecordRejected
from gateway.ingest.records.fhir_mapping import FamilyName, PatientMapping
from gateway.ingest.records.fhir_tree import Node
from gateway.ingest.records.fhir_values import Context
from gateway.profiles import identifiers

__all__ = ["read_patient"]

_OLD = "old"
_ISO_ALPHA2_LENGTH = 2
_TELECOM_SYSTEMS = get_args(TelecomSystem)


def read_patient(node: Node, mapping: PatientMapping, context: Context) -> Patient:
    """The patient ``node`` describes.

    :raises RecordRejected: without a name the profile reads, or with an impossible birth
        date, an unknown gender or a malformed telecom.
    """
    names = _names(node, mapping)
    if not names:
        raise RecordRejected("the patient has no name of a use the profile reads", node.at("name"))
    try:
        return Patient(
            identifiers=tuple(_identifiers(node, mapping, context)),
            names=names,
            birth_date=_birth_date(node),
            gender=_gender(node),
            addresses=tuple(_addresses(node, mapping, context)),
            telecoms=tuple(_telecoms(node)),
        )
    except ValueError as exc:
        raise RecordRejected(str(exc), node.path) from None


def _identifiers(node: Node, mapping: PatientMapping, context: Context) -> list[Identifier]:
    found = []
    for identifier in node.all("identifier"):
        system, value = identifier.text("system"), identifier.text("value")
        if identifier.text("use") == _OLD or value is None:
            continue
        if system is None:
            context.note(identifier.path, "an identifier without a system is not read")
        elif mapping.local_identifiers or _national(system, context):
            found.append(Identifier(system, value))
        else:
            context.note(identifier.path, f"{system} is not a national system: not sent")
    return found


def _national(system: str, context: Context) -> bool:
    if context.profile.identifier_rule(system) is not None:
        return True
    known = identifiers.system_for(system)
    return known is not None and known.person


def _names(node: Node, mapping: PatientMapping) -> tuple[HumanName, ...]:
    ranked = []
    for index, name in enumerate(node.all("name")):
        use = name.text("use")
        if use is not None and use not in mapping.name_uses:
            continue
        rank = mapping.name_uses.index(use) if use is not None else len(mapping.name_uses)
        made = _name(name, mapping.family_name)
        if made is not None:
            ranked.append((rank, index, made))
    return tuple(made for _, _, made in sorted(ranked, key=lambda item: item[:2]))


def _name(name: Node, family_name: FamilyName | None) -> HumanName | None:
    family = name.text("family")
    if family is None and family_name is not None:
        family = _composed_family(name, family_name)
    given = tuple(name.texts("given"))
    text = name.text("text")
    if family is None and not given and text is None:
        return None
    use = cast(NameUse | None, name.text("use"))  # one of the profile's name_uses
    try:
        return HumanName(family, given, text, use)
    except ValueError as exc:  # a use the record does not know
        raise RecordRejected(str(exc), name.at("use")) from None


def _composed_family(name: Node, rules: FamilyName) -> str | None:
    """The family name from its parts (extensions on ``family``), as ``rules`` say."""
    parts = {
        url: value
        for extension in name.extensions("family")
        if (url := extension.text("url")) is not None
        and (value := extension.text("valueString")) is not None
    }
    groups = {
        group: " ".join(parts[url] for url in urls if url in parts)
        for group, urls in rules.parts.items()
    }
    order = rules.default_order
    if rules.order_extension is not None:
        marker = name.extension(rules.order_extension)
        code = marker.text("valueCode") if marker is not None else None
        order = rules.orders.get(code, order) if code is not None else order
    family = rules.separator.join(groups[g] for g in order if groups.get(g))
    return family or None


def _birth_date(node: Node) -> str | None:
    # `_birthDate` with a data-absent-reason and no value is "no birth date": the engine
    # refuses the record, as a summary needs one.
    value = node.text("birthDate")
    if value is None:
        return None
    try:
        return check_date(value, "birth date")
    except ValueError as exc:
        raise RecordRejected(str(exc), node.at("birthDate")) from None


def _gender(node: Node) -> Sex | None:
    value = node.text("gender")
    if value is None:
        return None
    try:
        return Sex(value)
    except ValueError:
        kinds = ", ".join(s.value for s in Sex)
        raise RecordRejected(f"gender is not one of {kinds}", node.at("gender")) from None


def _addresses(node: Node, mapping: PatientMapping, context: Context) -> list[Address]:
    found = []
    for address in node.all("address"):
        if address.text("use") == _OLD:
            continue
        lines = tuple(address.texts("line"))
        city, postal_code = address.text("city"), address.text("postalCode")
        country = _country(address, mapping, context)
        if lines or city or postal_code or country:
            found.append(Address(lines, city, postal_code, country))
    return found


def _country(address: Node, mapping: PatientMapping, context: Context) -> str | None:
    """The ISO 3166-1 alpha-2 country: as written, or from the profile's coded extension."""
    written = address.text("country")
    if written is None:
        return None
    if _alpha2(written):
        return written.upper()
    if mapping.country_extension is not None:
        extension = address.extension(mapping.country_extension, "country")
        coded = extension.get("valueCodeableConcept") if extension is not None else None
        for coding in coded.all("coding") if coded is not None else ():
            code = coding.text("code")
            if coding.text("system") in mapping.country_systems and _alpha2(code):
                return str(code).upper()
    context.note(address.at("country"), "not an ISO 3166-1 alpha-2 code: left out")
    return None


def _alpha2(code: str | None) -> bool:
    return (
        code is not None and len(code) == _ISO_ALPHA2_LENGTH and code.isascii() and code.isalpha()
    )


def _telecoms(node: Node) -> list[Telecom]:
    found = []
    for telecom in node.all("telecom"):
        system, value = telecom.text("system"), telecom.text("value")
        if telecom.text("use") == _OLD or system is None or value is None:
            continue
        if system not in _TELECOM_SYSTEMS:
            raise RecordRejected("not a FHIR contact point system", telecom.at("system"))
        found.append(Telecom(cast(TelecomSystem, system), value))
    return found
