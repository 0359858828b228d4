"""Shared by the readers: bytes to text, HL7 timestamps to FHIR dates, and safe XML parsing."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from gateway.domain.clinical_values import check_datetime
from gateway.errors import RecordError, RecordRejected

__all__ = ["decode_text", "hl7_datetime", "parse_xml"]

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_text(data: bytes, encoding: str = "utf-8") -> str:
    """``data`` as text: a BOM names its encoding and is dropped; otherwise ``encoding``.

    :raises RecordError: for bytes that are not valid in that encoding (says at which byte).
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            data, encoding = data[len(bom) :], name
            break
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise RecordError(f"not valid {encoding} text (byte {exc.start + 1})", "encoding") from None
    except LookupError:
        raise RecordError(f"unknown text encoding {encoding!r}", "encoding") from None


# HL7 v2 TS / CDA TS: YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]
_TS = re.compile(
    r"(?P<y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?(?P<H>\d{2})?(?P<M>\d{2})?(?P<S>\d{2})?"
    r"(?P<f>\.\d{1,4})?(?P<z>[+-]\d{4})?"
)


def hl7_datetime(value: str, timezone: str | None = None, where: str = "date") -> str:
    """An HL7 v2 or CDA timestamp as a FHIR ``date`` or ``dateTime``, keeping its precision.

    ``20230531`` -> ``2023-05-31``; ``202305311015+0200`` -> ``2023-05-31T10:15:00+02:00``. A
    time without a zone is placed in ``timezone`` (an IANA name from the profile); with no
    timezone it is cut to its date, since FHIR needs a zone with a time.

    :raises RecordRejected: for a malformed timestamp or a day or hour that does not exist.
    """
    match = _TS.fullmatch(value.strip())
    if match is None or (match["H"] and not match["M"]):
        raise RecordRejected("not an HL7 timestamp (YYYY[MM[DD[HHMM[SS]]]][+ZZZZ])", where)
    try:
        if match["m"] and match["d"]:
            date(int(match["y"]), int(match["m"]), int(match["d"]))
        elif match["m"] and not 1 <= int(match["m"]) <= 12:
            raise ValueError
    except ValueError:
        raise RecordRejected("a date that does not exist", where) from None
    day = "-".join(part for part in (match["y"], match["m"], match["d"]) if part)
    if not match["H"]:
        return _fhir(day, where)
    hour, minute, second = int(match["H"]), int(match["M"]), int(match["S"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise RecordRejected("a time that does not exist", where)
    clock = f"{hour:02d}:{minute:02d}:{second:02d}{match['f'] or ''}"
    if match["z"]:
        zone = f"{match['z'][:3]}:{match['z'][3:]}"
    elif timezone:
        zone = _offset(day, clock, timezone)
    else:
        return _fhir(day, where)
    return _fhir(f"{day}T{clock}{zone}", where)


def _offset(day: str, clock: str, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise RecordError(f"unknown timezone {timezone!r} in the profile", "profile") from None
    local = datetime.fromisoformat(f"{day}T{clock[:8]}").replace(tzinfo=zone)
    text = local.isoformat()
    return "Z" if text.endswith("+00:00") else text[-6:]


def _fhir(value: str, where: str) -> str:
    try:
        return check_datetime(value, where)
    except ValueError as exc:
        raise RecordRejected(str(exc), where) from None


def parse_xml(data: bytes) -> etree._Element:
    """The root element of an XML document, parsed without DTDs, entities or network access.

    A document that declares a DTD is refused outright, as defusedxml does: entity expansion
    bombs and external entities both need one. libxml2's own limits bound the rest.

    :raises RecordError: for malformed XML (with the line) or a DTD.
    """
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 1
        raise RecordError(f"malformed XML ({_libxml_message(exc)})", f"line {line}") from None
    docinfo = root.getroottree().docinfo
    doctype = getattr(docinfo, "doctype", "")  # lxml-stubs 0.5 lacks DocInfo.doctype
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise RecordError("documents may not declare a DTD or entities", "line 1")
    return root


def _libxml_message(exc: etree.XMLSyntaxError) -> str:
    # libxml2 messages name the construct (tag names, "Document is empty"), never text content.
    text = str(exc.msg or exc).split(", line ")[0]
    return text.strip() or "syntax error"
