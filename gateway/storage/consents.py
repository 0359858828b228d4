"""Consent directive repository: what citizens recorded at their portal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.consent import Directive, DirectiveKind
from gateway.domain.records import Identifier
from gateway.storage.tables import consent_directives

__all__ = ["ConsentRepository"]


class ConsentRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def seen(self, webhook_id: str) -> bool:
        query = select(consent_directives.c.id).where(consent_directives.c.webhook_id == webhook_id)
        return (await self._db.execute(query)).first() is not None

    async def add(self, webhook_id: str, citizen: Identifier, directive: Directive) -> None:
        await self._db.execute(
            insert(consent_directives).values(
                webhook_id=webhook_id,
                citizen_system=citizen.system,
                citizen_value=citizen.value,
                kind=directive.kind.value,
                recorded=directive.recorded,
                purposes=" ".join(sorted(directive.purposes)),
                countries=" ".join(sorted(directive.countries)),
                categories=" ".join(sorted(directive.categories)),
                start=directive.start,
                end=directive.end,
                received=datetime.now(UTC),
            )
        )

    async def for_citizens(
        self, citizens: Iterable[Identifier]
    ) -> dict[Identifier, list[Directive]]:
        pairs = list({(c.system, c.value) for c in citizens})
        if not pairs:
            return {}
        found: dict[Identifier, list[Directive]] = {}
        for chunk in range(0, len(pairs), 500):
            query = select(consent_directives).where(
                tuple_(consent_directives.c.citizen_system, consent_directives.c.citizen_value).in_(
                    pairs[chunk : chunk + 500]
                )
            )
            for row in await self._db.execute(query):
                who = Identifier(row.citizen_system, row.citizen_value)
                found.setdefault(who, []).append(_directive(row))
        return found


def _directive(row: Any) -> Directive:
    return Directive(
        kind=DirectiveKind(row.kind),
        recorded=_aware(row.recorded),
        purposes=frozenset(row.purposes.split()),
        countries=frozenset(row.countries.split()),
        categories=frozenset(row.categories.split()),
        start=_aware(row.start) if row.start else None,
        end=_aware(row.end) if row.end else None,
    )


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes for what was stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
