"""The passport brokers file (``GATEWAY_PASSPORT_BROKERS``): whom the Beacon trusts, and their keys.

YAML or JSON; either a list of issuers, or a mapping with ``issuers`` and options::

    max_authz_ttl: 365d            # optional: how long after `asserted` a visa is accepted
    issuers:
      - issuer: https://broker.example.org/oidc     # exact `iss`, compared case-sensitively
        jwks: broker-jwks.json                       # a path relative to this file, or inline
        visa_sources:                                # optional: the only `source`s it may vouch for
          - https://dac.example.org

Keys come from this file only: a token's ``jku``, ``x5u`` or ``jwk`` header is never used, so
no key is ever fetched. Each key needs a ``kid`` unique within its issuer (tokens name their
key by ``kid``), must be public (RSA of 2048 bits or more, or EC P-256/P-384) and is for
signatures only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

__all__ = [
    "ALGORITHMS",
    "DEFAULT_MAX_AUTHZ_TTL",
    "BrokersFileError",
    "PassportTrust",
    "TrustedIssuer",
    "load_passport_trust",
]

#: What GA4GH AAI allows (RS256, ES256) plus the SMART set (RS384, ES384); never none or HS*.
ALGORITHMS = ("RS256", "ES256", "RS384", "ES384")
DEFAULT_MAX_AUTHZ_TTL = timedelta(days=365)
MAX_URL = 255  # the clearinghouse rule for URL fields; issuers are held to it as well

PublicKey = RSAKey | ECKey
_CURVE_OF = {"ES256": "P-256", "ES384": "P-384"}
_PRIVATE_PARAMETERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}  # k: a shared secret
_MIN_RSA_BITS = 2048
_TTL = re.compile(r"^([1-9][0-9]{0,9})([smhd]?)$")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class BrokersFileError(ValueError):
    """The brokers file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    issuer: str
    keys: Mapping[str, PublicKey]  # by kid
    visa_sources: frozenset[str] | None = None  # None: any source

    def key_for(self, kid: str, algorithm: str) -> PublicKey | None:
        """The key a token names by ``kid``, if it suits the token's algorithm."""
        key = self.keys.get(kid)
        if key is None or key.get("alg", algorithm) != algorithm:
            return None
        if algorithm.startswith("RS"):
            return key if isinstance(key, RSAKey) else None
        return key if isinstance(key, ECKey) and key.curve_name == _CURVE_OF[algorithm] else None

    def vouches_for(self, source: str) -> bool:
        return self.visa_sources is None or source in self.visa_sources


@dataclass(frozen=True, slots=True)
class PassportTrust:
    issuers: Mapping[str, TrustedIssuer] = field(default_factory=dict)
    max_authz_ttl: timedelta = DEFAULT_MAX_AUTHZ_TTL


def load_passport_trust(path: Path) -> PassportTrust:
    """Read and check the brokers file.

    :raises BrokersFileError: one line naming the file (and the issuer) and the problem.
    """
    document = _document(path)
    if isinstance(document, list):
        entries, options = document, {}
    elif isinstance(document, dict) and isinstance(document.get("issuers"), list):
        entries, options = document["issuers"], document
    else:
        raise BrokersFileError(f"{path}: expected a list of issuers, or a mapping with 'issuers'")
    unknown = set(options) - {"issuers", "max_authz_ttl"}
    if unknown:
        raise BrokersFileError(f"{path}: unknown settings {', '.join(sorted(map(str, unknown)))}")
    issuers: dict[str, TrustedIssuer] = {}
    for number, entry in enumerate(entries, start=1):
        trusted = _issuer(entry, path.parent, f"{path}: issuer {number}")
        if trusted.issuer in issuers:
            raise BrokersFileError(f"{path}: issuer {trusted.issuer!r} is listed twice")
        issuers[trusted.issuer] = trusted
    if not issuers:
        raise BrokersFileError(f"{path}: no issuers are listed")
    return PassportTrust(issuers, _ttl(options.get("max_authz_ttl"), path))


def _document(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BrokersFileError(
            f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        # A .json file is read as JSON, for its sharper messages; YAML reads JSON as well.
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BrokersFileError(f"{path}: not valid YAML or JSON: {first}") from None


def _issuer(entry: object, folder: Path, where: str) -> TrustedIssuer:
    if not isinstance(entry, dict):
        raise BrokersFileError(f"{where}: expected a mapping with issuer and jwks")
    unknown = set(entry) - {"issuer", "jwks", "visa_sources"}
    if unknown:
        raise BrokersFileError(f"{where}: unknown fields {', '.join(sorted(map(str, unknown)))}")
    issuer = entry.get("issuer")
    if not isinstance(issuer, str) or not issuer or len(issuer) > MAX_URL:
        raise BrokersFileError(f"{where}: 'issuer' must be a URL of at most {MAX_URL} characters")
    where = f"{where} ({issuer})"
    sources = entry.get("visa_sources")
    if sources is not None and (
        not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources)
    ):
        raise BrokersFileError(f"{where}: 'visa_sources' must be a list of URLs")
    keys = _keys(_jwks(entry.get("jwks"), folder, where), where)
    return TrustedIssuer(issuer, keys, None if sources is None else frozenset(sources))


def _jwks(value: object, folder: Path, where: str) -> object:
    if not isinstance(value, str):
        return value
    location = folder / value
    try:
        return json.loads(location.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise BrokersFileError(f"{where}: cannot read jwks {location}: {reason}") from None
    except ValueError as exc:
        raise BrokersFileError(f"{where}: jwks {location} is not JSON: {exc}") from None


def _keys(jwks: object, where: str) -> dict[str, PublicKey]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise BrokersFileError(f"{where}: 'jwks' must be a JWKS ({{\"keys\": [...]}}) or a path")
    keys: dict[str, PublicKey] = {}
    for item in jwks["keys"]:
        key = _key(item, where)
        if key.kid in keys:
            raise BrokersFileError(f"{where}: two keys share the kid {key.kid!r}")
        keys[str(key.kid)] = key
    return keys


def _key(item: object, where: str) -> PublicKey:
    if not isinstance(item, dict) or not isinstance(item.get("kid"), str) or not item["kid"]:
        raise BrokersFileError(f"{where}: every key needs a 'kid'")
    kid = item["kid"]
    if _PRIVATE_PARAMETERS & set(item):
        raise BrokersFileError(f"{where}: key {kid!r} holds private key material; list public keys")
    if item.get("use", "sig") != "sig" or item.get("alg", ALGORITHMS[0]) not in ALGORITHMS:
        raise BrokersFileError(
            f"{where}: key {kid!r} is not for {', '.join(ALGORITHMS)} signatures"
        )
    if item.get("kty") == "RSA" and _modulus_bits(item.get("n")) < _MIN_RSA_BITS:
        raise BrokersFileError(f"{where}: RSA key {kid!r} is under {_MIN_RSA_BITS} bits")
    try:
        key = _import(item)
    except (JoseError, ValueError, TypeError) as exc:
        raise BrokersFileError(f"{where}: key {kid!r} cannot be read: {exc}") from None
    if key is None:
        raise BrokersFileError(f"{where}: key {kid!r} must be RSA or EC P-256/P-384")
    return key


def _modulus_bits(n: object) -> int:
    # Read before joserfc imports the key, which would only warn about a weak one.
    if not isinstance(n, str):
        return 0
    try:
        return int.from_bytes(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))).bit_length()
    except (binascii.Error, ValueError):
        return 0


def _import(item: dict[str, Any]) -> PublicKey | None:
    if item.get("kty") == "RSA":
        return RSAKey.import_key(item)
    if item.get("kty") == "EC" and item.get("crv") in _CURVE_OF.values():
        return ECKey.import_key(item)
    return None


def _ttl(value: object, path: Path) -> timedelta:
    if value is None:
        return DEFAULT_MAX_AUTHZ_TTL
    match = _TTL.match(str(value)) if isinstance(value, (int, str)) else None
    if isinstance(value, bool) or match is None:
        raise BrokersFileError(
            f"{path}: max_authz_ttl must be a positive number of seconds, or like 12h or 365d"
        )
    return timedelta(seconds=int(match[1]) * _TTL_UNITS[match[2]])
