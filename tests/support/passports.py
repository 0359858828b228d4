"""GA4GH passports and visas made in the tests: issuers with fresh keys, signed tokens, and the
brokers file that trusts them (written into a test's tmp_path; private keys never leave memory).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from gateway.auth.passports import PASSPORT_TYP, VISA_TYP
from gateway.domain.access import REGISTERED_ACCESS

BROKER_URL = "https://broker.example.org/oidc"
DAC_URL = "https://dac.example.org"
ATTACKER_URL = "https://attacker.example.net"
SUBJECT = "researcher-42"
SIGNING = ["RS256", "ES256", "RS384", "ES384", "HS256", "none"]

Key = RSAKey | ECKey


@dataclass
class Issuer:
    """A broker or visa issuer: its ``iss``, one signing key and the algorithm it uses."""

    url: str
    key: Key
    algorithm: str
    sources: list[str] | None = None

    @classmethod
    def rsa(cls, url: str, kid: str, algorithm: str = "RS256") -> Issuer:
        return cls(url, RSAKey.generate_key(2048, parameters={"kid": kid}), algorithm)

    @classmethod
    def ec(cls, url: str, kid: str, algorithm: str = "ES256") -> Issuer:
        curve = "P-384" if algorithm == "ES384" else "P-256"
        return cls(url, ECKey.generate_key(curve, parameters={"kid": kid}), algorithm)

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def sign(self, claims: dict[str, Any], typ: str | None, **header: Any) -> str:
        fields: dict[str, Any] = {"alg": self.algorithm, "kid": self.kid, **header}
        if typ is not None:
            fields["typ"] = typ
        return jwt.encode(fields, claims, self.key, algorithms=SIGNING, default_type=None)


def visa_token(
    issuer: Issuer,
    kind: str,
    value: str,
    *,
    subject: str = SUBJECT,
    source: str = DAC_URL,
    by: object = "dac",
    asserted: int | None = None,
    exp: int | None = None,
    typ: str | None = VISA_TYP,
    extra: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
    **header: Any,
) -> str:
    now = int(time.time())
    body: dict[str, Any] = {
        "type": kind,
        "asserted": now - 86400 if asserted is None else asserted,
        "value": value,
        "source": source,
        **(extra or {}),
    }
    if by is not None:
        body["by"] = by
    payload = {
        "iss": issuer.url,
        "sub": subject,
        "iat": now - 60,
        "exp": now + 3600 if exp is None else exp,
        "jti": f"visa-{kind}-{now}",
        "ga4gh_visa_v1": body,
        **(claims or {}),
    }
    return issuer.sign(payload, typ, **header)


def registered_visas(issuer: Issuer, subject: str = SUBJECT) -> list[str]:
    """The two visas of registered access (bona fide researcher)."""
    return [
        visa_token(
            issuer, "AcceptedTermsAndPolicies", REGISTERED_ACCESS, subject=subject, by="self"
        ),
        visa_token(issuer, "ResearcherStatus", REGISTERED_ACCESS, subject=subject, by="so"),
    ]


def grant_visa(issuer: Issuer, url: str, subject: str = SUBJECT, **options: Any) -> str:
    return visa_token(issuer, "ControlledAccessGrants", url, subject=subject, **options)


def passport_token(
    broker: Issuer,
    visas: list[str],
    *,
    subject: str = SUBJECT,
    typ: str | None = PASSPORT_TYP,
    claims: dict[str, Any] | None = None,
    **header: Any,
) -> str:
    now = int(time.time())
    payload = {
        "iss": broker.url,
        "sub": subject,
        "iat": now - 10,
        "exp": now + 600,
        "jti": f"passport-{now}",
        "ga4gh_passport_v1": visas,
        **(claims or {}),
    }
    return broker.sign(payload, typ, **header)


def write_brokers(folder: Path, *issuers: Issuer, **options: Any) -> Path:
    """A YAML brokers file trusting ``issuers``; each JWKS in its own file beside it."""
    entries = []
    for number, issuer in enumerate(issuers):
        jwks = folder / f"issuer-{number}.jwks.json"
        jwks.write_text(json.dumps(issuer.jwks()))
        entry: dict[str, Any] = {"issuer": issuer.url, "jwks": jwks.name}
        if issuer.sources is not None:
            entry["visa_sources"] = issuer.sources
        entries.append(entry)
    path = folder / "brokers.yaml"
    path.write_text(yaml.safe_dump({"issuers": entries, **options}))
    return path
