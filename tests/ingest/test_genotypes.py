"""Genotype decoding: fast and general paths agree, zygosity rules, bitmap packing."""

from __future__ import annotations

import random

import numpy as np
import pytest

from gateway.ingest.genotypes import (
    MISSING,
    GenotypeError,
    SamplePositions,
    allele_bitmaps,
    decode_alleles,
)

M = MISSING


def decode(format_field: str, columns: list[str]) -> list[list[int]]:
    alleles = decode_alleles(format_field.encode(), "\t".join(columns).encode(), len(columns))
    return alleles.tolist()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["0|0", "0/1", "1|1", "./."], [[0, 0], [0, 1], [1, 1], [M, M]]),
        (["1", "0", "."], [[1], [0], [M]]),
        (["0/1/2", "2|2|2"], [[0, 1, 2], [2, 2, 2]]),
        # mixed ploidy: haploid rows padded with MISSING
        (["1", "0/1", "."], [[1, M], [0, 1], [M, M]]),
        (["0/11", "10|1", "."], [[0, 11], [10, 1], [M, M]]),
        (["./1", ".|."], [[M, 1], [M, M]]),
    ],
)
def test_decode_gt_only(columns: list[str], expected: list[list[int]]) -> None:
    assert decode("GT", columns) == expected


def test_other_format_fields_are_ignored() -> None:
    columns = ["0/1:5,5:10", "1/1:0,9", "./.:.:.", "0|0"]
    assert decode("GT:AD:DP", columns) == [[0, 1], [1, 1], [M, M], [0, 0]]


def test_gt_in_another_position_or_dropped() -> None:
    assert decode("DP:GT", ["7:0|1", "3:1|1", "5", "9:0|0"]) == [[0, 1], [1, 1], [M, M], [0, 0]]


def test_no_gt_field_means_no_calls() -> None:
    assert decode("DP", ["7", "3"]) == [[M], [M]]


@pytest.mark.parametrize("ploidies", [[2], [1], [1, 2], [1, 2, 3], [3]])
def test_random_genotypes_agree_between_paths_and_with_a_naive_count(
    ploidies: list[int],
) -> None:
    rng = random.Random(7)
    tokens = ["0", "1", "2", "3", "."]
    for _ in range(50):
        columns = [
            rng.choice("/|").join(rng.choice(tokens) for _ in range(rng.choice(ploidies)))
            for _ in range(rng.randint(1, 40))
        ]
        fast = decode("GT", columns)
        # GT first with more fields, and GT elsewhere (always the general path)
        assert decode("GT:DP", [f"{gt}:9" for gt in columns]) == fast
        assert decode("DP:GT", [f"9:{gt}" for gt in columns]) == fast
        bitmaps = allele_bitmaps(
            decode_alleles(b"GT", "\t".join(columns).encode(), len(columns)),
            3,
            SamplePositions.of(None, len(columns)),
        )
        for alt, (carriers, homozygous) in enumerate(bitmaps, start=1):
            naive_carriers, naive_homozygous = naive(columns, alt)
            assert unpack(carriers, len(columns)) == naive_carriers
            assert unpack(homozygous, len(columns)) == naive_homozygous


def naive(columns: list[str], alt: int) -> tuple[list[bool], list[bool]]:
    carriers, homozygous = [], []
    for gt in columns:
        called = [int(a) for a in gt.replace("|", "/").split("/") if a != "."]
        carriers.append(alt in called)
        homozygous.append(bool(called) and all(a == alt for a in called))
    return carriers, homozygous


def unpack(bitmap: bytes, n: int) -> list[bool]:
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return [bool(b) for b in np.pad(bits, (0, max(0, n - len(bits))))[:n]]


@pytest.mark.parametrize(
    ("format_field", "columns", "n_samples", "message", "sample"),
    [
        ("GT", ["0/1", "1/1"], 3, "2 sample columns, the header names 3", None),
        ("GT", ["0/1", "1/1", "0/0", "0/0"], 3, "4 sample columns, the header names 3", None),
        # as long as two one-character columns, but only one column
        ("GT", ["1:0"], 2, "1 sample columns, the header names 2", None),
        ("GT", ["0/1", "0/x", "0/0"], 3, "unreadable genotype '0/x'", 1),
        ("GT", ["0/1", "0/1", ""], 3, "empty sample column", 2),
        ("GT:DP", ["0/1:3", "A:4", "0/0:1"], 3, "unreadable genotype 'A'", 1),
        ("GT", ["0/1", "0/-1"], 2, "unreadable genotype '0/-1'", 1),
        ("GT", ["1", "0x1", "0/1"], 3, "unreadable genotype '0x1'", 1),
        ("GT:DP", ["0/1:3", "0x1:4"], 2, "unreadable genotype '0x1'", 1),
        ("GT:DP", ["0/1:3", "0/1;4"], 2, "unreadable genotype '0/1;4'", 1),
    ],
)
def test_unreadable_genotypes(
    format_field: str, columns: list[str], n_samples: int, message: str, sample: int | None
) -> None:
    with pytest.raises(GenotypeError, match=message) as raised:
        decode_alleles(format_field.encode(), "\t".join(columns).encode(), n_samples)
    assert raised.value.sample == sample


def test_allele_beyond_the_alts_is_an_error() -> None:
    alleles = decode_alleles(b"GT", b"0/1\t0/2\t2/2", 3)
    with pytest.raises(GenotypeError, match="genotype allele 2 but the record has 1") as raised:
        allele_bitmaps(alleles, 1, SamplePositions.of(None, 3))
    assert raised.value.sample == 1


def test_bitmaps_are_little_endian_and_trimmed() -> None:
    columns = ["0/0"] * 9 + ["0/1"] + ["0/0"] * 10
    alleles = decode_alleles(b"GT", "\t".join(columns).encode(), len(columns))
    [(carriers, homozygous)] = allele_bitmaps(alleles, 1, SamplePositions.of(None, len(columns)))
    # bit 9 is bit 1 of byte 1; the all-zero third byte is trimmed
    assert carriers == b"\x00\x02"
    assert homozygous == b""


def test_sample_positions_scatter_bits() -> None:
    alleles = decode_alleles(b"GT", b"0/1\t1/1\t0/0", 3)
    layout = SamplePositions.of([10, 3, 0], 3)
    [(carriers, homozygous)] = allele_bitmaps(alleles, 1, layout)
    assert carriers == bytes([0b1000, 0b100])
    assert homozygous == bytes([0b1000])


def test_identity_positions_need_no_scatter() -> None:
    assert SamplePositions.of([0, 1, 2], 3) == SamplePositions.of(None, 3)


@pytest.mark.parametrize(
    ("positions", "message"),
    [
        ([0, 1], "2 sample positions for 3 samples"),
        ([0, 1, 1], "distinct"),
        ([0, -1, 2], "non-negative"),
    ],
)
def test_bad_sample_positions(positions: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SamplePositions.of(positions, 3)
