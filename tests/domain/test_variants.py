"""Variant identity and classification (pure)."""

from __future__ import annotations

import pytest

from gateway.domain.carriers import as_int, mask_of, positions_of, to_bitmap
from gateway.domain.variants import Variant, VariantType, classify, query_types


@pytest.mark.parametrize(
    ("ref", "alt", "kind"),
    [
        ("A", "T", VariantType.SNP),
        ("AC", "GT", VariantType.MNP),
        ("A", "AT", VariantType.INDEL),
        ("AT", "A", VariantType.INDEL),
    ],
)
def test_classify(ref: str, alt: str, kind: VariantType) -> None:
    assert classify(ref, alt) is kind


def test_variant_ids_are_one_based_and_url_safe() -> None:
    snv = Variant("GRCh38", "22", 10516172, 10516173, "C", "T", VariantType.SNP)
    sv = Variant("GRCh38", "1", 1000, 2000, "N", "<DEL>", VariantType.DEL)
    assert snv.variant_id == "GRCh38-22-10516173-C-T"
    assert sv.variant_id == "GRCh38-1-1001-N-DEL-2000"
    assert "/" not in sv.variant_id
    assert "<" not in sv.variant_id


def test_query_types_cover_efo_terms_and_broader_types() -> None:
    assert query_types("EFO:0030067") == frozenset({VariantType.DEL})
    assert query_types("cnv") == frozenset({VariantType.CNV, VariantType.DEL, VariantType.DUP})
    assert query_types("WHATEVER") is None


def test_bitmap_round_trip() -> None:
    bits = mask_of([0, 3, 17, 2547])
    assert positions_of(bits) == [0, 3, 17, 2547]
    assert as_int(to_bitmap(bits)) == bits
    assert as_int(b"") == 0
