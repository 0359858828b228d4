"""Authorization of requests: the bearer token must cover what the route does.

``authorized("Patient", "r")`` is a dependency that answers the :class:`Requester`, or refuses
with 401 (no or a bad token, with ``WWW-Authenticate``) or 403 (insufficient scope).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from gateway.api.client_cert import client_certificate
from gateway.domain.requester import Requester
from gateway.domain.scopes import Need

__all__ = ["authorized", "bearer_holder"]


def authorized(resource: str, action: str) -> Any:
    need = Need(resource, action)

    async def requester(request: Request) -> Requester:
        oauth = request.app.state.services.oauth
        found: Requester = await oauth.requester(
            request.headers.get("authorization"), client_certificate(request), need
        )
        return found

    return Depends(requester)


async def _holder(request: Request) -> Requester:
    oauth = request.app.state.services.oauth
    found: Requester = await oauth.requester(
        request.headers.get("authorization"), client_certificate(request), None
    )
    return found


# Any valid token, whatever its scopes (introspection).
bearer_holder = Annotated[Requester, Depends(_holder)]
