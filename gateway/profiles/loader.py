"""Load the profiles folder: national profiles, ConceptMaps, and the checks that tie them.

Layout (``profiles/README.md``)::

    profiles/<cc>/<name>.yaml         a profile (also .yml or .json); <cc> a country or "generic"
    profiles/<cc>/policy.yaml         the country's consent defaults (schemas/policy.json)
    profiles/conceptmaps/*.json       FHIR R4 ConceptMaps (also profiles/<cc>/conceptmaps/)

Each profile is checked against ``schemas/profile.json`` and its ``mapping`` against
``schemas/<format>.json``; then across files: names are unique, every ConceptMap a profile
binds exists, every ``check`` names a known algorithm, and no identifier system is claimed by
two countries (the federation routes a patient by it). Any failure stops the load with a
:class:`ProfileError` naming the file and the place in it: a gateway does not start on a
half-understood profile.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from gateway.profiles import identifiers
from gateway.profiles.conceptmaps import ConceptMap, ConceptMapError, load_concept_map
from gateway.profiles.model import (
    ConceptMapBinding,
    CountryPolicy,
    IdentifierRule,
    Profile,
    SourceFormat,
)

__all__ = ["ProfileError", "ProfileSet", "load_profiles"]

_PROFILE_SUFFIXES = (".yaml", ".yml", ".json")
_NOT_PROFILES = {"policy.yaml"}


class ProfileError(ValueError):
    """The profiles folder cannot be loaded; the message names the file and what is wrong."""


class ProfileSet:
    """The installed profiles, ConceptMaps and country policies, and the identifier-system ->
    country index."""

    def __init__(
        self,
        profiles: Iterable[Profile],
        concept_maps: Iterable[ConceptMap],
        policies: Iterable[CountryPolicy] = (),
    ) -> None:
        self._profiles = {p.name: p for p in sorted(profiles, key=lambda p: p.name)}
        self._maps = {m.url: m for m in concept_maps}
        self._policies = {p.country: p for p in policies}
        self._countries = _country_index(self._profiles.values())

    def __iter__(self) -> Iterator[Profile]:
        return iter(self._profiles.values())

    def __len__(self) -> int:
        return len(self._profiles)

    def get(self, name: str) -> Profile | None:
        return self._profiles.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._profiles)

    def concept_map(self, url: str) -> ConceptMap:
        return self._maps[url]

    def identifier_systems(self) -> dict[str, str]:
        """Every identifier system (URI, ``urn:oid:`` or alias) the profiles name -> its
        country, sorted: the table the federation routes patients by."""
        return dict(sorted(self._countries.items()))

    def policy(self, country: str) -> CountryPolicy | None:
        """The country's consent defaults, if ``profiles/<cc>/policy.yaml`` gives them."""
        return self._policies.get(country)

    def research_by_default(self, system: str | None, fallback_country: str) -> bool:
        """Whether a citizen identified in ``system`` counts for research while they have
        said nothing: their country's policy (else ``fallback_country``'s) decides; with no
        policy at all, the EHDS rule applies (secondary use is opt-out)."""
        country = (self.country_of(system) if system else None) or fallback_country
        policy = self._policies.get(country)
        return policy.research_by_default if policy else True

    def country_of(self, system: str) -> str | None:
        """The member state an identifier system belongs to: from the profiles, else from the
        built-in registry; None when neither knows it."""
        return self._countries.get(_normal(system)) or identifiers.country_of(system)


def load_profiles(folder: Path) -> ProfileSet:
    """Every profile and ConceptMap under ``folder``, checked.

    :raises ProfileError: on the first file that is unreadable or breaks a rule.
    """
    if not folder.is_dir():
        raise ProfileError(f"profiles folder {folder} does not exist")
    maps = [_concept_map(path) for path in _concept_map_files(folder)]
    _unique((m.url for m in maps), "ConceptMap url")
    profiles = [_profile(path, folder) for path in _profile_files(folder)]
    _unique((p.name for p in profiles), "profile name")
    policies = [_policy(path, folder) for path in sorted(folder.glob("*/policy.yaml"))]
    _unique((p.country for p in policies), "policy of country")
    known_maps = {m.url for m in maps}
    for profile in profiles:
        for binding in profile.concept_maps:
            if binding.concept_map not in known_maps:
                raise ProfileError(
                    f"{_shown(profile.source, folder)}: ConceptMap {binding.concept_map} "
                    "is not in the profiles folder"
                )
    try:
        return ProfileSet(profiles, maps, policies)
    except ValueError as exc:
        raise ProfileError(str(exc)) from None


def _profile_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.glob("*/*")
        if path.suffix in _PROFILE_SUFFIXES
        and path.name not in _NOT_PROFILES
        and path.parent.name != "conceptmaps"
    )


def _concept_map_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("conceptmaps/*.json"), *folder.glob("*/conceptmaps/*.json")])


def _concept_map(path: Path) -> ConceptMap:
    try:
        return load_concept_map(path)
    except ConceptMapError as exc:
        raise ProfileError(str(exc)) from None


def _profile(path: Path, folder: Path) -> Profile:
    shown = _shown(path, folder)
    data = _read(path, shown)
    _validate(data, _schema("profile"), shown)
    format_ = cast(SourceFormat, data["format"])
    _validate(data.get("mapping", {}), _schema(format_), f"{shown} mapping")
    country = data.get("country")
    rules = tuple(
        _identifier(rule, country, f"{shown} identifiers[{i}]")
        for i, rule in enumerate(data.get("identifiers", []))
    )
    return Profile(
        name=data["name"],
        format=format_,
        country=country,
        description=data["description"],
        identifiers=rules,
        code_systems=dict(data.get("code_systems", {})),
        concept_maps=tuple(
            ConceptMapBinding(b["field"], b["map"]) for b in data.get("concept_maps", [])
        ),
        mapping=data.get("mapping", {}),
        timezone=data.get("timezone"),
        source=path,
    )


def _policy(path: Path, folder: Path) -> CountryPolicy:
    shown = _shown(path, folder)
    data = _read(path, shown)
    _validate(data, _schema("policy"), shown)
    summary = data["patient_summary"]
    return CountryPolicy(
        country=data["country"],
        summary_purposes=tuple(summary["purposes"]),
        summary_recipients=tuple(summary["recipient_countries"]),
        research=data["research"],
    )


def _identifier(rule: Mapping[str, Any], country: str | None, where: str) -> IdentifierRule:
    check = rule.get("check")
    if check is not None and check not in {s.key for s in identifiers.SYSTEMS}:
        raise ProfileError(f"{where}: no identifier check algorithm is called {check!r}")
    owner = rule.get("country") or country
    if owner is None:
        raise ProfileError(f"{where}: a generic profile must give each identifier's country")
    return IdentifierRule(
        system=rule["system"],
        country=owner,
        aliases=tuple(rule.get("aliases", ())),
        check=check,
        on_failure=rule.get("on_failure", "warn"),
    )


def _read(path: Path, shown: str) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ProfileError(f"{shown}: not readable ({_first_line(exc)})") from None
    if not isinstance(data, dict):
        raise ProfileError(f"{shown}: a profile or policy is a mapping of keys to values")
    return data


def _validate(data: object, schema: Mapping[str, Any], shown: str) -> None:
    validator = Draft202012Validator(schema)
    error = next(iter(sorted(validator.iter_errors(data), key=_error_depth)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        raise ProfileError(f"{shown} at {where}: {error.message}")


def _error_depth(error: ValidationError) -> int:
    return -len(error.absolute_path)


@cache
def _schema(name: str) -> Mapping[str, Any]:
    text = resources.files("gateway.profiles").joinpath(f"schemas/{name}.json").read_text()
    return cast(Mapping[str, Any], json.loads(text))


def _country_index(profiles: Iterable[Profile]) -> dict[str, str]:
    index: dict[str, tuple[str, str]] = {}
    for profile in profiles:
        for rule in profile.identifiers:
            registered = identifiers.country_of(rule.system)
            if registered is not None and registered != rule.country:
                raise ValueError(
                    f"profile {profile.name}: identifier system {rule.system} belongs to "
                    f"{registered}, not {rule.country}"
                )
            for name in map(_normal, rule.names):
                owner = index.setdefault(name, (rule.country, profile.name))
                if owner[0] != rule.country:
                    raise ValueError(
                        f"identifier system {name} is claimed by {owner[0]} (profile "
                        f"{owner[1]}) and {rule.country} (profile {profile.name})"
                    )
    return {name: country for name, (country, _) in index.items()}


def _normal(system: str) -> str:
    return identifiers.normalize_system(system)


def _unique(names: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ProfileError(f"two files define the {what} {name!r}")
        seen.add(name)


def _shown(path: Path | None, folder: Path) -> str:
    if path is None:
        return "(profile)"
    try:
        return str(path.relative_to(folder.parent))
    except ValueError:
        return str(path)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
