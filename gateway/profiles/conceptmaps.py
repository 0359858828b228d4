"""FHIR R4 ``ConceptMap`` resources as the profiles ship them, and translation through them.

Only what a terminology table needs is read: ``url``, and per ``group`` the ``source`` and
``target`` systems and each ``element``'s ``target`` codes with their ``equivalence``. Targets
marked ``unmatched`` or ``disjoint`` say there is no translation; ``equivalent``, ``equal``,
``wider``, ``subsumes``, ``narrower``, ``specializes``, ``relatedto`` and ``inexact`` give one,
and the equivalence travels with it so a caller can tell an exact mapping from a broader one.

No library here reads ConceptMaps without a FHIR server (fhir.resources would parse them, but
is a test-only dependency and 20x slower than this lookup), so the reader is ours.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = ["ConceptMap", "ConceptMapError", "Target", "load_concept_map"]

_NO_MATCH = frozenset({"unmatched", "disjoint"})
_EQUIVALENCES = frozenset(
    {
        "relatedto",
        "equivalent",
        "equal",
        "wider",
        "subsumes",
        "narrower",
        "specializes",
        "inexact",
        *_NO_MATCH,
    }
)


class ConceptMapError(ValueError):
    """A ConceptMap file that is not a usable R4 ConceptMap; the message names the file."""


@dataclass(frozen=True, slots=True)
class Target:
    system: str
    code: str
    display: str | None
    equivalence: str


@dataclass(frozen=True, slots=True)
class ConceptMap:
    url: str
    name: str
    # (source system, source code) -> targets, in file order
    table: Mapping[tuple[str, str], tuple[Target, ...]]

    @property
    def source_systems(self) -> frozenset[str]:
        return frozenset(system for system, _ in self.table)

    def translate(self, system: str, code: str) -> tuple[Target, ...]:
        """The targets for ``system``/``code``; empty when the map has no match."""
        return self.table.get((system, code), ())


def load_concept_map(path: Path) -> ConceptMap:
    """Read one ConceptMap JSON file.

    :raises ConceptMapError: if it is not JSON, not a ConceptMap, or lacks what a map needs.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConceptMapError(f"{path.name}: not a readable JSON file ({exc})") from None
    return parse_concept_map(data, path.name)


def parse_concept_map(data: Any, where: str) -> ConceptMap:
    if not isinstance(data, dict) or data.get("resourceType") != "ConceptMap":
        raise ConceptMapError(f"{where}: not a FHIR ConceptMap")
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise ConceptMapError(f"{where}: a ConceptMap needs a canonical url")
    table: dict[tuple[str, str], list[Target]] = {}
    for g, group in enumerate(_list(data, "group", where)):
        source, target = group.get("source"), group.get("target")
        if not isinstance(source, str) or not isinstance(target, str):
            raise ConceptMapError(f"{where}: group[{g}] needs a source and a target system")
        for e, element in enumerate(_list(group, "element", f"{where} group[{g}]")):
            code = element.get("code")
            if not isinstance(code, str) or not code:
                raise ConceptMapError(f"{where}: group[{g}].element[{e}] has no code")
            found = table.setdefault((source, code), [])
            found += _targets(element, target, f"{where}: group[{g}].element[{e}]")
    return ConceptMap(
        url=url,
        name=str(data.get("name") or url),
        table=MappingProxyType({key: tuple(targets) for key, targets in table.items()}),
    )


def _targets(element: dict[str, Any], system: str, where: str) -> list[Target]:
    found = []
    for t, target in enumerate(_list(element, "target", where)):
        equivalence = target.get("equivalence", "equivalent")
        if equivalence not in _EQUIVALENCES:
            raise ConceptMapError(f"{where}.target[{t}]: unknown equivalence {equivalence!r}")
        if equivalence in _NO_MATCH:
            continue
        code = target.get("code")
        if not isinstance(code, str) or not code:
            raise ConceptMapError(f"{where}.target[{t}] has no code")
        display = target.get("display")
        found.append(
            Target(system, code, display if isinstance(display, str) else None, equivalence)
        )
    return found


def _list(node: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = node.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConceptMapError(f"{where}: {key} is not a list of objects")
    return items
