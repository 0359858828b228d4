"""Which samples count, and which datasets a caller sees, for one Beacon request.

A dataset's *mask* is the set of sample positions that may count in an answer: the consent
basis (``open``: everyone; ``citizen``: linked citizens who permit research use) narrowed by
the request's individual filters (sex; ICD-10 diagnoses, which linked individuals take from
their national records). ``None`` means every sample counts and no filter applies, which lets
the common case skip the sample table entirely.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.beacon.requests import AlphanumericFilter, OntologyFilter
from gateway.domain.access import CallerAccess
from gateway.domain.carriers import mask_of
from gateway.domain.datasets import Dataset
from gateway.domain.granularity import ConsentBasis, Granularity
from gateway.domain.samples import SEX_BY_TERM, Identifier, Sex
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
    access: CallerAccess,
    names: Sequence[str] = (),
) -> list[Visible]:
    chosen = [d for d in datasets if not names or d.name in names]
    found = []
    for dataset in chosen:
        policy = dataset.policy
        level = access.granted(
            requested, dataset.name, policy.security_level, policy.max_granularity
        )
        if level is not None:
            found.append(Visible(dataset, level))
    return found


_ICD10_TERM = re.compile(r"ICD10:([A-Z][0-9]{2})(?:\.?([0-9A-Z]{1,4}))?")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """An ``ICD10:`` filter: the code without its dot; descendants match by prefix (``E11``
    matches ``E11.9``), as Beacon's ``includeDescendantTerms`` (default true) asks."""

    code: str
    descendants: bool

    def matches(self, codes: frozenset[str]) -> bool:
        if self.descendants:
            return any(code.startswith(self.code) for code in codes)
        return self.code in codes


@dataclass(frozen=True, slots=True)
class Criteria:
    """What the individual filters ask, ANDed: allowed sexes (None: any) and diagnoses."""

    sexes: frozenset[Sex] | None = None
    diagnoses: tuple[Diagnosis, ...] = ()

    def admits(self, row: SampleRow) -> bool:
        if self.sexes is not None and row.sex not in self.sexes:
            return False
        return all(d.matches(row.diagnoses) for d in self.diagnoses)


def individual_criteria(filters: Sequence[Filter]) -> Criteria | None:
    """The filters as criteria, or None when there are none.

    :raises BadBeaconQuery: a filter this beacon does not know.
    """
    if not filters:
        return None
    sexes: frozenset[Sex] | None = None
    diagnoses: list[Diagnosis] = []
    for item in filters:
        if isinstance(item, OntologyFilter) and item.id in SEX_BY_TERM:
            term = frozenset({SEX_BY_TERM[item.id]})
            sexes = term if sexes is None else sexes & term
            continue
        match = _ICD10_TERM.fullmatch(item.id) if isinstance(item, OntologyFilter) else None
        if match is None:
            raise BadBeaconQuery(
                f"filter {item.id!r} is not supported here; see /beacon/filtering_terms"
            )
        assert isinstance(item, OntologyFilter)
        code = match[1] + (match[2] or "")
        diagnoses.append(Diagnosis(code, item.include_descendant_terms))
    return Criteria(sexes, tuple(diagnoses))


def diagnosis_terms(codes: frozenset[str]) -> list[tuple[str, str]]:
    """Stored diagnosis codes as Beacon disease terms: (``ICD10:E11.9``, ``E11.9``)."""
    shown = sorted(code if len(code) <= 3 else f"{code[:3]}.{code[3:]}" for code in codes)
    return [(f"ICD10:{code}", code) for code in shown]


def needs_samples(dataset: Dataset, criteria: Criteria | None) -> bool:
    return dataset.policy.consent_basis is ConsentBasis.CITIZEN or criteria is not None


# Whether a linked citizen counts for research while they have recorded no choice: their
# country's policy (profiles/<cc>/policy.yaml) decides.
ResearchDefault = Callable[[Identifier], bool]


def ehds_default(_: Identifier) -> bool:
    """The EHDS rule when no policy says otherwise: secondary use is opt-out."""
    return True


def counting_mask(
    dataset: Dataset,
    rows: Sequence[SampleRow],
    criteria: Criteria | None,
    research_default: ResearchDefault = ehds_default,
) -> int | None:
    if not needs_samples(dataset, criteria):
        return None
    return mask_of(row.position for row in rows if counts(dataset, row, criteria, research_default))


def counts(
    dataset: Dataset,
    row: SampleRow,
    criteria: Criteria | None,
    research_default: ResearchDefault = ehds_default,
) -> bool:
    # Citizens' own research opt-outs and opt-ins arrive with the consent engine; until then
    # a linked citizen counts as their country's default says.
    if dataset.policy.consent_basis is ConsentBasis.CITIZEN and (
        row.identifier is None or not research_default(row.identifier)
    ):
        return False
    return criteria is None or criteria.admits(row)
