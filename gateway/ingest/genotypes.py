"""Genotype decoding: the sample columns of one VCF line → who carries each ALT allele.

Pure functions over bytes and numpy arrays (VCF 4.3 §1.6.2, ``GT``). Only ``GT`` matters: a
sample carries ALT ``k`` when one of its called alleles is ``k``, and is homozygous for it
when every called allele is ``k`` (hom-alt, or a haploid/hemizygous alt).

Speed matters here (a 2,548-sample line holds ~10 kB of genotypes), so the common shapes are
checked and decoded with a handful of vectorised numpy operations: FORMAT ``GT`` with every
genotype ``p`` single-digit alleles (``0|1``, haploid ``1``), the same with haploid and diploid
columns mixed (chrX), and ``GT`` first followed by other fields (``0/1:12,3:15``). Anything
else takes a slower general path that parses each distinct genotype string once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Alleles = NDArray[np.int16]
"""One row per sample, one column per allele slot; ``MISSING`` for ``.`` and unused slots."""

MISSING = -1
_INVALID = -2
_TAB = ord("\t")

# Byte → allele index for the fixed-width fast path; anything else marks the line as "not
# fixed width" and sends it down the general path, which reports real errors precisely.
_ALLELE_OF_BYTE = np.full(256, _INVALID, dtype=np.int16)
_ALLELE_OF_BYTE[ord("0") : ord("9") + 1] = np.arange(10, dtype=np.int16)
_ALLELE_OF_BYTE[ord(".")] = MISSING
_IS_SEPARATOR = np.zeros(256, dtype=np.bool_)
_IS_SEPARATOR[[ord("/"), ord("|")]] = True
_ENDS_GT = np.zeros(256, dtype=np.bool_)
_ENDS_GT[[ord(":"), _TAB]] = True
_IS_TAB = np.zeros(256, dtype=np.bool_)
_IS_TAB[_TAB] = True

_GT_SEPARATOR = re.compile(rb"[/|]")


class GenotypeError(ValueError):
    """The sample columns cannot be read; ``sample`` is the 0-based column when known."""

    def __init__(self, message: str, sample: int | None = None) -> None:
        super().__init__(message)
        self.sample = sample


def decode_alleles(format_field: bytes, samples: bytes, n_samples: int) -> Alleles:
    """The allele matrix of one line, from its FORMAT column and its tab-joined sample columns.

    :raises GenotypeError: wrong number of sample columns, or an unreadable ``GT``.
    """
    keys = format_field.split(b":")
    if keys[0] == b"GT":
        fixed = _fast_paths(samples, n_samples, gt_only=len(keys) == 1)
        if fixed is not None:
            return fixed
    columns = samples.split(b"\t")
    if len(columns) != n_samples:
        raise GenotypeError(f"{len(columns)} sample columns, the header names {n_samples}")
    if b"GT" not in keys:
        # No GT: the line says nothing about who carries what.
        return np.full((n_samples, 1), MISSING, dtype=np.int16)
    return _parse_each(_gt_values(columns, keys))


def _fast_paths(samples: bytes, n_samples: int, *, gt_only: bool) -> Alleles | None:
    if not n_samples:
        return None
    if gt_only:
        fixed = _gt_only(samples, n_samples)
        if fixed is not None:
            return fixed
        # chrX/chrY in cohorts: haploid males beside diploid females.
        return _haploid_and_diploid(samples, n_samples)
    return _gt_first(samples, n_samples)


def _gt_only(samples: bytes, n_samples: int) -> Alleles | None:
    """Fast path for FORMAT ``GT`` when every column is ``p`` single-character alleles."""
    width, remainder = divmod(len(samples) + 1, n_samples)
    if remainder or width % 2:
        return None
    cells = np.frombuffer(samples + b"\t", dtype=np.uint8).reshape(n_samples, width)
    # Every row must end in a tab: that is what makes the rows the sample columns.
    return _read_cells(cells, _IS_TAB)


def _gt_first(samples: bytes, n_samples: int) -> Alleles | None:
    """Fast path when every column starts with a GT as wide as the first column's
    (``0/1:12,3:15``), or None.
    """
    cells = np.frombuffer(samples + b"\t", dtype=np.uint8)
    ends = np.flatnonzero(cells == _TAB)
    if len(ends) != n_samples:
        return None
    width = int(np.argmax(_ENDS_GT[cells[: ends[0] + 1]])) + 1
    starts = np.concatenate(([0], ends[:-1] + 1))
    if width % 2 or starts[-1] + width > len(cells):
        return None
    return _read_cells(cells[starts[:, np.newaxis] + np.arange(width)], _ENDS_GT)


def _haploid_and_diploid(samples: bytes, n_samples: int) -> Alleles | None:
    """Fast path for FORMAT ``GT`` when every column is ``a`` or ``a/b`` (single characters)."""
    cells = np.frombuffer(samples + b"\t", dtype=np.uint8)
    ends = np.flatnonzero(cells == _TAB)
    if len(ends) != n_samples:
        return None
    starts = np.concatenate(([0], ends[:-1] + 1))
    diploid = ends - starts == 3
    if not (diploid | (ends - starts == 1)).all():
        return None
    if not _IS_SEPARATOR[cells[starts[diploid] + 1]].all():
        return None
    alleles = np.full((n_samples, 2), MISSING, dtype=np.int16)
    alleles[:, 0] = _ALLELE_OF_BYTE[cells[starts]]
    alleles[diploid, 1] = _ALLELE_OF_BYTE[cells[starts[diploid] + 2]]
    if (alleles == _INVALID).any():
        return None
    return alleles


def _read_cells(cells: NDArray[np.uint8], terminators: NDArray[np.bool_]) -> Alleles | None:
    """Alleles from rows of ``a/b/...`` plus one terminator byte, or None when a row is not
    exactly that (the general path then parses it, or reports what is wrong).
    """
    if not terminators[cells[:, -1]].all() or not _IS_SEPARATOR[cells[:, 1:-1:2]].all():
        return None
    alleles = _ALLELE_OF_BYTE[cells[:, 0::2]]
    if (alleles == _INVALID).any():
        return None
    return alleles


def _gt_values(columns: list[bytes], keys: list[bytes]) -> list[bytes]:
    index = keys.index(b"GT")
    if len(keys) == 1:
        return columns
    if index == 0:
        return [column.partition(b":")[0] for column in columns]
    # Trailing FORMAT fields may be dropped from a sample column; then GT is missing.
    return [_subfield(column, index) for column in columns]


def _subfield(column: bytes, index: int) -> bytes:
    parts = column.split(b":")
    return parts[index] if index < len(parts) else b"."


def _parse_each(genotypes: list[bytes]) -> Alleles:
    """The general path: parse each distinct genotype string once, then gather rows."""
    distinct = {gt: row for row, gt in enumerate(dict.fromkeys(genotypes))}
    parsed = [_parse_gt(gt, genotypes) for gt in distinct]
    ploidy = max(len(alleles) for alleles in parsed)
    table = np.full((len(parsed), ploidy), MISSING, dtype=np.int16)
    for row, alleles in enumerate(parsed):
        table[row, : len(alleles)] = alleles
    return table[np.array([distinct[gt] for gt in genotypes], dtype=np.intp)]


def _parse_gt(gt: bytes, genotypes: list[bytes]) -> tuple[int, ...]:
    if gt == b"":
        raise GenotypeError("empty sample column", genotypes.index(gt))
    alleles = []
    for token in _GT_SEPARATOR.split(gt):
        if token == b".":
            alleles.append(MISSING)
        elif token.isdigit() and len(token) <= 4:
            alleles.append(int(token))
        else:
            raise GenotypeError(
                f"unreadable genotype {gt.decode(errors='replace')!r}", genotypes.index(gt)
            )
    return tuple(alleles)


@dataclass(frozen=True, slots=True)
class SamplePositions:
    """Where each sample column of a file sits in the dataset's bitmaps."""

    positions: NDArray[np.intp] | None
    width: int

    @classmethod
    def of(cls, positions: Sequence[int] | None, n_samples: int) -> SamplePositions:
        """Column ``j`` → bit ``positions[j]``; identity when None.

        :raises ValueError: wrong length, a negative or a repeated position.
        """
        if positions is None:
            return cls(None, n_samples)
        array = np.asarray(positions, dtype=np.intp)
        if array.shape != (n_samples,):
            raise ValueError(f"{len(positions)} sample positions for {n_samples} samples")
        if n_samples and (array.min() < 0 or len(np.unique(array)) != n_samples):
            raise ValueError("sample positions must be distinct and non-negative")
        if np.array_equal(array, np.arange(n_samples)):
            return cls(None, n_samples)
        return cls(array, int(array.max()) + 1 if n_samples else 0)

    def pack(self, mask: NDArray[np.bool_]) -> bytes:
        """Little-endian bitmap of ``mask`` at dataset positions, trailing zero bytes trimmed."""
        if not mask.any():
            return b""
        if self.positions is not None:
            scattered = np.zeros(self.width, dtype=np.bool_)
            scattered[self.positions] = mask
            mask = scattered
        return np.packbits(mask, bitorder="little").tobytes().rstrip(b"\0")


def allele_bitmaps(
    alleles: Alleles, n_alts: int, layout: SamplePositions
) -> list[tuple[bytes, bytes]]:
    """``(carriers, homozygous)`` bitmaps for ALT 1..n_alts, in ALT order.

    :raises GenotypeError: a genotype names an allele the record does not have.
    """
    _check_allele_range(alleles, n_alts)
    # One row per allele slot: reducing across a few long rows is element-wise work, where
    # reducing along a short trailing axis costs numpy far more.
    slots = np.ascontiguousarray(alleles.T)
    uncalled = slots < 0
    bitmaps = []
    for alt in range(1, n_alts + 1):
        hits = slots == alt
        carriers = np.logical_or.reduce(hits, axis=0)
        if not carriers.any():
            bitmaps.append((b"", b""))
            continue
        homozygous = carriers & np.logical_and.reduce(hits | uncalled, axis=0)
        bitmaps.append((layout.pack(carriers), layout.pack(homozygous)))
    return bitmaps


def _check_allele_range(alleles: Alleles, n_alts: int) -> None:
    if alleles.size == 0 or int(alleles.max()) <= n_alts:
        return
    sample = int(np.argmax((alleles > n_alts).any(axis=1)))
    raise GenotypeError(
        f"genotype allele {int(alleles[sample].max())} but the record has {n_alts} ALT allele(s)",
        sample,
    )
