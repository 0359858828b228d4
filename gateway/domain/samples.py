"""Samples and individuals of a dataset, as a sample manifest describes them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


# Beacon v2 individuals carry sex as an ontology term (NCIT, as the default model's examples).
SEX_TERMS: dict[Sex, tuple[str, str]] = {
    Sex.FEMALE: ("NCIT:C16576", "female"),
    Sex.MALE: ("NCIT:C20197", "male"),
    Sex.OTHER: ("NCIT:C17649", "other"),
    Sex.UNKNOWN: ("NCIT:C17998", "unknown"),
}
SEX_BY_TERM = {"NCIT:C16576": Sex.FEMALE, "NCIT:C20197": Sex.MALE}


@dataclass(frozen=True, slots=True)
class Identifier:
    """A citizen's national identifier: ``system|value``."""

    system: str
    value: str

    def __str__(self) -> str:
        return f"{self.system}|{self.value}"


@dataclass(frozen=True, slots=True)
class SampleLink:
    """One manifest line: which individual a VCF sample column belongs to."""

    sample_id: str
    individual_id: str
    sex: Sex
    identifier: Identifier | None
