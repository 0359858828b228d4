"""Carrier sets as little-endian bitmaps over a dataset's sample positions.

Bit ``i`` of a bitmap (``numpy.packbits(bitorder="little")`` layout) is set when the sample at
dataset position ``i`` carries the allele. Python integers do the set algebra: an AND with the
mask of samples that may count, then ``int.bit_count``.
"""

from __future__ import annotations

from collections.abc import Iterable


def as_int(bitmap: bytes) -> int:
    return int.from_bytes(bitmap, "little")


def mask_of(positions: Iterable[int]) -> int:
    mask = 0
    for position in positions:
        mask |= 1 << position
    return mask


def positions_of(bits: int) -> list[int]:
    """Set bit positions, ascending."""
    found = []
    while bits:
        low = bits & -bits
        found.append(low.bit_length() - 1)
        bits ^= low
    return found


def to_bitmap(bits: int) -> bytes:
    return bits.to_bytes((bits.bit_length() + 7) // 8, "little")
