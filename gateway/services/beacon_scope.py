"""Which samples count, and which datasets a caller sees, for one Beacon request.

A dataset's *mask* is the set of sample positions that may count in an answer: the consent
basis (``open``: everyone; ``citizen``: linked citizens who permit research use) narrowed by
the request's individual filters (sex). ``None`` means every sample counts and no filter
applies, which lets the common case skip the sample table entirely.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gateway.beacon.requests import AlphanumericFilter, OntologyFilter
from gateway.domain.carriers import mask_of
from gateway.domain.datasets import Dataset
from gateway.domain.granularity import ConsentBasis, Granularity, SecurityLevel, granted
from gateway.domain.samples import SEX_BY_TERM, Sex
from gateway.errors import BadBeaconQuery
from gateway.storage.samples import SampleRow

Filter = OntologyFilter | AlphanumericFilter


@dataclass(frozen=True, slots=True)
class Visible:
    """A dataset the caller may query, with the granularity it gets there."""

    dataset: Dataset
    granularity: Granularity


def visible_datasets(
    datasets: Sequence[Dataset],
    requested: Granularity,
    caller_levels: frozenset[SecurityLevel],
    names: Sequence[str] = (),
) -> list[Visible]:
    chosen = [d for d in datasets if not names or d.name in names]
    found = []
    for dataset in chosen:
        level = granted(
            requested, dataset.policy.max_granularity, dataset.policy.security_level, caller_levels
        )
        if level is not None:
            found.append(Visible(dataset, level))
    return found


def sex_filter(filters: Sequence[Filter]) -> frozenset[Sex] | None:
    """The sexes the filters allow (filters are ANDed), or None when no sex filter is given.

    :raises BadBeaconQuery: a filter this beacon does not know.
    """
    allowed: frozenset[Sex] | None = None
    for item in filters:
        if not isinstance(item, OntologyFilter) or item.id not in SEX_BY_TERM:
            raise BadBeaconQuery(
                f"filter {item.id!r} is not supported here; see /beacon/filtering_terms"
            )
        term = frozenset({SEX_BY_TERM[item.id]})
        allowed = term if allowed is None else allowed & term
    return allowed


def needs_samples(dataset: Dataset, sexes: frozenset[Sex] | None) -> bool:
    return dataset.policy.consent_basis is ConsentBasis.CITIZEN or sexes is not None


def counting_mask(
    dataset: Dataset, rows: Sequence[SampleRow], sexes: frozenset[Sex] | None
) -> int | None:
    if not needs_samples(dataset, sexes):
        return None
    return mask_of(row.position for row in rows if counts(dataset, row, sexes))


def counts(dataset: Dataset, row: SampleRow, sexes: frozenset[Sex] | None) -> bool:
    # Research opt-outs arrive with the consent engine (issue 5); until then a linked citizen
    # counts under the country default, which for EHDS secondary use is opt-out.
    if dataset.policy.consent_basis is ConsentBasis.CITIZEN and row.identifier is None:
        return False
    return sexes is None or row.sex in sexes
