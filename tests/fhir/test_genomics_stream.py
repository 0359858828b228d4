"""Alleles to report Observations: one numbering for variants and phase relationships."""

from __future__ import annotations

from gateway.domain.genomics import AllelicState, CalledAllele, SourceClass
from gateway.fhir.genomics_stream import ReportObservations


def allele(position: int, index: int) -> CalledAllele:
    return CalledAllele(
        chromosome="1",
        assembly="GRCh38",
        refseq="NC_000001.11",
        start=position - 1,
        end=position,
        reference="A",
        alternate="G",
        allelic_state=AllelicState.HETEROZYGOUS,
        phase_set="10",
        genotype_index=index,
    )


def test_observations_are_numbered_in_order_and_phase_pairs_point_at_both_variants():
    made = ReportObservations(
        SourceClass.GERMLINE, lambda n: f"id{n}", lambda i: f"Observation/{i}"
    )
    first = made.add(allele(10, 1))
    second = made.add(allele(20, 0))
    assert [i for i, _ in first] == ["id0"]
    assert [i for i, _ in second] == ["id1", "id2"]
    phase = second[1][1]
    assert phase["derivedFrom"] == [
        {"reference": "Observation/id0"},
        {"reference": "Observation/id1"},
    ]
    assert (made.variants, made.relations, made.count) == (2, 1, 3)
