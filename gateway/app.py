"""The application factory: ``create_app(settings)`` wires storage, services and routers."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import __version__, logs
from gateway.api import (
    beacon,
    beacon_network,
    consent,
    errors,
    fhir,
    health,
    national,
    oauth,
    openapi,
    wellknown,
)
from gateway.api.client_cert import ForwardedClient, TrustedProxies
from gateway.api.deps import Services
from gateway.api.limits import InputLimits, Limits
from gateway.beacon.responses import API_VERSION
from gateway.federation.trust_list import load_trust_list
from gateway.fhir.capability import capability_statement
from gateway.fhir.datatypes import instant
from gateway.services.audit import AuditService
from gateway.services.beacon_access import BeaconAccessService, open_passport_trust
from gateway.services.beacon_network import BeaconNetwork, NetworkOptions
from gateway.services.beacon_query import BeaconOptions, BeaconService
from gateway.services.consent import ConsentService
from gateway.services.consent_gate import ConsentGate
from gateway.services.federation import FederatedSummaries
from gateway.services.genomic_reports import GenomicReportService
from gateway.services.health import HealthService
from gateway.services.keys import open_keys, peer_client, token_issuer
from gateway.services.oauth import OAuthService
from gateway.services.records import RecordService, open_profiles
from gateway.services.summaries import SummaryService
from gateway.settings import Settings
from gateway.storage.database import open_database, upgrade

log = logging.getLogger("gateway.access")
startup = logging.getLogger("gateway")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    logs.configure(settings.log_level)
    profiles = open_profiles(settings.profiles_dir)  # a broken profile stops the start, clearly
    passport_trust = open_passport_trust(settings.passport_brokers)  # so does a brokers file
    proxies = TrustedProxies.parse(settings.trusted_proxies)  # so does a bad proxy entry
    trust = load_trust_list(settings.trust_list, settings.country)  # and a bad trust list

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Keys first: a gateway that may not start must not leave a database connection open.
        keys = open_keys(settings.pki_dir, settings.country, required=settings.env == "prod")
        peers = peer_client(
            keys, trust, timeout=settings.peer_timeout, max_bytes=settings.peer_max_bytes
        )
        database = open_database(settings.database_url)
        await upgrade(database)
        audit = AuditService(database, settings.gateway_id)
        gate = ConsentGate(profiles, settings.country)
        genomics = GenomicReportService(database, settings.public_base_url, gate, audit=audit)
        records = RecordService(
            database,
            profiles,
            country=settings.country,
            max_bytes=settings.record_max_bytes,
            audit=audit,
        )
        summaries = SummaryService(database, records, gate, genomics, keys, audit)
        beacon_service = BeaconService(
            database,
            BeaconOptions.from_settings(
                settings,
                __version__,
                lambda who: profiles.research_by_default(who.system, settings.country),
            ),
        )
        app.state.services = Services(
            settings=settings,
            beacon=beacon_service,
            beacon_access=BeaconAccessService(
                database,
                trust=passport_trust,
                dataset_url_prefix=f"{settings.public_base_url}/beacon/datasets/",
                budget=settings.beacon_query_budget,
                audit=audit,
            ),
            beacon_network=BeaconNetwork(
                beacon_service,
                settings.country,
                trust,
                peers,
                audit,
                NetworkOptions.from_settings(settings, __version__),
            ),
            health=HealthService(database),
            records=records,
            summaries=summaries,
            federation=FederatedSummaries(
                summaries, profiles, settings.country, trust, peers, audit
            ),
            genomics=genomics,
            audit=audit,
            keys=keys,
            oauth=OAuthService(
                database,
                token_issuer(keys, settings.public_base_url),
                f"{settings.public_base_url}/oauth/token",
                audit,
                trust,
            ),
            consent=ConsentService(
                database, settings.webhook_secrets.get_secret_value().split(), audit
            ),
            capability=capability_statement(
                base_url=settings.public_base_url,
                country=settings.country,
                software_version=__version__,
                published=instant(),
            ),
        )
        startup.info(
            "serving",
            extra={
                "url": settings.public_base_url,
                "country": settings.country,
                "database": database.dialect,
            },
        )
        try:
            yield
        finally:
            if peers is not None:
                await peers.aclose()
            await database.dispose()

    app = FastAPI(
        title=f"EU health data gateway ({settings.country})",
        version=__version__,
        description="Cross-border patient summaries, consent, audit and GA4GH Beacon v2 "
        "discovery for one member state.",
        lifespan=lifespan,
    )
    # Added before errors.install, so they run inside CatchAll, which answers their 4xx.
    app.add_middleware(ForwardedClient, proxies=proxies)
    limits = Limits(settings.max_url_bytes, settings.max_header_bytes, settings.body_timeout)
    app.add_middleware(InputLimits, limits=limits)
    errors.install(app, lambda: (settings.gateway_id, API_VERSION))
    app.include_router(health.router)
    app.include_router(beacon.router)
    app.include_router(beacon_network.router)
    app.include_router(fhir.router)
    app.include_router(national.router)
    app.include_router(consent.router)
    app.include_router(wellknown.router)
    app.include_router(oauth.router)
    app.add_middleware(AccessLog)
    _complete_openapi(app)
    return app


def _complete_openapi(app: FastAPI) -> None:
    """``/openapi.json`` with the bodies and errors FastAPI cannot see (gateway.api.openapi)."""
    generate = app.openapi
    completed: dict[str, Any] = {}

    def document() -> dict[str, Any]:
        if not completed:
            completed.update(openapi.complete(generate()))
        return completed

    app.openapi = document  # type: ignore[method-assign]


class AccessLog:
    """Pure ASGI middleware: one log line per request with the route template, not the path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if log.isEnabledFor(logging.INFO):
                route = scope.get("route")
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": getattr(route, "path", "unmatched"),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
