"""A sample's called alleles as the Observations of its genomic report, one allele at a time.

Shared by ``gateway translate vcf`` (a Bundle written as it is read) and the genomic reports
stored at ingest: each allele gives its ``variant`` Observation, followed by the
``sequence-phase-relationship`` it closes with the previous phased allele of its phase set.
Observations are numbered in the order they come (variants and phase relationships alike), so
a report can list them again later by counting, without keeping their ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.domain.genomics import CalledAllele, PhaseTracker, SourceClass
from gateway.fhir.datatypes import Json
from gateway.fhir.genomics import phase_relationship, variant_observation

__all__ = ["ReportObservations"]


@dataclass
class ReportObservations:
    """``id_of(n)`` names the n-th Observation; ``reference_of(id)`` is how another resource
    points at it (``urn:uuid:<id>`` in a Bundle, ``Observation/<id>`` on the server)."""

    source_class: SourceClass
    id_of: Callable[[int], str]
    reference_of: Callable[[str], str]
    variants: int = 0
    relations: int = 0
    _phases: PhaseTracker = field(default_factory=PhaseTracker)

    @property
    def count(self) -> int:
        return self.variants + self.relations

    def add(self, allele: CalledAllele) -> list[tuple[str, Json]]:
        """(id, resource) of the allele's variant Observation, then of the phase relationship
        it closes, if any."""
        variant_id = self.id_of(self.count)
        made = [(variant_id, variant_observation(allele, variant_id, None, self.source_class))]
        self.variants += 1
        paired = self._phases.add(allele, variant_id)
        if paired is not None:
            earlier, relation = paired
            phase_id = self.id_of(self.count)
            resource = phase_relationship(
                self.reference_of(earlier), self.reference_of(variant_id), relation, phase_id, None
            )
            made.append((phase_id, resource))
            self.relations += 1
        return made
