"""An OAuth client as the gateway registered it (``gateway clients add``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RegisteredClient"]


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    client_id: str
    jwks: dict[str, Any]  # its public keys
    algorithm: str  # pinned: its assertions are accepted under this algorithm only
    scopes: str  # space-separated SMART scopes it may be granted
    country: str  # the member state it asks for
    purposes: tuple[str, ...]  # PurposeOfUse codes it may assert, the first its default
