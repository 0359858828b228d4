"""Run a native record through the whole translation: reader, profile engine, IPS builder."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from gateway.fhir.ips import build_document
from gateway.ingest.records import Reading, reader_for
from gateway.profiles.engine import Translation, apply_profile
from gateway.profiles.loader import ProfileSet, load_profiles

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "profiles"
DOCUMENT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
TIMESTAMP = "2026-11-28T10:00:00+01:00"


class Translated(NamedTuple):
    reading: Reading
    translation: Translation
    bundle: dict[str, Any]


@cache
def shipped_profiles() -> ProfileSet:
    """The profiles the repository ships (``profiles/``), loaded once per test session."""
    return load_profiles(PROFILES)


def translate(data: bytes, profile_name: str, *, country: str = "DE") -> Translated:
    """``data`` read with the named shipped profile, translated, and built into a document.

    ``country`` is the gateway's own (the fallback when neither profile nor identifier says).
    """
    profiles = shipped_profiles()
    profile = profiles.get(profile_name)
    assert profile is not None, f"no shipped profile {profile_name}"
    reading = reader_for(profile.format)(data, profile)
    translation = apply_profile(
        reading.record, profile, profiles, default_country=country, findings=reading.findings
    )
    home = translation.record.patient.country or country
    bundle = build_document(
        translation.record, document_id=DOCUMENT_ID, timestamp=TIMESTAMP, country=home
    )
    return Translated(reading, translation, bundle)
