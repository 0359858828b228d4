"""Who asks the Beacon, and whether they may ask once more: passports and the query budget.

A caller without an ``Authorization`` header is anonymous (PUBLIC datasets only). A header
must hold ``Bearer <passport>``, a GA4GH Passport signed by a broker of the brokers file
(``GATEWAY_PASSPORT_BROKERS``); anything else is refused (401) and recorded as a security
alert in the audit log, without the token.

When ``GATEWAY_BEACON_QUERY_BUDGET`` is above zero, each query spends one unit of its caller's
budget for the current clock hour: the passport holder (``iss`` and ``sub``, hashed so the
table holds no identities), else the client address (an IPv6 client by its /64 network,
which one host usually holds whole). The counts are in the database, so a restart or another
worker does not reset them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from gateway.auth.passport_brokers import BrokersFileError, PassportTrust, load_passport_trust
from gateway.auth.passports import PassportRefused, verify_passport
from gateway.domain.access import ANONYMOUS, CallerAccess, access_of
from gateway.errors import Conflict, Misconfigured, TooManyRequests, Unavailable
from gateway.services.audit import AuditService
from gateway.storage.budget import BudgetRepository
from gateway.storage.database import Database

__all__ = [
    "BUDGET_WINDOW",
    "BeaconAccessService",
    "BeaconCaller",
    "QueryBudgetExhausted",
    "open_passport_trust",
]

BUDGET_WINDOW = timedelta(hours=1)
_MAX_ADDRESS = 200  # the budget table's caller column holds 256 characters

log = logging.getLogger("gateway")


class QueryBudgetExhausted(TooManyRequests):
    """The caller's queries for this window are used up; ``retry_after`` seconds until the
    next window starts (the edge sends it as ``Retry-After``)."""


@dataclass(frozen=True, slots=True)
class BeaconCaller:
    access: CallerAccess
    address: str  # the client's network address
    holder: str | None = None  # a passport's iss and sub, hashed
    # The verified passport itself: the Beacon network forwards it to the peers, which judge
    # it against their own brokers. Kept out of repr, which logs and tracebacks may show.
    passport: str | None = field(default=None, repr=False)

    @property
    def budget_key(self) -> str:
        """Whose budget a query spends."""
        return f"passport:{self.holder}" if self.holder else _anonymous(self.address)


def open_passport_trust(path: Path | None) -> PassportTrust | None:
    """The brokers file, or None when none is configured.

    :raises Misconfigured: one line naming the file and what is wrong (the gateway does not
        start).
    """
    if path is None:
        return None
    try:
        return load_passport_trust(path)
    except BrokersFileError as exc:
        raise Misconfigured(f"GATEWAY_PASSPORT_BROKERS: {exc}") from None


class BeaconAccessService:
    def __init__(
        self,
        database: Database,
        *,
        trust: PassportTrust | None,
        dataset_url_prefix: str,
        budget: int = 0,
        audit: AuditService | None = None,
    ) -> None:
        self._database = database
        self._trust = trust
        self._prefix = dataset_url_prefix
        self._budget = budget
        self._audit = audit

    async def caller(self, authorization: str | None, address: str) -> BeaconCaller:
        """Who asks: anonymous without a header, else what the passport in it allows.

        :raises PassportRefused: a header that does not hold a valid passport (audited).
        """
        if authorization is None:
            return BeaconCaller(ANONYMOUS, address)
        try:
            token = _bearer(authorization)
            passport = verify_passport(token, self._trusted())
        except PassportRefused as exc:
            await self._alert(exc, address)
            raise
        holder = hashlib.sha256(orjson.dumps([passport.issuer, passport.subject])).hexdigest()
        return BeaconCaller(access_of(passport.visas, self._prefix), address, holder, token)

    async def spend(self, caller: BeaconCaller) -> None:
        """One query of the caller's budget (nothing when budgets are off).

        :raises QueryBudgetExhausted: none is left in this window.
        """
        if not self._budget:
            return
        now = datetime.now(UTC)
        window = now.replace(minute=0, second=0, microsecond=0)
        async with self._database.write() as connection:
            used = await BudgetRepository(connection).spend(caller.budget_key, window, self._budget)
        if used is None:
            wait = max(1, math.ceil((window + BUDGET_WINDOW - now).total_seconds()))
            raise QueryBudgetExhausted(
                f"query budget used up ({self._budget} queries per hour); try again in {wait} s",
                wait,
            )
        if used == 1:  # the caller's first query of a window: past windows can go
            await self._forget_before(window)

    def _trusted(self) -> PassportTrust:
        if self._trust is None:
            raise PassportRefused(
                "untrusted_issuer", "this gateway trusts no passport brokers (none configured)"
            )
        return self._trust

    async def _alert(self, refused: PassportRefused, address: str) -> None:
        if self._audit is not None:
            await self._audit.record(
                "security-alert",
                "minor-failure",
                agent=f"Beacon caller at {address[:_MAX_ADDRESS]}",
                description=f"Beacon passport refused ({refused.reason})",
            )

    async def _forget_before(self, window: datetime) -> None:
        try:
            async with self._database.write() as connection:
                await BudgetRepository(connection).forget_before(window)
        except (Unavailable, Conflict) as exc:
            # Housekeeping only: past windows are never read, and the next window tries again.
            log.warning("budget clean-up failed", extra={"error": exc.message})


def _bearer(header: str) -> str:
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PassportRefused("malformed", "expected 'Authorization: Bearer <passport>'")
    return token.strip()


def _anonymous(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return f"anonymous:{address[:_MAX_ADDRESS]}"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return f"anonymous:{parsed.ipv4_mapped}"
        return f"anonymous:{ipaddress.IPv6Network((parsed, 64), strict=False)}"
    return f"anonymous:{parsed}"
