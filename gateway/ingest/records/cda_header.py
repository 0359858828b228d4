"""The CDA header: which document this is, whom it is about, who wrote and who keeps it.

eHDSI PS pivot documents carry one ``recordTarget/patientRole`` (identifiers, address,
telecom, and the ``patient`` with name, sex and birth time), an ``author`` whose
``representedOrganization`` is the authoring organisation, and a ``custodian``. A name's
``@use`` becomes its FHIR use through the profile's ``name_uses``; the qualifiers of name parts
(a birth name ``family qualifier="BR"``, a call name ``given qualifier="CL"``) are not read:
the parts of one name make one name.
"""

from __future__ import annotations

import re

from gateway.domain.clinical_values import LANGUAGE_TAG, NameUse
from gateway.domain.records import (
    Address,
    HumanName,
    Identifier,
    Organization,
    Patient,
    Sex,
    Telecom,
)
from gateway.errors import RecordRejected
from gateway.ingest.records.cda_values import timestamp
from gateway.ingest.records.cda_xml import (
    Context,
    Element,
    attr,
    child,
    children,
    location,
    nodes,
    path,
    rejecting,
    text_of,
)

__all__ = ["document_key", "language", "organisations", "patient", "source_date"]

_ROOT = "/ClinicalDocument"
_OID = re.compile(r"[0-2](\.(0|[1-9][0-9]*))+")
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_AUTHORS = path("h:author/h:assignedAuthor/h:representedOrganization")
_CUSTODIAN = path("h:custodian/h:assignedCustodian/h:representedCustodianOrganization")
# FHIR's way to write an identifier that is a bare OID or UUID (an II with a root only).
_RFC3986 = "urn:ietf:rfc:3986"


# --- the document -----------------------------------------------------------------------------


def document_key(root: Element) -> str:
    """``root^extension`` of the ``setId`` (stable across versions), else of the ``id``.

    :raises RecordRejected: when the document has neither.
    """
    for name in ("setId", "id"):
        element = child(root, name)
        key = _instance(element) if element is not None else None
        if key is not None:
            return key
    raise RecordRejected("the document has no id", f"{_ROOT}/id")


def _instance(element: Element) -> str | None:
    root, extension = attr(element, "root"), attr(element, "extension")
    if root is None:
        return None
    return f"{root}^{extension}" if extension else root


def source_date(ctx: Context, root: Element) -> str | None:
    """When the document was made: the national record's last change."""
    return timestamp(ctx, child(root, "effectiveTime"))


def language(ctx: Context, root: Element) -> str | None:
    element = child(root, "languageCode")
    code = attr(element, "code")
    if element is not None and code is not None and not LANGUAGE_TAG.fullmatch(code):
        ctx.warn(element, "languageCode is not a BCP-47 language tag: left out")
        return None
    return code


# --- the patient ------------------------------------------------------------------------------


def patient(ctx: Context, root: Element) -> Patient:
    """The one patient of ``recordTarget/patientRole``.

    :raises RecordRejected: when the document names no patient, several, or one without a
        name (a summary must say whom it is about), or an impossible birth time.
    """
    targets = children(root, "recordTarget")
    if not targets:
        raise RecordRejected("the document names no patient", f"{_ROOT}/recordTarget")
    if len(targets) > 1:
        raise RecordRejected("a patient summary is about one patient", location(targets[1]))
    role = child(targets[0], "patientRole")
    if role is None:
        raise RecordRejected(
            "recordTarget has no patientRole", f"{location(targets[0])}/patientRole"
        )
    person = child(role, "patient")
    if person is None:
        raise RecordRejected("patientRole has no patient", f"{location(role)}/patient")
    names = tuple(filter(None, (_name(ctx, e) for e in children(person, "name"))))
    if not names:
        raise RecordRejected("the patient has no name", f"{location(person)}/name")
    identifiers = tuple(filter(None, (_patient_id(ctx, e) for e in children(role, "id"))))
    birth = timestamp(ctx, child(person, "birthTime"))
    addresses = tuple(filter(None, map(_address, children(role, "addr"))))
    telecoms = tuple(filter(None, (_telecom(ctx, e) for e in children(role, "telecom"))))
    return rejecting(
        person,
        lambda: Patient(
            identifiers=identifiers,
            names=names,
            birth_date=birth[:10] if birth else None,  # a birth time's day, in its own zone
            gender=_gender(ctx, child(person, "administrativeGenderCode")),
            addresses=addresses,
            telecoms=telecoms,
        ),
    )


def _patient_id(ctx: Context, element: Element) -> Identifier | None:
    if element.get("nullFlavor"):
        return None
    root, extension = attr(element, "root"), attr(element, "extension")
    if root is None or extension is None:
        ctx.warn(element, "a patient id needs a root and an extension: left out")
        return None
    rule = ctx.profile.identifier_rule(root)
    system = rule.system if rule is not None else _id_system(root)
    if system is None:
        ctx.warn(element, "a patient id whose root is not an OID or UUID: left out")
        return None
    return Identifier(system, extension)


def _id_system(root: str) -> str | None:
    if _OID.fullmatch(root):
        return f"urn:oid:{root}"
    if _UUID.fullmatch(root):
        return f"urn:uuid:{root.lower()}"
    return None


def _name(ctx: Context, element: Element) -> HumanName | None:
    if element.get("nullFlavor"):
        return None
    family = " ".join(filter(None, map(text_of, children(element, "family")))) or None
    given = tuple(filter(None, map(text_of, children(element, "given"))))
    if family is None and not given:
        text = text_of(element)  # an unstructured name
        return HumanName(text=text, use=_name_use(ctx, element)) if text else None
    return HumanName(family, given, use=_name_use(ctx, element))


def _name_use(ctx: Context, element: Element) -> NameUse | None:
    """The use of a name: ``@use`` is a set of codes, and the first the profile knows wins."""
    codes = (element.get("use") or "").split()
    table = ctx.mapping.name_uses
    use = next((table[code] for code in codes if code in table), None)
    if codes and use is None:
        ctx.warn(element, f"name use {' '.join(codes)} is not in the profile: left out")
    return use


def _gender(ctx: Context, element: Element | None) -> Sex | None:
    if element is None:
        return None
    key = attr(element, "code") or attr(element, "nullFlavor")
    if key is None:
        return None
    sex = ctx.mapping.gender.get(key)
    if sex is None:
        ctx.warn(element, "administrativeGenderCode is not in the profile: left out")
    return sex


def _address(element: Element) -> Address | None:
    if element.get("nullFlavor"):
        return None
    lines = tuple(filter(None, map(text_of, children(element, "streetAddressLine"))))
    if not lines:  # the parts of a line (street name, house number)
        parts = (
            text_of(e) for name in ("streetName", "houseNumber") for e in children(element, name)
        )
        lines = tuple(filter(None, [" ".join(filter(None, parts))]))
    city, postal_code, country = (
        _part(element, name) for name in ("city", "postalCode", "country")
    )
    if not (lines or city or postal_code or country):
        return None
    return Address(lines, city, postal_code, country)


def _part(element: Element, name: str) -> str | None:
    found = child(element, name)
    return text_of(found) if found is not None else None


def _telecom(ctx: Context, element: Element) -> Telecom | None:
    value = attr(element, "value")
    if element.get("nullFlavor") or value is None:
        return None
    scheme, colon, rest = value.partition(":")
    system = ctx.mapping.telecom.get(scheme.lower()) if colon else None
    if system is None:
        return Telecom("other", value)
    if system == "url":
        return Telecom(system, value)  # a URL keeps its scheme
    rest = rest.strip()
    return Telecom(system, rest) if rest else None


# --- organisations ----------------------------------------------------------------------------


def organisations(ctx: Context, root: Element) -> tuple[Organization | None, Organization | None]:
    """The author's organisation (the first author that names one) and the custodian."""
    author = next(filter(None, (_organization(ctx, e) for e in nodes(_AUTHORS, root))), None)
    custodian = next(filter(None, (_organization(ctx, e) for e in nodes(_CUSTODIAN, root))), None)
    return author, custodian


def _organization(ctx: Context, element: Element) -> Organization | None:
    name = _part(element, "name")
    if name is None:
        return None
    identifiers = tuple(filter(None, map(_organization_id, children(element, "id"))))
    address = child(element, "addr")
    country = _part(address, "country") if address is not None else None
    return rejecting(
        element,
        lambda: Organization(
            name, identifiers, country if country and _COUNTRY.fullmatch(country) else None
        ),
    )


def _organization_id(element: Element) -> Identifier | None:
    root, extension = attr(element, "root"), attr(element, "extension")
    system = _id_system(root) if root is not None else None
    if element.get("nullFlavor") or system is None:
        return None
    return Identifier(system, extension) if extension else Identifier(_RFC3986, system)
