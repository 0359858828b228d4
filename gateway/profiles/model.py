"""What a national profile says, once loaded: the country, the source format, the national
identifier systems and how strictly to check them, the source-to-record mapping, and which
ConceptMaps translate which coded fields.

A profile is data (``profiles/<cc>/<name>.yaml``, see ``profiles/README.md``); these types are
its checked, immutable form. The ``mapping`` is format-specific: the common schema leaves it
open and the format's own schema (``gateway/profiles/schemas/<format>.json``) fixes its keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.profiles.identifiers import normalize_system

__all__ = [
    "FORMATS",
    "ConceptMapBinding",
    "CountryPolicy",
    "Finding",
    "IdentifierRule",
    "OnFailure",
    "Profile",
    "SourceFormat",
]

SourceFormat = Literal["ehdsi-cda", "hl7v2", "fhir", "registry-csv"]
FORMATS: tuple[SourceFormat, ...] = ("ehdsi-cda", "hl7v2", "fhir", "registry-csv")
OnFailure = Literal["warn", "reject"]


@dataclass(frozen=True, slots=True)
class IdentifierRule:
    """A national identifier system the profile reads.

    ``system`` is the FHIR system URI the record is written with; ``aliases`` are the other
    spellings sources use for it (an ``urn:oid:``, a v2 assigning authority). ``check`` names an
    algorithm of :mod:`gateway.profiles.identifiers` (``it-codice-fiscale``), or is None when
    the system has no verified check; ``on_failure`` says whether a failed check warns or
    rejects the record.
    """

    system: str
    country: str
    aliases: tuple[str, ...] = ()
    check: str | None = None
    on_failure: OnFailure = "warn"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.system, *self.aliases)


@dataclass(frozen=True, slots=True)
class ConceptMapBinding:
    """Codes found at ``field`` (a record path such as ``problems.code``) go through the
    ConceptMap whose canonical URL is ``concept_map``."""

    field: str
    concept_map: str


@dataclass(frozen=True, slots=True)
class Profile:
    """One national profile. ``country`` is None for a generic profile (the generic eHDSI CDA
    one), which takes the country from the patient's identifier system or from settings."""

    name: str
    format: SourceFormat
    country: str | None
    description: str
    identifiers: tuple[IdentifierRule, ...] = ()
    code_systems: Mapping[str, str] = field(default_factory=dict)
    concept_maps: tuple[ConceptMapBinding, ...] = ()
    mapping: Mapping[str, Any] = field(default_factory=dict)
    timezone: str | None = None  # for source times written without a zone (HL7 TS, CSV)
    source: Path | None = None

    def identifier_rule(self, system: str) -> IdentifierRule | None:
        """The rule whose system or alias is ``system`` (OIDs compare in either spelling)."""
        wanted = normalize_system(system)
        return next(
            (rule for rule in self.identifiers if wanted in map(normalize_system, rule.names)), None
        )

    def code_system(self, name: str) -> str | None:
        """The FHIR URI the profile gives a source code system name or OID, if any."""
        return self.code_systems.get(name) or self.code_systems.get(normalize_system(name))


@dataclass(frozen=True, slots=True)
class CountryPolicy:
    """A member state's consent defaults (``profiles/<cc>/policy.yaml``): what applies to its
    citizens while they have recorded nothing themselves.

    ``summary_purposes`` and ``summary_recipients`` say for which purposes of use and to which
    countries a patient summary may be shared by default (the consent engine reads them);
    ``research`` is the default for secondary use: ``permit`` where citizens opt out (the EHDS
    rule), ``deny`` where they must opt in.
    """

    country: str
    summary_purposes: tuple[str, ...]
    summary_recipients: tuple[str, ...]
    research: Literal["permit", "deny"]

    @property
    def research_by_default(self) -> bool:
        return self.research == "permit"


@dataclass(frozen=True, slots=True)
class Finding:
    """A warning about a translated record: where (a record path or a source location) and
    what. Messages never quote patient data; codes and code systems are not patient data."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"
