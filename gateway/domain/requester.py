"""Who is asking: the context an access token carries to every access decision.

National nodes and peer gateways assert it in their signed client assertion as IHE IUA
extension claims (DESIGN.md §2 "Who is asking"); the token endpoint checks it against the
client's registration and copies it into the access token; the resource server hands it to
the services, which decide consent with it and write it into the audit record.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.scopes import Need, Scope, permits

__all__ = ["Requester"]


@dataclass(frozen=True, slots=True)
class Requester:
    client_id: str
    country: str  # the member state the client asks for (from its registration)
    purpose: str  # v3 PurposeOfUse: TREAT, ETREAT, HRESCH, ...
    scopes: tuple[Scope, ...]
    role: str | None = None  # IUA subject_role (e.g. an ISCO-08 or SNOMED CT code)
    subject: str | None = None  # IUA subject_id: the health professional, as the client names them
    organization: str | None = None  # IUA subject_organization

    def may(self, need: Need) -> bool:
        return permits(self.scopes, need)

    @property
    def agent(self) -> str:
        """How the audit record names the requester: the client, and the person if given."""
        return f"{self.client_id} ({self.subject})" if self.subject else self.client_id
