"""Datasets and the research-access policy each carries."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
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
class PolicyChange:
    """A change to a dataset's policy (command-line flags); None keeps the current value."""

    security_level: SecurityLevel | None = None
    max_granularity: Granularity | None = None
    duo_codes: tuple[str, ...] | None = None
    consent_basis: ConsentBasis | None = None

    def apply(self, policy: DatasetPolicy) -> DatasetPolicy:
        return replace(
            policy,
            security_level=self.security_level or policy.security_level,
            max_granularity=self.max_granularity or policy.max_granularity,
            duo_codes=policy.duo_codes if self.duo_codes is None else self.duo_codes,
            consent_basis=self.consent_basis or policy.consent_basis,
        )

    @property
    def empty(self) -> bool:
        return self == PolicyChange()


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
