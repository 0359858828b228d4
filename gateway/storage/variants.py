"""Variant repository: bulk insert of ingested alleles and the indexed Beacon look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, insert, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.variants import Variant, VariantType
from gateway.storage.tables import LONG_VARIANT, variant_genes, variants


@dataclass(frozen=True, slots=True)
class StoredAllele:
    """What the ingest service hands over for one ALT allele."""

    variant: Variant
    carriers: bytes
    homozygous: bytes
    carrier_count: int


@dataclass(frozen=True, slots=True)
class VariantRow:
    id: int
    dataset_id: int
    variant: Variant
    carriers: bytes
    homozygous: bytes


@dataclass(frozen=True, slots=True)
class Locus:
    """Storage-level search: every field that is set must hold (AND)."""

    assemblies: tuple[str, ...] | None = None
    chromosome: str | None = None
    start: int | None = None  # exact start (sequence queries)
    overlap: tuple[int, int] | None = None  # [start, end) must overlap (range queries)
    start_between: tuple[int, int] | None = None  # bracket queries, inclusive
    end_between: tuple[int, int] | None = None
    reference: str | None = None
    alternate: str | None = None
    types: frozenset[VariantType] | None = None
    min_length: int | None = None
    max_length: int | None = None
    gene: str | None = None
    variant_id: str | None = None
    dataset_ids: tuple[int, ...] | None = None


_COLUMNS = (
    variants.c.id,
    variants.c.dataset_id,
    variants.c.assembly,
    variants.c.chromosome,
    variants.c.start,
    variants.c.end,
    variants.c.reference,
    variants.c.alternate,
    variants.c.variant_type,
    variants.c.carriers,
    variants.c.homozygous,
)


class VariantRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, dataset_id: int, file_id: int, alleles: Sequence[StoredAllele]) -> None:
        if not alleles:
            return
        rows = [_row(dataset_id, file_id, allele) for allele in alleles]
        result = await self._db.execute(
            insert(variants).returning(variants.c.id, sort_by_parameter_order=True), rows
        )
        ids = result.scalars().all()
        genes = [
            {"variant_id": pk, "gene": gene}
            for pk, allele in zip(ids, alleles, strict=True)
            for gene in allele.variant.genes
        ]
        if genes:
            await self._db.execute(insert(variant_genes), genes)

    async def find(self, locus: Locus, *, limit: int | None = None) -> list[VariantRow]:
        query = _search(select(*_COLUMNS), locus).order_by(variants.c.id)
        if limit is not None:
            query = query.limit(limit)
        return [_variant_row(row) for row in await self._db.execute(query)]

    async def genes(self, variant_pks: Sequence[int]) -> dict[int, tuple[str, ...]]:
        if not variant_pks:
            return {}
        query = (
            select(variant_genes.c.variant_id, variant_genes.c.gene)
            .where(variant_genes.c.variant_id.in_(variant_pks))
            .order_by(variant_genes.c.gene)
        )
        found: dict[int, list[str]] = {}
        for row in await self._db.execute(query):
            found.setdefault(row.variant_id, []).append(row.gene)
        return {pk: tuple(genes) for pk, genes in found.items()}

    async def remove_dataset(self, dataset_id: int) -> None:
        await self._db.execute(delete(variants).where(variants.c.dataset_id == dataset_id))


def _search(query: Select[Any], locus: Locus) -> Select[Any]:
    conditions = [c for c in _conditions(locus) if c is not None]
    if locus.gene is not None:
        query = query.join(variant_genes, variant_genes.c.variant_id == variants.c.id)
        conditions.append(variant_genes.c.gene == locus.gene)
    return query.where(and_(true(), *conditions))


def _conditions(locus: Locus) -> list[ColumnElement[bool] | None]:
    c = variants.c
    found: list[ColumnElement[bool] | None] = [
        c.assembly.in_(locus.assemblies) if locus.assemblies else None,
        c.chromosome == locus.chromosome if locus.chromosome is not None else None,
        c.start == locus.start if locus.start is not None else None,
        _overlaps(*locus.overlap) if locus.overlap else None,
        c.start.between(*locus.start_between) if locus.start_between else None,
        c.end.between(*locus.end_between) if locus.end_between else None,
        _bases(c.reference, locus.reference),
        _bases(c.alternate, locus.alternate),
        c.variant_type.in_(sorted(locus.types)) if locus.types else None,
        (c.end - c.start) >= locus.min_length if locus.min_length is not None else None,
        (c.end - c.start) <= locus.max_length if locus.max_length is not None else None,
        c.variant_id == locus.variant_id if locus.variant_id is not None else None,
        c.dataset_id.in_(locus.dataset_ids) if locus.dataset_ids is not None else None,
    ]
    return found


def _overlaps(start: int, end: int) -> ColumnElement[bool]:
    # Short variants start at most LONG_VARIANT bases before the window, so the locus index
    # bounds the scan; the few long ones are found through their partial index.
    c = variants.c
    short = and_(c.start >= start - LONG_VARIANT, c.start < end, c.end > start)
    long = and_(c.is_long, c.start < end, c.end > start)
    return or_(short, long)


def _bases(column: Any, bases: str | None) -> ColumnElement[bool] | None:
    if bases is None:
        return None
    if "N" in bases:
        # Beacon: N in query bases matches any base.
        return and_(column.like(bases.replace("N", "_")), column.not_like("<%"))
    return column == bases  # type: ignore[no-any-return]


def _row(dataset_id: int, file_id: int, allele: StoredAllele) -> dict[str, object]:
    v = allele.variant
    return {
        "dataset_id": dataset_id,
        "file_id": file_id,
        "assembly": v.assembly,
        "chromosome": v.chromosome,
        "start": v.start,
        "end": v.end,
        "reference": v.reference,
        "alternate": v.alternate,
        "variant_type": v.variant_type.value,
        "variant_id": v.variant_id,
        "is_long": v.length > LONG_VARIANT,
        "carrier_count": allele.carrier_count,
        "carriers": allele.carriers,
        "homozygous": allele.homozygous,
    }


def _variant_row(row: Any) -> VariantRow:
    variant = Variant(
        row.assembly,
        row.chromosome,
        row.start,
        row.end,
        row.reference,
        row.alternate,
        VariantType(row.variant_type),
    )
    return VariantRow(row.id, row.dataset_id, variant, bytes(row.carriers), bytes(row.homozygous))
