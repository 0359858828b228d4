"""Called alleles and phase pairing: pure rules."""

from __future__ import annotations

import pytest

from gateway.domain.genomics import (
    AllelicState,
    CalledAllele,
    Interval,
    PhaseRelation,
    PhaseTracker,
)


def allele(
    position: int,
    index: int | None,
    phase_set: str | None = "100",
    chromosome: str = "1",
    state: AllelicState = AllelicState.HETEROZYGOUS,
) -> CalledAllele:
    return CalledAllele(
        chromosome=chromosome,
        assembly="GRCh38",
        refseq="NC_000001.11",
        start=position - 1,
        end=position,
        reference="A",
        alternate="G",
        allelic_state=state,
        phase_set=phase_set,
        genotype_index=index,
    )


def test_the_vcf_position_is_start_plus_one():
    assert allele(1234, None).vcf_position == 1234


def test_consecutive_alleles_on_one_copy_are_cis_and_on_the_other_trans():
    tracker = PhaseTracker()
    assert tracker.add(allele(100, 1), "a") is None
    assert tracker.add(allele(200, 1), "b") == ("a", PhaseRelation.CIS)
    assert tracker.add(allele(300, 0), "c") == ("b", PhaseRelation.TRANS)


def test_phase_sets_and_chromosomes_do_not_mix():
    tracker = PhaseTracker()
    tracker.add(allele(100, 1, phase_set="100"), "a")
    assert tracker.add(allele(200, 1, phase_set="150"), "b") is None
    assert tracker.add(allele(100, 1, chromosome="2"), "c") is None
    assert tracker.last.keys() == {"100"}  # the first chromosome's sets are forgotten


def test_unphased_and_homozygous_alleles_are_not_paired():
    tracker = PhaseTracker()
    tracker.add(allele(100, 1), "a")
    assert tracker.add(allele(150, None, phase_set=None), "b") is None
    assert tracker.add(allele(200, 0, state=AllelicState.HOMOZYGOUS), "c") is None
    assert tracker.add(allele(300, 0), "d") == ("a", PhaseRelation.TRANS)


@pytest.mark.parametrize(("start", "end"), [(-1, 5), (5, 4)])
def test_impossible_intervals_are_refused(start, end):
    with pytest.raises(ValueError, match="interval"):
        Interval(start, end)
