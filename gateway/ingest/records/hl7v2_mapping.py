"""The ``mapping`` section of an hl7v2 profile, in typed form.

The loader has already checked the section against ``gateway/profiles/schemas/hl7v2.json``;
this module gives it types, fills in what a key's absence means (documented in the schema and
in ``profiles/README.md``) and checks what a schema cannot: codecs that exist, a default
character set the table knows, rules that do not contradict each other. The typed form is
cached per profile: reading a message does not re-read the profile.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from gateway.domain.clinical_values import NameUse
from gateway.domain.records import AllergyCategory, Criticality, ObservationStatus, Sex
from gateway.errors import RecordError
from gateway.ingest.records.hl7v2_message import CHARSETS
from gateway.profiles.model import Profile

__all__ = ["FieldRef", "Hl7v2Mapping", "MessageKind", "ValueKind", "mapping_for"]

MessageKind = Literal["adt", "oru"]
ValueKind = Literal["number", "structured-number", "text", "coded", "datetime"]
ResultList = Literal["results", "vital_signs", "pregnancy", "social_history"]


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field of a segment, written ``PID-5`` in the profile."""

    segment: str
    field: int

    @classmethod
    def parse(cls, text: str) -> FieldRef:
        segment, field = text.split("-")
        return cls(segment, int(field))


@dataclass(frozen=True, slots=True)
class Qualification:
    """Identifiers of ``types`` count as qualified only when ``field`` holds one of ``codes``
    (IHE PAM France: the INS is qualified when PID-32 is VALI)."""

    field: int
    codes: frozenset[str]
    types: frozenset[str]


@dataclass(frozen=True, slots=True)
class Hl7v2Mapping:
    charset: str
    charsets: Mapping[str, str]
    versions: frozenset[str] | None
    messages: Mapping[str, MessageKind]
    author: int | None  # an MSH field
    language: int | None  # an MSH field
    # PID fields
    identifiers: int
    names: int
    birth_date: int
    sex: int | None
    addresses: int | None
    telecoms: tuple[int, ...]
    # identifiers
    identifier_types: frozenset[str] | None
    authorities: Mapping[str, str]
    unknown_authority: str | None
    qualification: Qualification | None
    # names, sex, addresses
    name_types: tuple[str, ...] | None
    name_uses: Mapping[str, NameUse] | None  # XPN-7 -> HumanName.use
    given_list: bool
    sex_codes: Mapping[str, Sex]
    skip_address_types: frozenset[str]
    countries: Mapping[str, str]
    # ADT clinical segments
    adt_segments: Mapping[str, str]
    allergen_types: Mapping[str, AllergyCategory]
    allergy_severities: Mapping[str, Criticality]
    # ORU results
    result_list: ResultList
    result_lists: Mapping[str, ResultList]  # "system|code" of OBX-3 -> list, before result_list
    effective: tuple[FieldRef, ...]
    value_types: Mapping[str, ValueKind]
    statuses: Mapping[str, ObservationStatus]
    left_out: frozenset[str]


# Profiles are immutable and few: key by identity, and keep the mapping alive so that its id
# cannot be reused by another object while cached.
_CACHE: dict[int, tuple[Mapping[str, Any], Hl7v2Mapping]] = {}


def mapping_for(profile: Profile) -> Hl7v2Mapping:
    """The typed mapping of ``profile`` (read once per profile object).

    :raises RecordError: (location ``profile``) for a mapping that cannot work: an unknown
        codec or default character set, or rules that contradict each other.
    """
    hit = _CACHE.get(id(profile.mapping))
    if hit is not None and hit[0] is profile.mapping:
        return hit[1]
    typed = _typed(profile.mapping)
    _check(typed)
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[id(profile.mapping)] = (profile.mapping, typed)
    return typed


def _typed(data: Mapping[str, Any]) -> Hl7v2Mapping:
    patient = data["patient"]
    identifiers = data.get("identifiers", {})
    names = data.get("names", {})
    addresses = data.get("addresses", {})
    results = data["results"]
    return Hl7v2Mapping(
        charset=data.get("charset", "UNICODE UTF-8"),
        charsets={**CHARSETS, **{k.upper(): v for k, v in data.get("charsets", {}).items()}},
        versions=frozenset(data["versions"]) if "versions" in data else None,
        messages=cast(Mapping[str, MessageKind], data["messages"]),
        author=_field(data.get("author")),
        language=_field(data.get("language")),
        identifiers=_pid(patient["identifiers"]),
        names=_pid(patient["names"]),
        birth_date=_pid(patient["birth_date"]),
        sex=_field(patient.get("sex")),
        addresses=_field(patient.get("addresses")),
        telecoms=tuple(_pid(ref) for ref in patient.get("telecoms", ())),
        identifier_types=_optional_set(identifiers.get("types")),
        authorities=dict(identifiers.get("authorities", {})),
        unknown_authority=identifiers.get("unknown_authority"),
        qualification=_qualification(identifiers.get("qualified")),
        name_types=tuple(names["types"]) if "types" in names else None,
        name_uses=_upper_keys(names["uses"]) if "uses" in names else None,
        given_list=bool(names.get("given_list", False)),
        sex_codes={code.upper(): Sex(sex) for code, sex in data["sex"].items()},
        skip_address_types=frozenset(addresses.get("skip_types", ())),
        countries=dict(addresses.get("countries", {})),
        adt_segments=dict(data.get("adt_segments", {})),
        allergen_types=_upper_keys(data.get("allergen_types", {})),
        allergy_severities=_upper_keys(data.get("allergy_severities", {})),
        result_list=results.get("list", "results"),
        result_lists=dict(results.get("by_code", {})),
        effective=tuple(FieldRef.parse(ref) for ref in results.get("effective", ("OBX-14",))),
        value_types=cast(Mapping[str, ValueKind], results["value_types"]),
        statuses=_upper_keys(results["statuses"]),
        left_out=frozenset(code.upper() for code in results.get("left_out", ())),
    )


def _check(mapping: Hl7v2Mapping) -> None:
    for name, codec in mapping.charsets.items():
        try:
            codecs.lookup(codec)
        except LookupError:
            raise RecordError(
                f"charsets: {name} names no known codec {codec!r}", "profile"
            ) from None
    if mapping.charset.upper() not in mapping.charsets:
        raise RecordError(
            f"charset {mapping.charset!r} is not in table 0211 nor in charsets", "profile"
        )
    if mapping.name_types == ():
        raise RecordError("names.types is empty: every typed name would be left out", "profile")
    rule, kept = mapping.qualification, mapping.identifier_types
    if rule is not None and kept is not None and not rule.types <= kept:
        missing = ", ".join(sorted(rule.types - kept))
        raise RecordError(
            f"identifiers.qualified.types names {missing}, which identifiers.types leaves out",
            "profile",
        )
    both = mapping.left_out & set(mapping.statuses)
    if both:
        codes = ", ".join(sorted(both))
        raise RecordError(f"result status {codes} is both mapped and left out", "profile")


def _upper_keys(table: Mapping[str, Any]) -> dict[str, Any]:
    return {code.upper(): value for code, value in table.items()}


def _pid(text: str) -> int:
    return FieldRef.parse(text).field


def _field(text: str | None) -> int | None:
    return None if text is None else FieldRef.parse(text).field


def _optional_set(values: list[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def _qualification(data: Mapping[str, Any] | None) -> Qualification | None:
    if data is None:
        return None
    return Qualification(_pid(data["field"]), frozenset(data["codes"]), frozenset(data["types"]))
