"""Use case: answer Beacon v2 queries over the variant store.

Every answer passes the same steps: which datasets the caller sees (security level), at which
granularity (request, dataset maximum, caller), which samples count (consent basis and
individual filters), then the indexed variant look-up and the carrier-set algebra.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

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
from gateway.beacon.scalars import printable
from gateway.domain.access import ANONYMOUS, CallerAccess
from gateway.domain.consent import research_permitted
from gateway.domain.datasets import Dataset
from gateway.domain.granularity import ConsentBasis, Granularity, SecurityLevel, least
from gateway.domain.samples import Identifier
from gateway.errors import BadBeaconQuery, NotFound
from gateway.services.beacon_catalog import DatasetCatalog
from gateway.services.beacon_hits import (
    DatasetView,
    Hit,
    carried_by,
    case_level,
    counting_positions,
    merge_hits,
    one_per_individual,
    page,
    with_genes,
)
from gateway.services.beacon_locus import locus_for
from gateway.services.beacon_scope import (
    ResearchDefault,
    Visible,
    counting_mask,
    diagnosis_terms,
    ehds_default,
    individual_criteria,
    needs_samples,
    visible_datasets,
)
from gateway.settings import Settings
from gateway.storage.consents import ConsentRepository
from gateway.storage.database import Database
from gateway.storage.datasets import DatasetRepository
from gateway.storage.samples import SampleRepository, SampleRow
from gateway.storage.variants import Locus, VariantRepository, VariantRow

_THREAD_ABOVE = 5_000


@dataclass(frozen=True, slots=True)
class BeaconOptions:
    description: BeaconDescription
    small_count_floor: int
    max_scan: int = 100_000
    api_version: str = API_VERSION
    research_default: ResearchDefault = ehds_default

    @property
    def beacon_id(self) -> str:
        return self.description.beacon_id

    @property
    def default_granularity(self) -> Granularity:
        return self.description.default_granularity

    @classmethod
    def from_settings(
        cls, settings: Settings, version: str, research_default: ResearchDefault = ehds_default
    ) -> BeaconOptions:
        description = describe_beacon(
            settings,
            version,
            beacon_id=settings.gateway_id,
            name=f"EU health data gateway Beacon ({settings.country})",
            path="/beacon",
            text="Genomic variant discovery over this member state's variant store; "
            "only individuals who have not opted out of research use count.",
        )
        return cls(
            description,
            settings.small_count_floor,
            settings.beacon_max_scan,
            research_default=research_default,
        )


@dataclass(frozen=True, slots=True)
class Scope:
    """The path part of a request: ``/g_variants/{id}``, ``/datasets/{id}/individuals``, …"""

    variant_id: str | None = None
    dataset: str | None = None
    individual_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("variant_id", "dataset", "individual_id"):
            value = getattr(self, name)
            if value is not None:
                printable(value, name)


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
        access: CallerAccess = ANONYMOUS,
    ) -> dict[str, object]:
        locus = locus_for(request.variant, scope.variant_id, _names(request, scope))
        if _countable(request, scope):
            counted = await self._counted_variants(request, scope, access, locus)
            if counted is not None:
                return counted
        async with self._database.read() as connection:
            rows, stamp = await VariantRepository(connection).find_with_catalog(
                locus, limit=self._options.max_scan + 1
            )
            if len(rows) > self._options.max_scan:
                raise BadBeaconQuery(
                    f"the query matches more than {self._options.max_scan} stored variants; "
                    "narrow it with a range, a gene, a variant type or datasetIds"
                )
            everything = await self._catalog.datasets(connection, stamp)
            views, granularity = await self._views(
                connection,
                request,
                scope,
                access,
                everything,
                with_samples=scope.individual_id is not None,
            )
            rows = [row for row in rows if row.dataset_id in views]
            if scope.individual_id is not None:
                rows = carried_by(rows, _individual(views, scope.individual_id))
            hits = await _merged(rows, views)
            if granularity is Granularity.RECORD:
                return await self._variant_records(connection, request, views, hits)
        return self._summary(
            request, "genomicVariation", granularity, sum(len(h) for h in hits.values())
        )

    async def _counted_variants(
        self,
        request: BeaconRequest,
        scope: Scope,
        access: CallerAccess,
        locus: Locus,
    ) -> dict[str, object] | None:
        """A broad boolean or count answer counted by the database, or None when some
        dataset's samples must be checked one by one (consent basis, filters)."""
        async with self._database.read() as connection:
            counts, stamp = await VariantRepository(connection).count_with_catalog(locus)
            everything = await self._catalog.datasets(connection, stamp)
        visible, granularity = self._visible(request, scope, access, everything)
        criteria = individual_criteria(request.filters)
        if granularity is Granularity.RECORD or any(
            needs_samples(item.dataset, criteria) for item in visible if counts.get(item.dataset.id)
        ):
            return None
        total = sum(counts.get(item.dataset.id, 0) for item in visible)
        return self._summary(request, "genomicVariation", granularity, total)

    async def individuals(
        self,
        request: BeaconRequest,
        scope: Scope = Scope(),
        access: CallerAccess = ANONYMOUS,
    ) -> dict[str, object]:
        if _has_variant_parameters(request.variant):
            raise BadBeaconQuery(
                "individuals take filters, not variant parameters; "
                "use /g_variants/{id}/individuals for carriers"
            )
        async with self._database.read() as connection:
            everything = await DatasetRepository(connection).all()
            views, granularity = await self._views(
                connection, request, scope, access, everything, with_samples=True
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
                lambda row: individual_record(
                    row.individual_id, row.sex, diseases=diagnosis_terms(row.diagnoses)
                ),
            )
            for pk, rows in people.items()
        ]
        return self._records(request, "individual", result_sets)

    async def datasets(
        self,
        request: BeaconRequest,
        scope: Scope = Scope(),
        access: CallerAccess = ANONYMOUS,
    ) -> dict[str, object]:
        async with self._database.read() as connection:
            repo = DatasetRepository(connection)
            visible = visible_datasets(
                await repo.all(), Granularity.RECORD, access, _names(request, scope)
            )
        if scope.dataset and not visible:
            raise NotFound(f"dataset {scope.dataset!r} not found")
        # Dataset descriptions are collections unless the caller asks for less; they name
        # no sample or variant counts, which would bypass the consent basis and the floor.
        granularity = request.requested_granularity or Granularity.RECORD
        if granularity is not Granularity.RECORD:
            return self._summary(request, "dataset", granularity, len(visible))
        records = [_dataset_record(item.dataset) for item in visible]
        context = self._context(request, "dataset")
        count = Count(len(records), 0)
        return collections_response(context, exists=bool(records), count=count, collections=records)

    # -- shared steps --------------------------------------------------------------------

    async def _views(
        self,
        connection: AsyncConnection,
        request: BeaconRequest,
        scope: Scope,
        access: CallerAccess,
        everything: Sequence[Dataset],
        with_samples: bool = False,
    ) -> tuple[dict[int, DatasetView], Granularity]:
        visible, granularity = self._visible(request, scope, access, everything)
        criteria = individual_criteria(request.filters)
        views = {item.dataset.id: DatasetView(item) for item in visible}
        wanted = [
            pk
            for pk, view in views.items()
            if with_samples or needs_samples(view.visible.dataset, criteria)
        ]
        if wanted:
            for row in await SampleRepository(connection).in_datasets(wanted):
                views[row.dataset_id].samples.append(row)
        research = await self._research_choices(connection, views)
        for view in views.values():
            view.mask = counting_mask(view.visible.dataset, view.samples, criteria, research)
        return views, granularity

    async def _research_choices(
        self, connection: AsyncConnection, views: dict[int, DatasetView]
    ) -> ResearchDefault:
        """Who counts for research, read at this very query (no cache: an opt-out applies to
        the next answer): each linked citizen's own choice, else their country's default."""
        linked = {
            row.identifier
            for view in views.values()
            if view.visible.dataset.policy.consent_basis is ConsentBasis.CITIZEN
            for row in view.samples
            if row.identifier is not None
        }
        choices = await ConsentRepository(connection).for_citizens(linked)
        default = self._options.research_default
        now = datetime.now(UTC)

        def permitted(who: Identifier) -> bool:
            own = choices.get(who)
            return research_permitted(own, default(who), now) if own else default(who)

        return permitted

    def _visible(
        self,
        request: BeaconRequest,
        scope: Scope,
        access: CallerAccess,
        everything: Sequence[Dataset],
    ) -> tuple[list[Visible], Granularity]:
        """The datasets the caller sees, and the granularity of the whole answer."""
        requested = request.requested_granularity or self._options.default_granularity
        visible = visible_datasets(everything, requested, access, _names(request, scope))
        if scope.dataset and not visible:
            raise NotFound(f"dataset {scope.dataset!r} not found")
        return visible, least(requested, *(item.granularity for item in visible))

    async def _variant_records(
        self,
        connection: AsyncConnection,
        request: BeaconRequest,
        views: dict[int, DatasetView],
        hits: dict[int, list[Hit]],
    ) -> dict[str, object]:
        pages = {pk: page(request, found) for pk, found in hits.items()}
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
                variant_record(with_genes(hit.row, genes), case_level=case_level(hit, view))
                for hit in pages.get(pk, [])
            ]
            result_sets.append(self._set(view.visible.dataset.name, len(found), records))
        return self._records(request, "genomicVariation", result_sets)

    async def _matching_individuals(
        self, connection: AsyncConnection, scope: Scope, views: dict[int, DatasetView]
    ) -> dict[int, list[SampleRow]]:
        carriers: dict[int, int] = {}
        if scope.variant_id is not None:
            rows = await VariantRepository(connection).find(
                Locus(variant_id=scope.variant_id, dataset_ids=tuple(views))
            )
            hits = [h for found in merge_hits(rows, views).values() for h in found]
            if not hits:
                # The same answer whether nobody carries it or only people who do not count.
                raise NotFound(f"variant {scope.variant_id!r} not found")
            for hit in hits:
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
            people[pk] = one_per_individual(chosen)
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
        return self._set(dataset, len(rows), [render(row) for row in page(request, rows)])

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
            raise BadBeaconQuery(
                f"datasetIds {list(request.dataset_ids)} does not include the dataset of the "
                f"path, {scope.dataset!r}"
            )
        return (scope.dataset,)
    return request.dataset_ids


def _has_variant_parameters(query: VariantQuery) -> bool:
    return query.kind != "none"


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


def _countable(request: BeaconRequest, scope: Scope) -> bool:
    """Broad queries (no exact allele, no individual) not asking for records."""
    return (
        request.variant.kind in ("none", "range", "bracket", "gene")
        and scope.variant_id is None
        and scope.individual_id is None
        and request.requested_granularity is not Granularity.RECORD
    )


async def _merged(rows: list[VariantRow], views: dict[int, DatasetView]) -> dict[int, list[Hit]]:
    # Large answers are merged in a worker thread so that the event loop keeps serving.
    if len(rows) < _THREAD_ABOVE:
        return merge_hits(rows, views)
    return await asyncio.to_thread(merge_hits, rows, views)


def _individual(views: dict[int, DatasetView], individual_id: str) -> dict[int, int]:
    positions = counting_positions(views, individual_id)
    if not positions:
        raise NotFound(f"individual {individual_id!r} not found")
    return positions


def _dataset_record(dataset: Dataset) -> dict[str, Any]:
    return dataset_record(
        dataset.name,
        dataset.name,
        description=dataset.description,
        assembly=dataset.assembly,
        security=dataset.policy.security_level,
        duo=dataset.policy.duo_codes,
        created=_utc(dataset.created_at).isoformat(),
        updated=_utc(dataset.updated_at).isoformat(),
        variant_count=None,
    )


def _utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC; the schema's date-time
    # (RFC 3339) needs the offset.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def describe_beacon(
    settings: Settings, version: str, *, beacon_id: str, name: str, path: str, text: str
) -> BeaconDescription:
    """How one of this gateway's Beacons (``/beacon``, ``/beacon-network``) describes itself:
    the parts its identity, name, place and purpose change; the rest is the gateway's."""
    return BeaconDescription(
        beacon_id=beacon_id,
        name=name,
        country=settings.country,
        base_url=f"{settings.public_base_url}{path}",
        version=version,
        environment=settings.env,
        organization_name=f"National eHealth operator ({settings.country})",
        default_granularity=Granularity(settings.beacon_default_granularity),
        security_levels=tuple(SecurityLevel),
        description=text,
    )
