"""IHE IUA JWT extension claims (``extensions.ihe_iua``): who is asking, and why.

A client asserts them in its client assertion; the token endpoint copies them into the access
token once they are checked against the client's registration. ``purpose_of_use`` is read as a
v3 PurposeOfUse code, a Coding, or a one-element list of Codings; eHDSI's TREATMENT and
EMERGENCY are read as TREAT and ETREAT (``reference/crossborder-security.md`` §5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.auth.compact_jwt import TokenRefused
from gateway.domain.consent import PURPOSES

__all__ = ["PURPOSE_SYSTEM", "RequesterContext", "read_context"]

PURPOSE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_EHDSI = {"TREATMENT": "TREAT", "EMERGENCY": "ETREAT"}
# Printable and bounded: these reach audit records. No control characters (C0, DEL, C1), no
# line or paragraph separators (a forged log line), no lone surrogates (not encodable text).
_TEXT = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]{1,256}")


@dataclass(frozen=True, slots=True)
class RequesterContext:
    purpose: str | None = None
    role: str | None = None
    subject: str | None = None
    organization: str | None = None

    def as_claim(self, purpose: str) -> dict[str, Any]:
        """The ``extensions`` claim of an access token, with the purpose decided."""
        iua: dict[str, Any] = {"purpose_of_use": {"system": PURPOSE_SYSTEM, "code": purpose}}
        for name, value in (
            ("subject_role", self.role),
            ("subject_id", self.subject),
            ("subject_organization", self.organization),
        ):
            if value is not None:
                iua[name] = value
        return {"ihe_iua": iua}


def read_context(claims: Mapping[str, Any]) -> RequesterContext:
    """The IUA context in a set of JWT claims (all of it optional). :raises TokenRefused:"""
    extensions = claims.get("extensions", {})
    if not isinstance(extensions, dict):
        raise TokenRefused("extensions must be an object")
    iua = extensions.get("ihe_iua", {})
    if not isinstance(iua, dict):
        raise TokenRefused("extensions.ihe_iua must be an object")
    return RequesterContext(
        purpose=_purpose(iua.get("purpose_of_use")),
        role=_code_or_text(iua.get("subject_role"), "subject_role"),
        subject=_text(iua.get("subject_id"), "subject_id"),
        organization=_text(iua.get("subject_organization"), "subject_organization"),
    )


def _purpose(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        if len(value) != 1:
            raise TokenRefused("purpose_of_use must name one purpose")
        value = value[0]
    if isinstance(value, dict):
        if value.get("system") not in (None, PURPOSE_SYSTEM):
            raise TokenRefused("purpose_of_use must be a v3 PurposeOfUse code")
        value = value.get("code")
    if not isinstance(value, str):
        raise TokenRefused("purpose_of_use must be a code")
    code = _EHDSI.get(value, value)
    if code not in PURPOSES:
        raise TokenRefused("purpose_of_use is not a purpose this gateway honours")
    return code


def _code_or_text(value: object, name: str) -> str | None:
    if isinstance(value, dict):
        value = value.get("code")
    return _text(value, name)


def _text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _TEXT.fullmatch(value):
        raise TokenRefused(f"{name} must be printable text of at most 256 characters")
    return value
