"""The ``mapping`` section of a ``fhir`` profile, in typed form (``schemas/fhir.json``).

The loader has checked the section against the schema; this module only gives it types and
defaults, so that the reader asks ``mapping.rule_for(...)`` rather than digging in dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.profiles.codesystems import system_uri
from gateway.profiles.model import Profile

__all__ = ["FamilyName", "FhirMapping", "PatientMapping", "Rule"]

Token = tuple[str, str]  # (system, code)


@dataclass(frozen=True, slots=True)
class Rule:
    """Resources of type ``resource`` (with one of ``categories`` and one of ``codes``, when
    the rule names them) fill ``target``; conditions that have abated fill ``abated`` instead,
    when it is given."""

    resource: str
    target: str
    categories: frozenset[Token] = frozenset()
    codes: frozenset[Token] = frozenset()
    abated: str | None = None

    def matches(
        self, resource_type: str, categories: Iterable[Token], codes: Iterable[Token] = ()
    ) -> bool:
        if resource_type != self.resource:
            return False
        return (not self.categories or not self.categories.isdisjoint(categories)) and (
            not self.codes or not self.codes.isdisjoint(codes)
        )


@dataclass(frozen=True, slots=True)
class FamilyName:
    """A family name composed from its parts: each group's extensions joined with spaces, the
    groups in the order the HumanName's ``order_extension`` code gives, joined by ``separator``."""

    parts: Mapping[str, tuple[str, ...]]
    order_extension: str | None = None
    orders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    default_order: tuple[str, ...] = ("own", "partner")
    separator: str = "-"


@dataclass(frozen=True, slots=True)
class PatientMapping:
    local_identifiers: bool = False
    name_uses: tuple[str, ...] = ("official", "usual")
    family_name: FamilyName | None = None
    country_extension: str | None = None
    country_systems: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class FhirMapping:
    patient: PatientMapping
    rules: tuple[Rule, ...]

    @classmethod
    def of(cls, profile: Profile) -> FhirMapping:
        section = profile.mapping
        return cls(
            patient=_patient(section.get("patient", {})),
            rules=tuple(_rule(rule, profile) for rule in section.get("resources", ())),
        )

    @property
    def resource_types(self) -> frozenset[str]:
        return frozenset(rule.resource for rule in self.rules)

    @property
    def coded_types(self) -> frozenset[str]:
        """The resource types some rule picks by code: only theirs need their codes read."""
        return frozenset(rule.resource for rule in self.rules if rule.codes)

    def rule_for(
        self, resource_type: str, categories: Iterable[Token], codes: Iterable[Token] = ()
    ) -> Rule | None:
        wanted, coded = tuple(categories), tuple(codes)
        return next((r for r in self.rules if r.matches(resource_type, wanted, coded)), None)


def _patient(section: Mapping[str, Any]) -> PatientMapping:
    country = section.get("address_country", {})
    family = section.get("family_name")
    return PatientMapping(
        local_identifiers=bool(section.get("local_identifiers", False)),
        name_uses=tuple(section.get("name_uses", ("official", "usual"))),
        family_name=_family_name(family) if family else None,
        country_extension=country.get("extension"),
        country_systems=frozenset(country.get("systems", ())),
    )


def _family_name(section: Mapping[str, Any]) -> FamilyName:
    parts = {group: tuple(urls) for group, urls in section["parts"].items()}
    return FamilyName(
        parts=parts,
        order_extension=section.get("order_extension"),
        orders={code: tuple(order) for code, order in section.get("orders", {}).items()},
        default_order=tuple(section.get("default_order", tuple(parts))),
        separator=section.get("separator", "-"),
    )


def _rule(section: Mapping[str, Any], profile: Profile) -> Rule:
    return Rule(
        resource=section["resource"],
        target=section["list"],
        categories=frozenset(_token(text) for text in section.get("category", ())),
        codes=frozenset(_code(text, profile) for text in section.get("code", ())),
        abated=section.get("abated"),
    )


def _token(text: str) -> Token:
    system, _, code = text.partition("|")
    return system, code


def _code(text: str, profile: Profile) -> Token:
    # Compared with the resource's codings once their systems are normalised (Context.tokens),
    # so an OID written here for LOINC still matches.
    system, code = _token(text)
    return system_uri(system, profile) or system, code
