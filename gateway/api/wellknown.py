"""``/.well-known``: what peers need to trust this gateway's signatures."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import ServicesDep
from gateway.api.rendering import JSONBody

router = APIRouter(prefix="/.well-known", tags=["keys"])


class JWKSBody(JSONBody):
    media_type = "application/jwk-set+json"


@router.get("/jwks.json", summary="The gateway's public signing keys (current and previous)")
async def jwks(found: ServicesDep) -> JWKSBody:
    keys = await found.keys.jwks()
    return JWKSBody(keys, headers={"Cache-Control": "public, max-age=300"})
