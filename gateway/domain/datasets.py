"""Datasets and the research-access policy each carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from gateway.domain.granularity import ConsentBasis, Granularity, SecurityLevel

DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DUO_CODE = re.compile(r"^DUO:\d{7}$")


@dataclass(frozen=True, slots=True)
class DatasetPolicy:
    security_level: SecurityLevel = SecurityLevel.PUBLIC
    max_granularity: Granularity = Granularity.COUNT
    duo_codes: tuple[str, ...] = ()
    consent_basis: ConsentBasis = ConsentBasis.OPEN


@dataclass(frozen=True, slots=True)
class Dataset:
    id: int
    name: str
    description: str | None
    assembly: str
    policy: DatasetPolicy
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DatasetStats:
    variants: int
    samples: int
    files: int
