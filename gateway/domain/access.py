"""What one Beacon caller may see, and how GA4GH Passport visas decide it.

Anonymous callers see PUBLIC datasets. Registered access (a bona fide researcher: the
``AcceptedTermsAndPolicies`` and ``ResearcherStatus`` visas of the Registered Access model)
adds REGISTERED datasets, at count granularity at most. A ``ControlledAccessGrants`` visa
whose value is a dataset's URL opens that one dataset up to its own maximum granularity,
whatever its security level. A dataset's own maximum always applies as well.

Visas reach this module already verified (signature, trusted issuer and source, expiry,
``by``, no ``conditions``: ``gateway.auth.passports``); here they are only matched, as the
clearinghouse rules ask: full, case-sensitive string comparison, URLs never fetched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.datasets import DATASET_NAME
from gateway.domain.granularity import Granularity, SecurityLevel, least

#: The Registered Access model (Dyke et al. 2018), as both registered-access visas name it.
REGISTERED_ACCESS = "https://doi.org/10.1038/s41431-018-0219-y"


class VisaType(StrEnum):
    """The GA4GH standard visa types (custom types are carried as plain strings)."""

    AFFILIATION_AND_ROLE = "AffiliationAndRole"
    ACCEPTED_TERMS_AND_POLICIES = "AcceptedTermsAndPolicies"
    RESEARCHER_STATUS = "ResearcherStatus"
    CONTROLLED_ACCESS_GRANTS = "ControlledAccessGrants"
    LINKED_IDENTITIES = "LinkedIdentities"


@dataclass(frozen=True, slots=True)
class Visa:
    """The assertion (``ga4gh_visa_v1``) of a visa that passed every check."""

    type: str
    value: str
    source: str
    by: str | None = None


@dataclass(frozen=True, slots=True)
class CallerAccess:
    """What a caller holds: registered access, and the datasets it was granted by name."""

    registered: bool = False
    datasets: frozenset[str] = frozenset()

    def ceiling(self, dataset: str, level: SecurityLevel) -> Granularity | None:
        """The most this caller may see of one dataset, or None when the dataset is hidden."""
        if dataset in self.datasets or level is SecurityLevel.PUBLIC:
            return Granularity.RECORD
        if level is SecurityLevel.REGISTERED and self.registered:
            return Granularity.COUNT
        return None

    def granted(
        self, requested: Granularity, dataset: str, level: SecurityLevel, dataset_max: Granularity
    ) -> Granularity | None:
        """The granularity the caller gets on one dataset: the least of what it asked for,
        what the dataset allows and what its access allows; None when the dataset is hidden."""
        ceiling = self.ceiling(dataset, level)
        return None if ceiling is None else least(requested, dataset_max, ceiling)


ANONYMOUS = CallerAccess()


def access_of(visas: Iterable[Visa], dataset_url_prefix: str) -> CallerAccess:
    """The access verified visas give; ``dataset_url_prefix`` is this Beacon's
    ``{base}/beacon/datasets/``, which a grant's value must extend by exactly a dataset name."""
    held = {(visa.type, visa.value) for visa in visas}
    registered = {
        (VisaType.ACCEPTED_TERMS_AND_POLICIES.value, REGISTERED_ACCESS),
        (VisaType.RESEARCHER_STATUS.value, REGISTERED_ACCESS),
    } <= held
    granted = {
        name
        for kind, value in held
        if kind == VisaType.CONTROLLED_ACCESS_GRANTS
        and (name := _dataset(value, dataset_url_prefix))
    }
    return CallerAccess(registered, frozenset(granted))


def _dataset(url: str, prefix: str) -> str | None:
    # Only the exact spelling counts: another case, a trailing slash, a query or a fragment
    # makes the remainder something other than a dataset name, so nothing is granted.
    if not url.startswith(prefix):
        return None
    name = url[len(prefix) :]
    return name if DATASET_NAME.fullmatch(name) else None
