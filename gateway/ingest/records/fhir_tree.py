"""A FHIR resource as the FHIR reader walks it, whichever format it came in.

FHIR JSON is read as it is (dicts, lists, strings, numbers); FHIR XML is first turned into the
same shape by :mod:`gateway.ingest.records.fhir_xml`. XML cannot say which elements repeat, so
there a single occurrence stays a single value: every accessor here takes one or many, and
refuses many where FHIR allows one. A :class:`Node` knows where it is (a FHIRPath such as
``Bundle.entry[2].resource.code``), so every error names its place; messages never quote the
value, which may be patient data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gateway.errors import RecordError

__all__ = ["Node"]

# FHIR R4 decimal and integer (datatypes.html); XML gives every primitive as a string.
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"0|[-+]?[1-9][0-9]{0,9}")


class Node:
    """One JSON object of a resource (the resource itself, a CodeableConcept, an extension).

    The location is kept as a link to the parent and built only when asked for: a reader
    walks many nodes and names few.
    """

    __slots__ = ("_index", "_parent", "_step", "data")

    def __init__(
        self,
        data: Mapping[str, Any],
        step: str,
        parent: Node | None = None,
        index: int | None = None,
    ) -> None:
        self.data = data
        self._step = step
        self._parent = parent
        self._index = index

    @property
    def path(self) -> str:
        """Where this node is: ``Bundle.entry[3].resource.code``."""
        head = f"{self._parent.path}.{self._step}" if self._parent is not None else self._step
        return head if self._index is None else f"{head}[{self._index}]"

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def get(self, key: str) -> Node | None:
        """The complex element ``key`` (0..1), if present."""
        value = self.data.get(key)
        if isinstance(value, list):
            value = _single(value, self, key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise RecordError("is not a JSON object (a FHIR complex element)", self.at(key))
        return Node(value, key, self)

    def all(self, key: str) -> list[Node]:
        """The complex element ``key`` (0..*), one or many."""
        value = self.data.get(key)
        if value is None:
            return []
        if isinstance(value, dict):
            return [Node(value, key, self, 0)]
        if not isinstance(value, list):
            raise RecordError("is not a JSON object (a FHIR complex element)", f"{self.at(key)}[0]")
        found = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                found.append(Node(item, key, self, index))
            elif item is not None:
                raise RecordError(
                    "is not a JSON object (a FHIR complex element)", f"{self.at(key)}[{index}]"
                )
        return found

    def text(self, key: str) -> str | None:
        """The primitive ``key`` (0..1) as a string; None when absent or blank."""
        value = self.data.get(key)
        if isinstance(value, list):
            value = _single(value, self, key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise RecordError("is not a string", self.at(key))
        return value if value and not value.isspace() else None

    def texts(self, key: str) -> list[str]:
        """The primitive ``key`` (0..*) as strings; absent and blank items are left out.

        JSON aligns a repeated primitive with its extensions (``"given": [null, "Jo"]``), so
        nulls are allowed here.
        """
        value = self.data.get(key)
        items = value if isinstance(value, list) else [value]
        found = []
        for index, item in enumerate(items):
            if item is None:
                continue
            if not isinstance(item, str):
                raise RecordError("is not a string", f"{self.at(key)}[{index}]")
            if item and not item.isspace():
                found.append(item)
        return found

    def decimal(self, key: str) -> Decimal | None:
        """The primitive ``key`` (0..1) as a FHIR decimal."""
        value = _single(self.data.get(key), self, key)
        if value is None:
            return None
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            return Decimal(value)
        if isinstance(value, str) and _DECIMAL.fullmatch(value):
            return Decimal(value)
        raise RecordError("is not a FHIR decimal", self.at(key))

    def integer(self, key: str) -> int | None:
        """The primitive ``key`` (0..1) as a FHIR integer."""
        value = _single(self.data.get(key), self, key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            return int(value)
        raise RecordError("is not a FHIR integer", self.at(key))

    def extensions(self, key: str | None = None) -> list[Node]:
        """The extensions of this element, or of its primitive ``key`` (JSON ``_key``)."""
        if key is None:
            return self.all("extension")
        holder = self.get(f"_{key}")
        return holder.all("extension") if holder is not None else []

    def extension(self, url: str, key: str | None = None) -> Node | None:
        """The first extension with ``url`` on this element or on its primitive ``key``."""
        return next((e for e in self.extensions(key) if e.text("url") == url), None)


def _single(value: Any, node: Node, key: str) -> Any:
    if isinstance(value, list):
        if len(value) > 1:
            raise RecordError("repeats, but FHIR allows it once", node.at(key))
        return value[0] if value else None
    return value
