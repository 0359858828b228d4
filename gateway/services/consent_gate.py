"""The consent enforcement point: what of one patient's data may go to this requester now.

Every path that releases a patient's data asks here first, in the same read as the data: the
patient's identifiers give the citizen's directives (portal webhooks), their home country
gives the defaults (``profiles/<cc>/policy.yaml``), the access token gives the requesting
country and purpose of use. The answer is read fresh on every request: a revocation or an
opt-out takes effect on the very next one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.clinical_values import Section
from gateway.domain.consent import (
    GENOMICS,
    SECTION_PREFIX,
    SUMMARY,
    AccessRequest,
    ConsentDefaults,
    Decision,
    Directive,
    decide,
    settled_until,
)
from gateway.domain.records import Identifier
from gateway.domain.requester import Requester
from gateway.profiles.loader import ProfileSet
from gateway.storage.consents import ConsentRepository
from gateway.storage.patients import PatientRepository

__all__ = ["ConsentGate", "Release"]

# With no policy file for the citizen's country: care abroad proceeds (the EHDS rule for
# primary use, where opting out is each state's option) and research is opt-out (Art. 71).
_EHDS_DEFAULTS = ConsentDefaults(frozenset({"TREAT", "ETREAT"}), frozenset({"*"}), research=True)


@dataclass(frozen=True, slots=True)
class Release:
    """What may be released: the summary at all, which sections are withheld, genomics."""

    summary: Decision
    withheld: frozenset[Section]
    genomics: Decision
    settled_until: datetime | None = None  # the clock alone changes nothing before then

    @property
    def reason(self) -> str:
        withheld = ", ".join(sorted(s.value for s in self.withheld))
        return self.summary.reason + (f"; sections withheld: {withheld}" if withheld else "")


class ConsentGate:
    def __init__(self, profiles: ProfileSet, fallback_country: str) -> None:
        self._profiles = profiles
        self._fallback = fallback_country

    async def release(
        self, connection: AsyncConnection, patient_id: str, requester: Requester
    ) -> Release:
        """The decisions for one patient and one requester, read now."""
        patients = PatientRepository(connection)
        row = await patients.get(patient_id)
        directives = await self._directives(connection, await patients.identifiers_of(patient_id))
        now = datetime.now(UTC)
        ask = self._asker(directives, row.country if row else None, requester, now)
        summary = ask(SUMMARY)
        withheld = frozenset(s for s in Section if not ask(f"{SECTION_PREFIX}{s.value}").permit)
        return Release(summary, withheld, ask(GENOMICS), settled_until(directives, now))

    async def genomics(
        self, connection: AsyncConnection, citizen: Identifier, requester: Requester
    ) -> Decision:
        """Whether the genomic data of ``citizen`` (a sample manifest's link) may go to
        ``requester``; the citizen's country comes from the identifier system."""
        country = self._profiles.country_of(citizen.system)
        directives = await self._directives(connection, [citizen])
        return self._asker(directives, country, requester, datetime.now(UTC))(GENOMICS)

    @staticmethod
    async def _directives(
        connection: AsyncConnection, identifiers: Sequence[Identifier]
    ) -> list[Directive]:
        found = await ConsentRepository(connection).for_citizens(identifiers)
        return [d for group in found.values() for d in group]

    def _asker(
        self,
        directives: Sequence[Directive],
        country: str | None,
        requester: Requester,
        now: datetime,
    ) -> Callable[[str], Decision]:
        defaults = self._defaults(country or self._fallback)

        def ask(category: str) -> Decision:
            request = AccessRequest(requester.country, requester.purpose, category, now)
            return decide(directives, defaults, request)

        return ask

    def _defaults(self, country: str) -> ConsentDefaults:
        policy = self._profiles.policy(country)
        if policy is None:
            return _EHDS_DEFAULTS
        return ConsentDefaults(
            frozenset(policy.summary_purposes),
            frozenset(policy.summary_recipients),
            research=policy.research_by_default,
        )
