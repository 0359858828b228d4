"""Carrier-set algebra for Beacon answers: merge a dataset's files, apply the counting mask,
page, and list case-level carriers (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TypeVar

from gateway.beacon.records import CaseLevel
from gateway.beacon.requests import BeaconRequest
from gateway.domain.carriers import as_int, positions_of
from gateway.domain.variants import Variant
from gateway.services.beacon_scope import Visible
from gateway.storage.samples import SampleRow
from gateway.storage.variants import VariantRow

T = TypeVar("T")


@dataclass(slots=True)
class Hit:
    """One variant in one dataset, its carriers merged across the dataset's files."""

    row: VariantRow
    carriers: int
    homozygous: int


@dataclass
class DatasetView:
    visible: Visible
    samples: list[SampleRow] = field(default_factory=list)
    mask: int | None = None

    @cached_property
    def by_position(self) -> dict[int, SampleRow]:
        return {row.position: row for row in self.samples}


def merge_hits(rows: Sequence[VariantRow], views: dict[int, DatasetView]) -> dict[int, list[Hit]]:
    merged: dict[tuple[int, str], Hit] = {}
    for row in rows:
        key = (row.dataset_id, row.variant.variant_id)
        hit = merged.get(key)
        if hit is None:
            merged[key] = Hit(row, as_int(row.carriers), as_int(row.homozygous))
        else:
            hit.carriers |= as_int(row.carriers)
            hit.homozygous |= as_int(row.homozygous)
    found: dict[int, list[Hit]] = {}
    for (dataset_id, _), hit in merged.items():
        view = views[dataset_id]
        if _counts(hit, view):
            found.setdefault(dataset_id, []).append(hit)
    return found


def _counts(hit: Hit, view: DatasetView) -> bool:
    if view.mask is None:
        # Sites-only datasets (no samples) only count when nothing narrows the samples.
        return hit.carriers != 0 or not hit.row.carriers
    return hit.carriers & view.mask != 0


def counting_positions(views: dict[int, DatasetView], individual_id: str) -> dict[int, int]:
    """Per dataset, the bits of an individual's samples that may count (empty when the
    individual is unknown, unlinked in a citizen dataset, or excluded by the filters)."""
    found: dict[int, int] = {}
    for pk, view in views.items():
        for row in view.samples:
            counted = view.mask is None or view.mask >> row.position & 1
            if row.individual_id == individual_id and counted:
                found[pk] = found.get(pk, 0) | 1 << row.position
    return found


def carried_by(rows: Sequence[VariantRow], positions: dict[int, int]) -> list[VariantRow]:
    return [row for row in rows if as_int(row.carriers) & positions.get(row.dataset_id, 0)]


def page(request: BeaconRequest, items: Sequence[T]) -> list[T]:
    first = request.skip * request.limit
    return list(items[first : first + request.limit])


def with_genes(row: VariantRow, genes: dict[int, tuple[str, ...]]) -> Variant:
    return replace(row.variant, genes=genes.get(row.id, ()))


def case_level(hit: Hit, view: DatasetView) -> list[CaseLevel]:
    carriers = hit.carriers if view.mask is None else hit.carriers & view.mask
    people = view.by_position
    return [
        CaseLevel(people[p].sample_id, people[p].individual_id, bool(hit.homozygous >> p & 1))
        for p in positions_of(carriers)
        if p in people
    ]


def one_per_individual(rows: Sequence[SampleRow]) -> list[SampleRow]:
    seen: dict[str, SampleRow] = {}
    for row in rows:
        seen.setdefault(row.individual_id, row)
    return list(seen.values())
