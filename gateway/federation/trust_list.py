"""The trust list: which member states' gateways this one exchanges with, and how to trust them.

``GATEWAY_TRUST_LIST`` names a YAML or JSON file (DESIGN.md §2): a list of peers, each with its
``country``, ``base_url``, ``ca_cert`` (the PEM file its TLS server certificate and document
signatures chain to) and ``jwks`` (its public signing keys, inline or a path). Relative paths
are read from the trust list's own folder, so the file and its certificates move together.

A peer is trusted for three things and nothing else: its TLS server certificate (when this
gateway calls it), its client assertions (when it asks this gateway for a token: a peer is a
registered OAuth client by being listed, under its gateway id), and its document signatures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.auth.keys import CA_CERT, public_jwks
from gateway.domain.clients import RegisteredClient
from gateway.errors import BadRequest

__all__ = [
    "PEER_PURPOSES",
    "PEER_SCOPES",
    "Peer",
    "TrustList",
    "gateway_id",
    "load_trust_list",
    "trust_list_entries",
]

# What a peer may ask for: the summaries of this country's citizens, for their care abroad.
PEER_SCOPES = "system/Patient.r"
PEER_PURPOSES = ("TREAT", "ETREAT")
PEER_ALGORITHM = "ES384"  # peers sign with their document-signing key (EC P-384)


def gateway_id(country: str) -> str:
    """The id a member state's gateway goes by: its Beacon id, and its OAuth client id."""
    return f"eu.ehds.gateway.{country.lower()}"


@dataclass(frozen=True, slots=True)
class Peer:
    country: str
    base_url: str
    ca_cert: Path
    anchors: tuple[x509.Certificate, ...]  # what its TLS and signing certificates chain to
    jwks: dict[str, Any]

    @property
    def client_id(self) -> str:
        return gateway_id(self.country)

    def as_client(self) -> RegisteredClient:
        return RegisteredClient(
            client_id=self.client_id,
            jwks=self.jwks,
            algorithm=PEER_ALGORITHM,
            scopes=PEER_SCOPES,
            country=self.country,
            purposes=PEER_PURPOSES,
        )


@dataclass(frozen=True, slots=True)
class TrustList:
    peers: tuple[Peer, ...] = ()

    def __iter__(self) -> Iterator[Peer]:
        return iter(self.peers)

    def __len__(self) -> int:
        return len(self.peers)

    def peer(self, country: str) -> Peer | None:
        return next((p for p in self.peers if p.country == country), None)

    def client(self, client_id: str) -> RegisteredClient | None:
        """The peer whose gateway id is ``client_id``, as an OAuth client."""
        found = next((p for p in self.peers if p.client_id == client_id), None)
        return found.as_client() if found else None

    def is_peer(self, client_id: str) -> bool:
        return any(p.client_id == client_id for p in self.peers)


class _PeerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(pattern=r"^[A-Z]{2}$")
    base_url: str
    ca_cert: str
    jwks: dict[str, Any] | str

    @field_validator("base_url")
    @classmethod
    def _https_origin(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be an https:// URL without query or fragment")
        return value.rstrip("/")


def load_trust_list(path: Path | None, own_country: str) -> TrustList:
    """The peers in the file at ``path`` (none when no file is configured).

    :raises BadRequest: the file is missing, unreadable or malformed, names this gateway's own
        country or one country twice, or a certificate or key set cannot be read.
    """
    if path is None:
        return TrustList()
    entries = _entries(path)
    countries = [entry.country for entry in entries]
    if own_country in countries:
        raise BadRequest(f"trust list {path}: lists this gateway's own country {own_country}")
    duplicates = sorted({c for c in countries if countries.count(c) > 1})
    if duplicates:
        raise BadRequest(f"trust list {path}: lists {', '.join(duplicates)} more than once")
    return TrustList(tuple(_peer(entry, path.parent) for entry in entries))


def trust_list_entries(
    pki_dir: Path, peers: Sequence[tuple[str, str]], own_country: str, folder: Path
) -> list[dict[str, Any]]:
    """Trust list entries for ``peers`` (country, base URL) from the keys under ``pki_dir``
    (``gateway pki init``'s layout): the CA by a path relative to ``folder``, where the file
    will live, and each country's public JWKS inline.

    :raises BadRequest: this gateway's own country or one country twice, a base URL that is
        not an https origin;
    :raises Unavailable: a country's certificates are missing.
    """
    countries = [country for country, _ in peers]
    if own_country in countries:
        raise BadRequest(f"trust list: {own_country} is this gateway's own country")
    duplicates = sorted({c for c in countries if countries.count(c) > 1})
    if duplicates:
        raise BadRequest(f"trust list: {', '.join(duplicates)} named more than once")
    ca_cert = os.path.relpath((pki_dir / CA_CERT).absolute(), folder.absolute())
    entries = []
    for country, base_url in peers:
        item = {"country": country, "base_url": base_url, "ca_cert": ca_cert}
        try:
            checked = _PeerEntry.model_validate({**item, "jwks": {}})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise BadRequest(f"trust list: {country} {first['loc'][0]}: {first['msg']}") from None
        entries.append(
            {**item, "base_url": checked.base_url, "jwks": public_jwks(pki_dir, country)}
        )
    return entries


def _entries(path: Path) -> list[_PeerEntry]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
    except OSError as exc:
        raise BadRequest(f"trust list {path}: cannot read it ({exc.strerror})") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BadRequest(f"trust list {path}: not YAML or JSON") from exc
    listed = raw.get("peers") if isinstance(raw, dict) else raw
    if not isinstance(listed, list):
        raise BadRequest(f"trust list {path}: expected a list of peers")
    entries = []
    for number, item in enumerate(listed):
        try:
            entries.append(_PeerEntry.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in (number, *first["loc"]))
            raise BadRequest(f"trust list {path}: peer {where}: {first['msg']}") from None
    return entries


def _peer(entry: _PeerEntry, folder: Path) -> Peer:
    ca_cert = folder / entry.ca_cert
    return Peer(
        country=entry.country,
        base_url=entry.base_url,
        ca_cert=ca_cert,
        anchors=tuple(_certificates(ca_cert, entry.country)),
        jwks=_jwks(entry.jwks, folder, entry.country),
    )


def _certificates(path: Path, country: str) -> Sequence[x509.Certificate]:
    try:
        found = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise BadRequest(f"trust list: {country} ca_cert {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise BadRequest(f"trust list: {country} ca_cert {path}: not a PEM certificate") from exc
    return found


def _jwks(value: dict[str, Any] | str, folder: Path, country: str) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads((folder / value).read_text(encoding="utf-8"))
        except OSError as exc:
            raise BadRequest(f"trust list: {country} jwks {value}: {exc.strerror}") from exc
        except ValueError as exc:
            raise BadRequest(f"trust list: {country} jwks {value}: not JSON") from exc
    keys = value.get("keys") if isinstance(value, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, dict) for k in keys):
        raise BadRequest(f"trust list: {country} jwks must be a JWK set with at least one key")
    return {"keys": keys}
