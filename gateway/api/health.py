"""``/health`` (the process answers) and ``/ready`` (its dependencies answer)."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import ServicesDep
from gateway.api.rendering import JSONBody

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness")
async def health() -> JSONBody:
    return JSONBody({"status": "ok"})


@router.get("/ready", summary="Readiness: database reachable")
async def ready(found: ServicesDep) -> JSONBody:
    readiness = await found.health.readiness()
    checks = {"database": "ok" if readiness.database else "unavailable"}
    status = 200 if readiness.ready else 503
    return JSONBody(
        {"status": "ready" if readiness.ready else "not ready", "checks": checks},
        status_code=status,
    )
