"""Properties of the VCF -> 0-based half-open coordinate conversion (``locate``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.genomics import AllelicState, CalledAllele
from gateway.domain.variants import variant_id
from gateway.ingest.vcf_records import locate

BOUNDED = settings(max_examples=200, deadline=None)
positions = st.integers(min_value=1, max_value=250_000_000)
bases = st.text(alphabet="ACGT", min_size=1, max_size=20)


@BOUNDED
@given(position=positions, reference=bases, alternate=bases)
def test_a_sequence_allele_covers_its_reference_bases_from_pos_minus_one(
    position: int, reference: str, alternate: str
) -> None:
    start, end, _ = locate(alternate, reference, position, None, {}, 0)
    assert start == position - 1  # VCF POS is 1-based; Beacon and VRS start is 0-based
    assert end - start == len(reference)  # half-open: the length is end - start


@BOUNDED
@given(position=positions, length=st.integers(min_value=1, max_value=1_000_000))
def test_a_symbolic_deletion_starts_after_its_padding_base(position: int, length: int) -> None:
    end = position + length  # INFO END: 1-based inclusive, the last deleted base
    start, stop, _ = locate("<DEL>", "N", position, end, {}, 0)
    assert (start, stop) == (position, end)  # 0-based: the base after POS .. END inclusive
    by_length = locate("<DEL>", "N", position, None, {"SVLEN": f"-{length}"}, 0)
    assert by_length[:2] == (start, stop)  # SVLEN says the same as END


@BOUNDED
@given(position=positions, reference=bases, alternate=bases)
def test_the_variant_id_and_called_allele_give_back_the_vcf_position(
    position: int, reference: str, alternate: str
) -> None:
    start, end, _ = locate(alternate, reference, position, None, {}, 0)
    allele = CalledAllele(
        chromosome="22",
        assembly="GRCh38",
        refseq="NC_000022.11",
        start=start,
        end=end,
        reference=reference,
        alternate=alternate,
        allelic_state=AllelicState.HETEROZYGOUS,
    )
    assert allele.vcf_position == position
    identifier = variant_id("GRCh38", "22", start, end, reference, alternate)
    assert identifier == f"GRCh38-22-{position}-{reference}-{alternate}"
