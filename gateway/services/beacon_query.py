"""Use case: answer Beacon v2 queries over the variant store.

Every answer passes the same steps: which datasets the caller sees (security level), at which
granularity (request, dataset maximum, caller), which samples count (consent basis and
individual filters), then the indexed variant look-up and the carrier-set algebra.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.beacon.framework import (
    BeaconDescription,
    configuration_response,
    entry_types_response,
    filtering_terms_response,
    info_response,
    map_response,
    service_info,
    sex_filtering_terms,
)
from gateway.beacon.records import (
    CaseLevel,
    dataset_record,
    individual_record,
    returned_schema,
    variant_record,
)
from gateway.beacon.requests import BeaconRequest, VariantQuery
from gateway.beacon.responses import (
    API_VERSION,
    Count,
    ResponseContext,
    ResultSet,
    boolean_response,
    collections_response,
    count_response,
    resultsets_response,
    select_result_sets,
)
from gateway.domain.assemblies import ASSEMBLIES, canonical_chromosome, normalize_assembly
from gateway.domain.carriers import as_int, positions_of
from gateway.domain.datasets import Dataset, DatasetStats
from gateway.domain.granularity import ANONYMOUS_LEVELS, Granularity, SecurityLevel, least
from gateway.domain.variants import Variant
from gateway.errors import BadBeaconQuery, BadRequest, NotFound
from gateway.services.beacon_catalog import DatasetCatalog
from gateway.services.beacon_scope import (
    Visible,
    counting_mask,
    needs_samples,
    sex_filter,
    visible_datasets,
)
from gateway.settings import Settings
from gateway.storage.database import Database
from gateway.storage.datasets import DatasetRepository
from gateway.storage.samples import SampleRepository, SampleRow
from gateway.storage.variants import Locus, VariantRepository, VariantRow

_GENOMIC_HGVS = re.compile(r"^(NC_\d{6}\.\d+):g\.(\d+)([ACGT])>([ACGT])$")


@dataclass(frozen=True, slots=True)
class BeaconOptions:
    description: BeaconDescription
    small_count_floor: int
    api_version: str = API_VERSION

    @property
    def beacon_id(self) -> str:
        return self.description.beacon_id

    @property
    def default_granularity(self) -> Granularity:
        return self.description.default_granularity

    @classmethod
    def from_settings(cls, settings: Settings, version: str) -> BeaconOptions:
        description = BeaconDescription(
            beacon_id=settings.gateway_id,
            name=f"EU health data gateway Beacon ({settings.country})",
            country=settings.country,
            base_url=f"{settings.public_base_url}/beacon",
            version=version,
            environment=settings.env,
            organization_name=f"National eHealth operator ({settings.country})",
            default_granularity=Granularity(settings.beacon_default_granularity),
            security_levels=tuple(SecurityLevel),
            description="Genomic variant discovery over this member state's variant store; "
            "only individuals who have not opted out of research use count.",
        )
        return cls(description, settings.small_count_floor)


@dataclass(frozen=True, slots=True)
class Scope:
    """The path part of a request: ``/g_variants/{id}``, ``/datasets/{id}/individuals``, …"""

    variant_id: str | None = None
    dataset: str | None = None
    individual_id: str | None = None


@dataclass(slots=True)
class _Hit:
    """One variant in one dataset, its carriers merged across the dataset's files."""

    row: VariantRow
    carriers: int
    homozygous: int


@dataclass(slots=True)
class _DatasetView:
    visible: Visible
    samples: list[SampleRow] = field(default_factory=list)
    mask: int | None = None


class BeaconService:
    def __init__(self, database: Database, options: BeaconOptions) -> None:
        self._database = database
        self._options = options
        self._documents = _documents(options.description)
        self._catalog = DatasetCatalog()

    def document(self, name: str) -> dict[str, Any]:
        """An informational document: info, service-info, configuration, map, entry_types,
        filtering_terms."""
        return self._documents[name]

    async def variants(
        self,
        request: BeaconRequest,
        scope: Scope = Scope(),
        caller_levels: frozenset[SecurityLevel] = ANONYMOUS_LEVELS,
    ) -> dict[str, object]:
        locus = _locus(request.variant, scope, _names(request, scope))
        async with self._database.read() as connection:
            rows, stamp = await VariantRepository(connection).find_with_catalog(locus)
            everything = await self._catalog.datasets(connection, stamp)
            views, granularity = await self._views(
                connection,
                request,
                scope,
                caller_levels,
                everything,
                with_samples=scope.individual_id is not None,
            )
            rows = [row for row in rows if row.dataset_id in views]
            if scope.individual_id is not None:
                rows = _carried_by(rows, scope.individual_id, views)
            hits = _hits(rows, views)
            if granularity is Granularity.RECORD:
                return await self._variant_records(connection, request, views, hits)
        return self._summary(
            request, "genomicVariation", granularity, sum(len(h) for h in hits.values())
        )

    async def individuals(
        self,
        request: BeaconRequest,
        scope: Scope = Scope(),
        caller_levels: frozenset[SecurityLevel] = ANONYMOUS_LEVELS,
    ) -> dict[str, object]:
        if _has_variant_parameters(request.variant):
            raise BadBeaconQuery(
                "individuals take filters, not variant parameters; "
                "use /g_variants/{id}/individuals for carriers"
            )
        async with self._database.read() as connection:
            everything = await DatasetRepository(connection).all()
            views, granularity = await self._views(
                connection, request, scope, caller_levels, everything, with_samples=True
            )
            people = await self._matching_individuals(connection, scope, views)
        if granularity is not Granularity.RECORD:
            return self._summary(
                request, "individual", granularity, sum(len(p) for p in people.values())
            )
        result_sets = [
            self._result_set(
                request,
                views[pk].visible.dataset.name,
                rows,
                lambda row: individual_record(row.individual_id, row.sex),
            )
            for pk, rows in people.items()
        ]
        return self._records(request, "individual", result_sets)

    async def datasets(
        self,
        request: BeaconRequest,
        scope: Scope = Scope(),
        caller_levels: frozenset[SecurityLevel] = ANONYMOUS_LEVELS,
    ) -> dict[str, object]:
        async with self._database.read() as connection:
            repo = DatasetRepository(connection)
            visible = visible_datasets(
                await repo.all(), Granularity.RECORD, caller_levels, _names(request, scope)
            )
            if scope.dataset and not visible:
                raise NotFound(f"dataset {scope.dataset!r} not found")
            records = []
            for item in visible:
                stats = await repo.stats(item.dataset)
                records.append(_dataset_record(item.dataset, stats))
        count = Count(len(records), 0)
        context = self._context(request, "dataset")
        return collections_response(context, exists=bool(records), count=count, collections=records)

    # -- shared steps --------------------------------------------------------------------

    async def _views(
        self,
        connection: AsyncConnection,
        request: BeaconRequest,
        scope: Scope,
        caller_levels: frozenset[SecurityLevel],
        everything: Sequence[Dataset],
        with_samples: bool = False,
    ) -> tuple[dict[int, _DatasetView], Granularity]:
        requested = request.requested_granularity or self._options.default_granularity
        visible = visible_datasets(everything, requested, caller_levels, _names(request, scope))
        if scope.dataset and not visible:
            raise NotFound(f"dataset {scope.dataset!r} not found")
        sexes = sex_filter(request.filters)
        views = {item.dataset.id: _DatasetView(item) for item in visible}
        wanted = [
            pk
            for pk, view in views.items()
            if with_samples or needs_samples(view.visible.dataset, sexes)
        ]
        if wanted:
            for row in await SampleRepository(connection).in_datasets(wanted):
                views[row.dataset_id].samples.append(row)
        for view in views.values():
            view.mask = counting_mask(view.visible.dataset, view.samples, sexes)
        granularity = least(requested, *(item.granularity for item in visible))
        return views, granularity

    async def _variant_records(
        self,
        connection: AsyncConnection,
        request: BeaconRequest,
        views: dict[int, _DatasetView],
        hits: dict[int, list[_Hit]],
    ) -> dict[str, object]:
        pages = {pk: _page(request, found) for pk, found in hits.items()}
        shown = [hit.row.id for page in pages.values() for hit in page]
        genes = await VariantRepository(connection).genes(shown)
        missing = [pk for pk, view in views.items() if not view.samples and pages.get(pk)]
        if missing:
            for row in await SampleRepository(connection).in_datasets(missing):
                views[row.dataset_id].samples.append(row)
        result_sets = []
        for pk, view in views.items():
            found = hits.get(pk, [])
            records = [
                variant_record(_with_genes(hit.row, genes), case_level=_case_level(hit, view))
                for hit in pages.get(pk, [])
            ]
            result_sets.append(self._set(view.visible.dataset.name, len(found), records))
        return self._records(request, "genomicVariation", result_sets)

    async def _matching_individuals(
        self, connection: AsyncConnection, scope: Scope, views: dict[int, _DatasetView]
    ) -> dict[int, list[SampleRow]]:
        carriers: dict[int, int] = {}
        if scope.variant_id is not None:
            rows = await VariantRepository(connection).find(
                Locus(variant_id=scope.variant_id, dataset_ids=tuple(views))
            )
            if not rows:
                raise NotFound(f"variant {scope.variant_id!r} not found")
            for hit in (h for found in _hits(rows, views).values() for h in found):
                carriers[hit.row.dataset_id] = carriers.get(hit.row.dataset_id, 0) | hit.carriers
        people: dict[int, list[SampleRow]] = {}
        for pk, view in views.items():
            chosen = [
                row
                for row in view.samples
                if (view.mask is None or view.mask >> row.position & 1)
                and (scope.variant_id is None or carriers.get(pk, 0) >> row.position & 1)
                and (scope.individual_id is None or row.individual_id == scope.individual_id)
            ]
            people[pk] = _one_per_individual(chosen)
        if scope.individual_id is not None and not any(people.values()):
            raise NotFound(f"individual {scope.individual_id!r} not found")
        return people

    # -- rendering -----------------------------------------------------------------------

    def _context(self, request: BeaconRequest, entity: str) -> ResponseContext:
        return ResponseContext(
            beacon_id=self._options.beacon_id,
            api_version=self._options.api_version,
            returned_schemas=(returned_schema(entity),),
            received_summary=request.summary(self._options.default_granularity),
        )

    def _count(self, value: int, entity: str) -> Count:
        # The floor protects people: counts of individuals, not of variants. Records are
        # exact by nature (the caller sees them), so record answers carry exact counts.
        floor = self._options.small_count_floor if entity == "individual" else 0
        return Count(value, floor)

    def _summary(
        self, request: BeaconRequest, entity: str, granularity: Granularity, total: int
    ) -> dict[str, object]:
        context = self._context(request, entity)
        if granularity is Granularity.BOOLEAN:
            return boolean_response(context, exists=total > 0)
        return count_response(context, exists=total > 0, count=self._count(total, entity))

    def _set(self, dataset: str, total: int, records: list[dict[str, object]]) -> ResultSet:
        return ResultSet(
            dataset_id=dataset, exists=total > 0, count=Count(total, 0), results=tuple(records)
        )

    def _result_set(
        self,
        request: BeaconRequest,
        dataset: str,
        rows: Sequence[SampleRow],
        render: Callable[[SampleRow], dict[str, Any]],
    ) -> ResultSet:
        return self._set(dataset, len(rows), [render(row) for row in _page(request, rows)])

    def _records(
        self, request: BeaconRequest, entity: str, result_sets: list[ResultSet]
    ) -> dict[str, object]:
        chosen = select_result_sets(result_sets, request.include_resultset_responses)
        total = sum(rs.count.value for rs in result_sets)
        context = self._context(request, entity)
        return resultsets_response(
            context, exists=total > 0, count=Count(total, 0), result_sets=chosen
        )


# -- pure helpers ---------------------------------------------------------------------------


def _names(request: BeaconRequest, scope: Scope) -> tuple[str, ...]:
    if scope.dataset is not None:
        if request.dataset_ids and scope.dataset not in request.dataset_ids:
            return ("\0",)  # the path and datasetIds disagree: nothing matches
        return (scope.dataset,)
    return request.dataset_ids


def _has_variant_parameters(query: VariantQuery) -> bool:
    return query.kind != "none"


def _locus(query: VariantQuery, scope: Scope, dataset_names: tuple[str, ...]) -> Locus:
    names = dataset_names or None
    base = Locus(variant_id=scope.variant_id, dataset_names=names)
    if query.kind == "none":
        return base
    if query.kind == "aminoacid":
        raise BadBeaconQuery("aminoacidChange queries are not supported by this beacon")
    if query.kind == "hgvs":
        return _hgvs_locus(query, base)
    assemblies, chromosome = _reference(query.reference_name, query.assembly_id)
    common = Locus(
        assemblies=assemblies,
        chromosome=chromosome,
        types=query.variant_types,
        min_length=query.min_length,
        max_length=query.max_length,
        alternate=query.alternate_bases,
        reference=query.reference_bases,
        variant_id=scope.variant_id,
        dataset_names=names,
    )
    if query.kind == "sequence":
        return _replace(common, start=query.start[0])
    if query.kind == "range":
        return _replace(common, overlap=(query.start[0], query.end[0]))
    if query.kind == "bracket":
        return _replace(
            common,
            start_between=(query.start[0], query.start[1]),
            end_between=(query.end[0], query.end[1]),
        )
    return _replace(common, gene=query.gene_id)


def _replace(locus: Locus, **changes: object) -> Locus:
    return replace(locus, **changes)  # type: ignore[arg-type]


def _hgvs_locus(query: VariantQuery, base: Locus) -> Locus:
    match = _GENOMIC_HGVS.match(query.genomic_allele_short_form or "")
    if not match:
        raise BadBeaconQuery(
            "genomicAlleleShortForm: only genomic substitutions such as "
            "NC_000017.11:g.43045711G>A are supported"
        )
    accession, position, reference, alternate = match.groups()
    assemblies, chromosome = _reference(accession, query.assembly_id)
    return _replace(
        base,
        assemblies=assemblies,
        chromosome=chromosome,
        start=int(position) - 1,
        reference=reference,
        alternate=alternate,
    )


def _reference(
    name: str | None, assembly_id: str | None
) -> tuple[tuple[str, ...] | None, str | None]:
    """Resolve ``referenceName`` (+ ``assemblyId``) to the assemblies and the stored name."""
    try:
        assemblies = (normalize_assembly(assembly_id),) if assembly_id else ASSEMBLIES
    except BadRequest as exc:
        raise BadBeaconQuery(exc.message) from exc
    if name is None:
        return (assemblies if assembly_id else None), None
    found: dict[str, list[str]] = {}
    for assembly in assemblies:
        try:
            found.setdefault(canonical_chromosome(name, assembly), []).append(assembly)
        except BadRequest:
            continue
    if not found:
        raise BadBeaconQuery(
            f"referenceName {name!r} is not a sequence of {' or '.join(assemblies)}"
        )
    chromosome, matching = next(iter(found.items()))
    restricted = assembly_id is not None or len(matching) < len(ASSEMBLIES)
    return (tuple(matching) if restricted else None), chromosome


def _hits(rows: Sequence[VariantRow], views: dict[int, _DatasetView]) -> dict[int, list[_Hit]]:
    merged: dict[tuple[int, str], _Hit] = {}
    for row in rows:
        key = (row.dataset_id, row.variant.variant_id)
        hit = merged.get(key)
        if hit is None:
            merged[key] = _Hit(row, as_int(row.carriers), as_int(row.homozygous))
        else:
            hit.carriers |= as_int(row.carriers)
            hit.homozygous |= as_int(row.homozygous)
    found: dict[int, list[_Hit]] = {}
    for (dataset_id, _), hit in merged.items():
        view = views[dataset_id]
        if _counts(hit, view):
            found.setdefault(dataset_id, []).append(hit)
    return found


def _counts(hit: _Hit, view: _DatasetView) -> bool:
    if view.mask is None:
        # Sites-only datasets (no samples) only count when nothing narrows the samples.
        return hit.carriers != 0 or not hit.row.carriers
    return hit.carriers & view.mask != 0


def _carried_by(
    rows: Sequence[VariantRow], individual_id: str, views: dict[int, _DatasetView]
) -> list[VariantRow]:
    positions = {
        (view.visible.dataset.id, row.position)
        for view in views.values()
        for row in view.samples
        if row.individual_id == individual_id
    }
    return [
        row
        for row in rows
        if any(as_int(row.carriers) >> pos & 1 for ds, pos in positions if ds == row.dataset_id)
    ]


T = TypeVar("T")


def _page(request: BeaconRequest, items: Sequence[T]) -> list[T]:
    first = request.skip * request.limit
    return list(items[first : first + request.limit])


def _with_genes(row: VariantRow, genes: dict[int, tuple[str, ...]]) -> Variant:
    return replace(row.variant, genes=genes.get(row.id, ()))


def _case_level(hit: _Hit, view: _DatasetView) -> list[CaseLevel]:
    carriers = hit.carriers if view.mask is None else hit.carriers & view.mask
    by_position = {row.position: row for row in view.samples}
    return [
        CaseLevel(
            by_position[p].sample_id, by_position[p].individual_id, bool(hit.homozygous >> p & 1)
        )
        for p in positions_of(carriers)
        if p in by_position
    ]


def _one_per_individual(rows: Sequence[SampleRow]) -> list[SampleRow]:
    seen: dict[str, SampleRow] = {}
    for row in rows:
        seen.setdefault(row.individual_id, row)
    return list(seen.values())


def _documents(description: BeaconDescription) -> dict[str, dict[str, Any]]:
    return {
        "info": info_response(description),
        "service-info": service_info(description),
        "configuration": configuration_response(description),
        "map": map_response(description),
        "entry_types": entry_types_response(description),
        "filtering_terms": filtering_terms_response(
            description, sex_filtering_terms(("individual", "genomicVariation"))
        ),
    }


def _dataset_record(dataset: Dataset, stats: DatasetStats) -> dict[str, Any]:
    return dataset_record(
        dataset.name,
        dataset.name,
        description=dataset.description,
        assembly=dataset.assembly,
        security=dataset.policy.security_level,
        duo=dataset.policy.duo_codes,
        created=dataset.created_at.isoformat(),
        updated=dataset.updated_at.isoformat(),
        variant_count=stats.variants,
        sample_count=stats.samples,
    )
