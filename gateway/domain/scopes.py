"""SMART on FHIR v2 scopes: what a scope string grants, and whether it covers a request.

Written here because authlib compares scopes as exact strings (``reference/
crossborder-security.md`` §3, pitfall 4): ``system/*.rs`` would not satisfy ``system/Patient.rs``
and ``.read`` would not be ``.rs``. The grammar is SMART App Launch 2.x §"Scopes for requesting
FHIR resources": ``(patient|user|system)/(<Type>|*).<cruds>[?param=value]``, the letters in that
order; v1 suffixes ``.read``, ``.write`` and ``.*`` mean ``rs``, ``cud`` and ``cruds``.

A query-restricted scope (``system/Observation.rs?category=laboratory``) grants only what its
restriction allows; the gateway enforces no restrictions yet, so such a scope never covers an
unrestricted need (refusing is the safe reading) but is kept when granted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Need", "Scope", "grantable", "parse_scopes", "permits"]

_LETTERS = "cruds"
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]{0,63})"
    r"\.(?P<actions>\*|read|write|[cruds]{1,5})(?:\?(?P<query>[^\s?]{1,256}))?$"
)
MAX_SCOPES = 64


@dataclass(frozen=True, slots=True)
class Scope:
    context: str  # patient, user or system
    resource: str  # a FHIR resource type, or * for all (including types added later)
    actions: frozenset[str]  # letters of cruds
    query: str | None = None  # a restriction such as category=laboratory

    @classmethod
    def parse(cls, text: str) -> Scope | None:
        """The scope, or None when ``text`` is not a SMART resource scope (``openid``,
        ``launch``… are not, and grant nothing here)."""
        found = _SCOPE.match(text)
        if found is None:
            return None
        actions = _V1.get(found["actions"], found["actions"])
        if not _in_cruds_order(actions):
            return None
        return cls(found["context"], found["type"], frozenset(actions), found["query"])

    def covers(self, other: Scope) -> bool:
        """Whether holding ``self`` grants everything ``other`` asks."""
        return (
            self.context == other.context
            and self.resource in ("*", other.resource)
            and other.actions <= self.actions
            and (self.query is None or self.query == other.query)
        )


@dataclass(frozen=True, slots=True)
class Need:
    """What one request needs: an action letter on a resource type, as a system client."""

    resource: str
    action: str  # one of c r u d s

    def as_scope(self) -> Scope:
        return Scope("system", self.resource, frozenset(self.action))

    def as_text(self) -> str:
        return f"system/{self.resource}.{self.action}"


def parse_scopes(text: str) -> list[Scope]:
    """The SMART scopes in a space-separated scope string; other scope tokens are ignored."""
    found = []
    for token in text.split()[:MAX_SCOPES]:
        scope = Scope.parse(token)
        if scope is not None:
            found.append(scope)
    return found


def permits(granted: Iterable[Scope], need: Need) -> bool:
    """Whether the granted scopes together allow ``need`` (one scope must cover it)."""
    wanted = need.as_scope()
    return any(scope.covers(wanted) for scope in granted)


def grantable(requested: str, allowed: str) -> list[str]:
    """The requested scope strings the client's registered scopes cover, in request order.

    A requested scope is granted when one registered scope covers it whole: a client
    registered for ``system/*.rs`` asking ``system/Patient.read`` gets ``system/Patient.read``;
    asking ``system/Patient.cruds`` gets nothing for Patient.
    """
    registered = parse_scopes(allowed)
    granted = []
    for token in dict.fromkeys(requested.split()[:MAX_SCOPES]):
        scope = Scope.parse(token)
        if scope is not None and any(mine.covers(scope) for mine in registered):
            granted.append(token)
    return granted


def _in_cruds_order(actions: str) -> bool:
    positions = [_LETTERS.index(letter) for letter in actions]
    return positions == sorted(set(positions))
