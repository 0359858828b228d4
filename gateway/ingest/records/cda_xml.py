"""What every part of the CDA reader shares: namespaces, precompiled paths, source locations,
narrative look-ups, and the reading context (profile, mapping, findings).

CDA R2 puts everything in ``urn:hl7-org:v3`` except the medication extension
(``pharm:``, whose namespace the profile names) and ``xsi:type``. Paths are compiled once with
:class:`lxml.etree.XPath`; the narrative's ``ID`` index is built on the first reference, in one
pass over the section texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar, cast

from lxml import etree

from gateway.errors import RecordRejected
from gateway.ingest.records.cda_mapping import CdaMapping
from gateway.profiles.codesystems import system_uri
from gateway.profiles.model import Finding, Profile

__all__ = [
    "V3",
    "XSI_TYPE",
    "Context",
    "Element",
    "attr",
    "child",
    "children",
    "first",
    "local_name",
    "location",
    "named",
    "nodes",
    "path",
    "plain_text",
    "rejecting",
    "text_of",
]

V3 = "urn:hl7-org:v3"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
_IN_V3 = f"{{{V3}}}"
NAMESPACES = {"h": V3}

Element = etree._Element
_UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_MAX_SYSTEMS = 1000
T = TypeVar("T")

# Narrative elements that separate words: their text must not run into the next cell's.
_BREAKS = frozenset(
    f"{{{V3}}}{name}"
    for name in ("td", "th", "tr", "br", "paragraph", "item", "caption", "list", "table")
)
# descendant:: rather than //: libxml2 expands // to descendant-or-self::node()/child::, which
# costs a sorted merge per text (five times slower on the W6 sample).
_NARRATIVE_IDS = etree.XPath(
    "h:component/h:structuredBody/h:component/h:section/h:text/descendant::*[@ID]",
    namespaces=NAMESPACES,
)


def path(expression: str) -> etree.XPath:
    """A compiled XPath in which ``h:`` is the CDA namespace."""
    return etree.XPath(expression, namespaces=NAMESPACES)


def nodes(expression: etree.XPath, element: Element) -> list[Element]:
    """The elements a compiled path selects from ``element``."""
    # Every path here selects elements; lxml types its result as any XPath value.
    return cast(list[Element], expression(element))


def first(expression: etree.XPath, element: Element) -> Element | None:
    return next(iter(nodes(expression, element)), None)


def child(element: Element, name: str) -> Element | None:
    """The first CDA child called ``name``."""
    return next(element.iterchildren(f"{{{V3}}}{name}"), None)


def children(element: Element, name: str) -> list[Element]:
    return list(element.iterchildren(f"{{{V3}}}{name}"))


def attr(element: Element | None, name: str) -> str | None:
    """An attribute's value without surrounding blanks; None when missing or blank."""
    if element is None:
        return None
    return (element.get(name) or "").strip() or None


def local_name(element: Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def plain_text(value: str | None) -> str | None:
    """``value`` with its whitespace collapsed; None when nothing is left."""
    if value is None:
        return None
    return " ".join(value.split()) or None


def text_of(element: Element) -> str | None:
    """The element's text content, cells and paragraphs kept apart, whitespace collapsed."""
    parts: list[str] = []
    _collect(element, parts)
    return plain_text("".join(parts))


def _collect(element: Element, parts: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for node in element:
        breaks = node.tag in _BREAKS
        if breaks:
            parts.append(" ")
        _collect(node, parts)
        if breaks:
            parts.append(" ")
        if node.tail:
            parts.append(node.tail)


def location(element: Element) -> str:
    """An XPath to ``element`` that a person can follow: local names, positions when needed.

    Elements outside the CDA namespace keep their document prefix (``pharm:code``).
    """
    steps: list[str] = []
    node: Element | None = element
    while node is not None:
        parent = node.getparent()
        name = local_name(node)
        if node.prefix and not str(node.tag).startswith(_IN_V3):
            name = f"{node.prefix}:{name}"
        if parent is not None:
            same = list(parent.iterchildren(node.tag))
            if len(same) > 1:
                name += f"[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


def rejecting(element: Element, make: Callable[[], T]) -> T:
    """``make()``, with the domain's ValueError turned into a rejection located at ``element``.

    The domain's messages name the rule that failed, never the value.
    """
    try:
        return make()
    except ValueError as exc:
        raise RecordRejected(str(exc), location(element)) from None


@dataclass
class Context:
    """One document being read: the profile, its mapping, and the findings so far."""

    profile: Profile
    mapping: CdaMapping
    root: Element
    findings: list[Finding] = field(default_factory=list)
    _narrative: dict[str, Element] | None = field(default=None, init=False, repr=False)

    def warn(self, element: Element, message: str) -> None:
        self.findings.append(Finding(location(element), message))

    def code_system(self, name: str) -> str | None:
        """The FHIR URI of a ``codeSystem`` OID (or UUID), through the profile's table; the
        answer is kept with the profile's compiled mapping for the next documents."""
        known = self.mapping.systems
        if name in known:
            return known[name]
        uri = (
            f"urn:uuid:{name.lower()}" if _UUID.fullmatch(name) else system_uri(name, self.profile)
        )
        if len(known) < _MAX_SYSTEMS:  # summaries name a few dozen; a flood of odd ones is not kept
            known[name] = uri
        return uri

    def referenced_text(self, holder: Element | None) -> str | None:
        """The narrative text a ``text`` or ``originalText`` element stands for.

        Its ``reference/@value`` (``#id``) points into the section narrative; without a
        reference, the element's own text is the text.
        """
        if holder is None:
            return None
        reference = next(named(holder, "reference"), None)
        if reference is None:
            return text_of(holder)
        target = attr(reference, "value") or ""
        if not target.startswith("#"):
            return None
        found = self._narrative_index().get(target[1:])
        return text_of(found) if found is not None else None

    def dangling(self, holder: Element) -> str | None:
        """The ``#id`` of a reference that points at nothing in the narrative, if any."""
        reference = next(named(holder, "reference"), None)
        if reference is None:
            return None
        target = attr(reference, "value") or ""
        if target.startswith("#") and target[1:] in self._narrative_index():
            return None
        return target or "(empty)"

    def _narrative_index(self) -> dict[str, Element]:
        if self._narrative is None:
            index: dict[str, Element] = {}
            for element in nodes(_NARRATIVE_IDS, self.root):
                index.setdefault(str(element.get("ID")), element)
            self._narrative = index
        return self._narrative


def named(element: Element, name: str) -> Iterator[Element]:
    """Children called ``name`` in any namespace (epSOS writes ``epsos:reference``)."""
    suffix = "}" + name
    return (c for c in element if isinstance(c.tag, str) and c.tag.endswith(suffix))
