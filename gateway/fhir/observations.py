"""Observations of the results, vital signs, pregnancy and social history sections.

The section decides the category and the profile: results are laboratory/pathology results
(``Observation-results-laboratory-pathology-uv-ips``), vital signs claim the core
``vitalsigns`` profile when they can meet it: an effective date precise to the day (vs-1) and
every Quantity coded in UCUM (system and code). Pregnancy and social history observations claim
an IPS profile only when their LOINC code is the one that profile fixes and their value has the
profile's type; anything else is still listed, with no profile claimed rather than a wrong one.

The Composition allows one tobacco use and one alcohol use entry in social history (slices
``smokingTobaccoUse`` and ``alcoholUse``, 0..1): when several observations fit one of those
profiles, only the latest (by effective date; ties: the first) claims it (:func:`profiles_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from gateway.domain.records import (
    LOINC,
    UCUM,
    Component,
    Concept,
    DateValue,
    Observation,
    Quantity,
    Section,
    Value,
)
from gateway.fhir import canonical
from gateway.fhir.datatypes import Json, absent, coded, concept, reference, value_element
from gateway.fhir.resources import Refs, shell

_CATEGORY = {
    Section.RESULTS: "laboratory",
    Section.VITAL_SIGNS: "vital-signs",
    Section.SOCIAL_HISTORY: "social-history",
}
_BY_SECTION = {Section.RESULTS: canonical.LAB_RESULT, Section.VITAL_SIGNS: canonical.VITAL_SIGNS}
# (LOINC codes, value types the profile allows, profile); codes from the IPS value sets.
_BY_CODE: dict[Section, tuple[tuple[frozenset[str], tuple[type, ...], str], ...]] = {
    Section.PREGNANCY: (
        (frozenset({"82810-3"}), (Concept,), canonical.PREGNANCY_STATUS),
        (
            frozenset(
                {"11636-8", "11637-6", "11638-4", "11639-2", "11640-0"}
                | {"11612-9", "11613-7", "11614-5", "33065-4"}
            ),
            (int,),
            canonical.PREGNANCY_OUTCOME,
        ),
        (frozenset({"11778-8", "11779-6", "11780-4"}), (DateValue,), canonical.PREGNANCY_EDD),
    ),
    Section.SOCIAL_HISTORY: (
        (frozenset({"72166-2"}), (Concept,), canonical.TOBACCO_USE),
        (frozenset({"74013-4"}), (Quantity,), canonical.ALCOHOL_USE),
    ),
}


# Profiles the Composition allows on one entry only (social history slices, max 1).
_SINGLE_ENTRY = frozenset({canonical.TOBACCO_USE, canonical.ALCOHOL_USE})


def profile_for(item: Observation, section: Section) -> str | None:
    """The profile an observation of ``section`` conforms to, or None if no IPS one fits.

    This looks at one observation alone; :func:`profiles_for` also applies the limit of one
    entry per single-entry profile.
    """
    if section is Section.VITAL_SIGNS:
        return canonical.VITAL_SIGNS if _fits_vital_signs(item) else None
    if section in _BY_SECTION:
        return _BY_SECTION[section]
    loinc = {c.code for c in item.code.codings if c.system == LOINC}
    for codes, types, profile in _BY_CODE.get(section, ()):
        fits = item.value is None or isinstance(item.value, types)
        if loinc & codes and fits and not item.components:
            return profile
    return None


def profiles_for(items: Sequence[Observation], section: Section) -> list[str | None]:
    """The profile each of ``items`` claims, in order.

    A profile the Composition allows on one entry only goes to the latest observation that fits
    it (ties: the first); the others that fit it claim no profile.
    """
    found = [profile_for(item, section) for item in items]
    for profile in _SINGLE_ENTRY:
        fitting = [index for index, claimed in enumerate(found) if claimed == profile]
        if len(fitting) > 1:
            keep = max(fitting, key=lambda index: (_instant(items[index].effective), -index))
            for index in fitting:
                if index != keep:
                    found[index] = None
    return found


def _instant(effective: str | None) -> str:
    """A sort key for an effective dateTime: times in UTC, so zones compare; None first."""
    if effective is None:
        return ""
    if len(effective) <= 10:  # a date: YYYY, YYYY-MM or YYYY-MM-DD
        return effective
    try:
        moment = datetime.fromisoformat(effective.replace("Z", "+00:00"))
    except ValueError:  # a leap second (:60) is valid FHIR but not for datetime
        return effective
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _fits_vital_signs(item: Observation) -> bool:
    # vs-1: a dateTime effective is precise to the day; the R4 profile types the value (and a
    # component's Quantity) as a UCUM-coded Quantity.
    if item.effective is None or len(item.effective) < 10:
        return False
    if item.value is not None and not isinstance(item.value, Quantity):
        return False
    values = [item.value, *(c.value for c in item.components)]
    return all(v.system == UCUM and v.code is not None for v in values if isinstance(v, Quantity))


def observation(
    item: Observation,
    resource_id: str,
    refs: Refs,
    section: Section,
    profile: str | None = None,
) -> Json:
    """The Observation resource; ``profile`` (from :func:`profiles_for`) is the one it claims."""
    out = shell("Observation", resource_id, profile)
    out["status"] = item.status
    if section in _CATEGORY:
        category = coded(canonical.OBSERVATION_CATEGORY, _CATEGORY[section])
        out["category"] = [category]
    out["code"] = concept(item.code)
    out["subject"] = reference(refs.patient)
    if item.effective is not None:
        out["effectiveDateTime"] = item.effective
    else:
        out["_effectiveDateTime"] = absent()  # effective[x] is 1..1 in every profile used
    if section is Section.RESULTS:
        out["performer"] = [reference(refs.performer)]  # lab results: performer 1..*
    _value(out, item.value, empty=not item.components)
    if item.interpretation is not None:
        out["interpretation"] = [concept(item.interpretation)]
    if item.note is not None:
        out["note"] = [{"text": item.note}]
    if item.reference_range is not None:
        out["referenceRange"] = [{"text": item.reference_range}]
    if item.components:
        out["component"] = [_component(c) for c in item.components]
    return out


def _component(item: Component) -> Json:
    out: Json = {"code": concept(item.code)}
    _value(out, item.value, empty=True)
    return out


def _value(out: Json, value: Value | None, *, empty: bool) -> None:
    # obs-6: dataAbsentReason only without a value; vs-2/vs-3 want one of the two.
    if value is not None:
        key, content = value_element(value)
        out[key] = content
    elif empty:
        out["dataAbsentReason"] = coded(canonical.DATA_ABSENT, "unknown")
