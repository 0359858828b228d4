"""FHIR XML to the tree the FHIR JSON reader walks (FHIR R4 xml.html and json.html).

The rules of the FHIR XML format, turned into JSON's shape:

- elements are in the namespace ``http://hl7.org/fhir``; a primitive's value is its ``value``
  attribute, and its extensions (``<family value="..."><extension .../></family>``) go where
  JSON puts them, to ``_family``;
- an element whose only child is named like a resource (``<resource><Patient>``, ``contained``)
  holds that resource, which gets its ``resourceType``;
- the ``url`` attribute of an extension and the ``id`` attribute of an element are kept;
- the narrative's XHTML ``div`` is skipped: the reader never uses the source's narrative.

Which elements repeat is in the FHIR definitions, not in the XML: an element that occurs once
stays a single value and a repeated one becomes a list, and the reader's accessors
(:class:`~gateway.ingest.records.fhir_tree.Node`) take either. The XML is parsed only by
:func:`~gateway.ingest.records.text.parse_xml` (no DTD, entities or network).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from gateway.errors import RecordError
from gateway.ingest.records.text import parse_xml

__all__ = ["FHIR_NAMESPACE", "parse_fhir_xml"]

FHIR_NAMESPACE = "http://hl7.org/fhir"
_FHIR = "{" + FHIR_NAMESPACE + "}"
_NS_LENGTH = len(_FHIR)
_EXTENSION = _FHIR + "extension"
_XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"


def parse_fhir_xml(data: bytes) -> dict[str, Any]:
    """The resource in ``data`` as FHIR JSON would write it.

    :raises RecordError: for malformed XML or a DTD (with the line), or an element outside the
        FHIR namespace (with its line).
    """
    root = parse_xml(data)
    if not root.tag.startswith(_FHIR):
        raise RecordError(
            f"not FHIR XML: the root element is not in the {FHIR_NAMESPACE} namespace",
            f"line {root.sourceline}",
        )
    return _resource(root)


_Child = tuple[str, etree._Element]  # (tag, element)
# (is it a primitive?, its value or its object, a primitive's id and extensions)
_Item = tuple[bool, Any, dict[str, Any] | None]


def _resource(element: etree._Element) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": element.tag[_NS_LENGTH:]}
    _fill(out, element, _children(element))
    return out


def _fill(out: dict[str, Any], element: etree._Element, children: list[_Child]) -> None:
    """Put ``element``'s attributes and children into ``out``, grouped by name in order."""
    url, element_id = element.get("url"), element.get("id")
    if url is not None:
        out["url"] = url
    if element_id is not None:
        out["id"] = element_id
    groups: dict[str, list[_Item]] = {}
    for tag, child in children:
        if tag == _XHTML_DIV:
            continue
        if not tag.startswith(_FHIR):
            raise RecordError(
                f"an element outside the {FHIR_NAMESPACE} namespace", f"line {child.sourceline}"
            )
        groups.setdefault(tag[_NS_LENGTH:], []).append(_item(child))
    for name, items in groups.items():
        _place(out, name, items)


def _children(element: etree._Element) -> list[_Child]:
    # parse_xml drops comments and processing instructions; entities are never resolved. Each
    # tag is read once: lxml makes a new string on every access.
    return [(tag, child) for child in element if isinstance(tag := child.tag, str)]


def _item(element: etree._Element) -> _Item:
    """One element: a primitive has a ``value``, or only extensions (a value sent as absent),
    or nothing; an extension (it has a ``url``) is complex even when it holds only extensions.
    """
    value = element.get("value")
    if value is not None and not len(element) and element.get("id") is None:
        return True, value, None  # most elements: a plain primitive
    children = _children(element)
    if element.get("url") is None and (
        value is not None or all(tag == _EXTENSION for tag, _ in children)
    ):
        return True, value, _primitive_extras(element, children)
    if len(children) == 1 and children[0][0][_NS_LENGTH : _NS_LENGTH + 1].isupper():
        # FHIR element names start in lower case, resource type names in upper case.
        return False, _resource(children[0][1]), None
    out: dict[str, Any] = {}
    _fill(out, element, children)
    return False, out, None


def _primitive_extras(element: etree._Element, children: list[_Child]) -> dict[str, Any] | None:
    extras: dict[str, Any] = {}
    if element.get("id") is not None:
        extras["id"] = element.get("id")
    if children:
        extras["extension"] = [_item(child)[1] for _, child in children]
    return extras or None


def _place(out: dict[str, Any], name: str, items: list[_Item]) -> None:
    if len(items) == 1:  # most elements occur once; only a primitive has extras
        _, value, extras = items[0]
        if value is not None:
            out[name] = value
        if extras is not None:
            out["_" + name] = extras
        return
    if not all(primitive for primitive, _, _ in items):
        out[name] = [value if not primitive else extras or {} for primitive, value, extras in items]
        return
    # JSON keeps a repeated primitive and its extensions in two aligned lists.
    values = [value for _, value, _ in items]
    aligned = [extras for _, _, extras in items]
    if any(v is not None for v in values):
        out[name] = values
    if any(x is not None for x in aligned):
        out["_" + name] = aligned
