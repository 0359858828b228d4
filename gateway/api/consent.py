"""``/consent/events``: the citizens' consent portal tells the gateway what they decided."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.api.deps import ServicesDep, bounded_body
from gateway.api.rendering import JSONBody

router = APIRouter(prefix="/consent", tags=["consent"])

MAX_EVENT_BYTES = 64 * 1024


@router.post(
    "/events",
    summary="A consent portal event (Standard Webhooks signature)",
    responses={401: {"description": "Missing or bad webhook headers or signature"}},
)
async def consent_event(request: Request, found: ServicesDep) -> JSONBody:
    body = await bounded_body(request, MAX_EVENT_BYTES)
    stored = await found.consent.receive(body, dict(request.headers))
    return JSONBody({"status": "stored" if stored else "already received"})
