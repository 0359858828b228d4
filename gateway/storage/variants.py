"""Variant repository: bulk insert of ingested alleles and the indexed Beacon look-ups."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    FromClause,
    Select,
    Subquery,
    and_,
    bindparam,
    distinct,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.variants import Variant, VariantType
from gateway.storage.tables import LONG_VARIANT, datasets, variant_genes, variants


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
    deletion_of: str | None = None  # padded deletion of these bases ("" = of any bases)
    insertion_of: str | None = None  # padded insertion of these bases
    variant_id: str | None = None
    dataset_ids: tuple[int, ...] | None = None
    dataset_names: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CatalogStamp:
    """How many datasets exist and the sum of their revisions: changes with every policy
    change or new dataset, so a reader knows when its copy of the catalog is stale."""

    datasets: int
    revisions: int


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
            {"variant_id": pk, "gene": gene, "gene_key": gene.upper()}
            for pk, allele in zip(ids, alleles, strict=True)
            for gene in allele.variant.genes
        ]
        if genes:
            await self._db.execute(insert(variant_genes), genes)

    async def find(self, locus: Locus) -> list[VariantRow]:
        """Every stored allele matching ``locus``, in storage order."""
        shape, parameters = _shape(locus)
        rows = await self._db.execute(_statement(shape), parameters)
        return _in_storage_order(_variant_row(row) for row in rows)

    async def find_with_catalog(
        self, locus: Locus, *, limit: int
    ) -> tuple[list[VariantRow], CatalogStamp]:
        """``find`` (at most ``limit`` rows) and the catalog stamp in one round trip (the hot
        Beacon path)."""
        shape, parameters = _shape(locus)
        statement = _stamped_statement(shape)
        rows = (await self._db.execute(statement, {**parameters, "row_limit": limit})).all()
        stamp = CatalogStamp(int(rows[0].catalog_datasets), int(rows[0].catalog_revisions))
        found = (_variant_row(row) for row in rows if row.id is not None)
        return _in_storage_order(found), stamp

    async def count_with_catalog(self, locus: Locus) -> tuple[dict[int, int], CatalogStamp]:
        """Distinct matching variants per dataset, counted by the database, and the catalog
        stamp, in one round trip: broad queries need no row in Python."""
        shape, parameters = _shape(locus)
        rows = (await self._db.execute(_counting_statement(shape), parameters)).all()
        stamp = CatalogStamp(int(rows[0].catalog_datasets), int(rows[0].catalog_revisions))
        counts = {row.dataset_id: int(row.variants) for row in rows if row.dataset_id is not None}
        return counts, stamp

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


def _shape(locus: Locus) -> tuple[frozenset[str], dict[str, object]]:
    """Which conditions apply, and their values as bind parameters."""
    values: dict[str, object] = {}
    if locus.assemblies:
        values["assemblies"] = list(locus.assemblies)
    if locus.chromosome is not None:
        values["chromosome"] = locus.chromosome
    if locus.start is not None:
        values["start"] = locus.start
    if locus.overlap:
        values["overlap_start"], values["overlap_end"] = locus.overlap
        values["overlap_floor"] = locus.overlap[0] - LONG_VARIANT
    if locus.start_between:
        values["start_min"], values["start_max"] = locus.start_between
    if locus.end_between:
        values["end_min"], values["end_max"] = locus.end_between
    for name, bases in (("reference", locus.reference), ("alternate", locus.alternate)):
        if bases is not None and "N" in bases:
            values[f"{name}_like"] = bases.replace("N", "_")  # Beacon: N matches any base
        elif bases is not None:
            values[name] = bases
    if locus.types:
        values["types"] = sorted(locus.types)
    if locus.min_length is not None:
        values["min_length"] = locus.min_length
    if locus.max_length is not None:
        values["max_length"] = locus.max_length
    if locus.gene is not None:
        values["gene"] = locus.gene.upper()
    if locus.deletion_of == "":
        values["any_deletion"] = True
    elif locus.deletion_of is not None:
        values["deletion_of"] = locus.deletion_of
    if locus.insertion_of is not None:
        values["insertion_of"] = locus.insertion_of
    if locus.variant_id is not None:
        values["variant_id"] = locus.variant_id
    if locus.dataset_ids is not None:
        values["dataset_ids"] = list(locus.dataset_ids)
    if locus.dataset_names is not None:
        values["dataset_names"] = list(locus.dataset_names)
    return frozenset(values), values


def _in_storage_order(rows: Iterable[VariantRow]) -> list[VariantRow]:
    # Sorted here, not in SQL: an ORDER BY id tempts SQLite's planner into the primary key
    # order (a full scan) instead of the locus index.
    return sorted(rows, key=lambda row: row.id)


@functools.cache
def _statement(shape: frozenset[str]) -> Select[Any]:
    """One statement per combination of conditions, built once: building a SQLAlchemy
    expression costs more than running an indexed look-up."""
    return select(*_COLUMNS).select_from(_source(shape)).where(_where(shape))


def _catalog_summary() -> Subquery:
    # One row: the catalog stamp. Outer-joined to the matches, so that a miss still
    # returns it.
    return select(
        func.count(datasets.c.id).label("catalog_datasets"),
        func.coalesce(func.sum(datasets.c.revision), 0).label("catalog_revisions"),
    ).subquery("catalog")


@functools.cache
def _counting_statement(shape: frozenset[str]) -> Select[Any]:
    catalog = _catalog_summary()
    return (
        select(
            catalog.c.catalog_datasets,
            catalog.c.catalog_revisions,
            variants.c.dataset_id,
            func.count(distinct(variants.c.variant_id)).label("variants"),
        )
        .select_from(catalog.outerjoin(_source(shape), _where(shape)))
        .group_by(catalog.c.catalog_datasets, catalog.c.catalog_revisions, variants.c.dataset_id)
    )


@functools.cache
def _stamped_statement(shape: frozenset[str]) -> Select[Any]:
    catalog = _catalog_summary()
    return (
        select(catalog.c.catalog_datasets, catalog.c.catalog_revisions, *_COLUMNS)
        .select_from(catalog.outerjoin(_source(shape), _where(shape)))
        .limit(bindparam("row_limit"))
    )


def _source(shape: frozenset[str]) -> FromClause:
    if "gene" in shape:
        return variants.join(variant_genes, variant_genes.c.variant_id == variants.c.id)
    return variants


def _where(shape: frozenset[str]) -> ColumnElement[bool]:
    return and_(true(), *(_CONDITIONS[name]() for name in sorted(shape) if name in _CONDITIONS))


def _overlaps() -> ColumnElement[bool]:
    # Short variants start at most LONG_VARIANT bases before the window, so the locus index
    # bounds the scan; the few long ones are found through their partial index.
    c = variants.c
    start: BindParameter[int] = bindparam("overlap_start")
    end: BindParameter[int] = bindparam("overlap_end")
    short = and_(c.start >= bindparam("overlap_floor"), c.start < end, c.end > start)
    long = and_(c.is_long, c.start < end, c.end > start)
    return or_(short, long)


_C = variants.c
_CONDITIONS: dict[str, Callable[[], ColumnElement[bool]]] = {
    "assemblies": lambda: _C.assembly.in_(bindparam("assemblies", expanding=True)),
    "chromosome": lambda: _C.chromosome == bindparam("chromosome"),
    "start": lambda: _C.start == bindparam("start"),
    "overlap_start": _overlaps,
    "start_min": lambda: _C.start.between(bindparam("start_min"), bindparam("start_max")),
    "end_min": lambda: _C.end.between(bindparam("end_min"), bindparam("end_max")),
    "reference": lambda: _C.reference == bindparam("reference"),
    "reference_like": lambda: and_(
        _C.reference.like(bindparam("reference_like")), _C.reference.not_like("<%")
    ),
    "alternate": lambda: _C.alternate == bindparam("alternate"),
    "alternate_like": lambda: and_(
        _C.alternate.like(bindparam("alternate_like")), _C.alternate.not_like("<%")
    ),
    "types": lambda: _C.variant_type.in_(bindparam("types", expanding=True)),
    "min_length": lambda: (_C.end - _C.start) >= bindparam("min_length"),
    "max_length": lambda: (_C.end - _C.start) <= bindparam("max_length"),
    "gene": lambda: variant_genes.c.gene_key == bindparam("gene"),
    # VCF alleles share their first (padding) base: REF = ALT + deleted, ALT = REF + inserted.
    "deletion_of": lambda: and_(
        func.length(_C.alternate) == 1,
        _C.reference == _C.alternate.concat(bindparam("deletion_of")),
    ),
    "any_deletion": lambda: and_(
        func.length(_C.alternate) == 1,
        func.length(_C.reference) > 1,
        func.substr(_C.reference, 1, 1) == _C.alternate,
    ),
    "insertion_of": lambda: and_(
        func.length(_C.reference) == 1,
        _C.alternate == _C.reference.concat(bindparam("insertion_of")),
    ),
    "variant_id": lambda: _C.variant_id == bindparam("variant_id"),
    "dataset_ids": lambda: _C.dataset_id.in_(bindparam("dataset_ids", expanding=True)),
    "dataset_names": lambda: _C.dataset_id.in_(
        select(datasets.c.id).where(datasets.c.name.in_(bindparam("dataset_names", expanding=True)))
    ),
}


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
