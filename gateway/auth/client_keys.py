"""A client's own key pair and the assertions it signs with it (``gateway clients add
--generate-key``, ``gateway token``): the client side of SMART Backend Services, so an operator
can try the gateway without writing a client first."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from gateway.errors import BadRequest

__all__ = ["load_client_key", "new_client_key", "sign_assertion"]

_CURVES = {"ES384": "P-384", "ES256": "P-256"}
_ALGORITHM_OF = {"P-384": "ES384", "P-256": "ES256"}
_ASSERTION_LIFETIME = 240  # seconds; the server accepts at most 300


def new_client_key(folder: Path, client_id: str, algorithm: str) -> dict[str, Any]:
    """Write ``client_id.key`` (a private JWK, 0600) and ``client_id.jwks.json`` into
    ``folder``; answer the public JWKS. When both files are there already (the database was
    reset, the key kept), their public JWKS is answered and nothing is written.

    :raises BadRequest: only one of the two files exists.
    """
    private_path, public_path = folder / f"{client_id}.key", folder / f"{client_id}.jwks.json"
    if private_path.exists() and public_path.exists():
        found: dict[str, Any] = json.loads(public_path.read_text(encoding="utf-8"))
        return found
    if private_path.exists() or public_path.exists():
        raise BadRequest(f"{folder}: {client_id}.key and {client_id}.jwks.json go together")
    key: ECKey | RSAKey
    if algorithm in _CURVES:
        key = ECKey.generate_key(_CURVES[algorithm])
    else:
        key = RSAKey.generate_key(3072)
    kid = key.thumbprint()
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump({**key.as_dict(private=True), "kid": kid, "alg": algorithm}, out)
    public = {"keys": [{**key.as_dict(private=False), "kid": kid, "alg": algorithm}]}
    public_path.write_text(json.dumps(public, indent=2) + "\n", encoding="utf-8")
    return public


def load_client_key(path: Path) -> tuple[ECKey | RSAKey, str, str]:
    """A client's private key file (a private JWK, or a PEM key) with its kid and algorithm.

    :raises BadRequest: unreadable, or not a private EC/RSA key.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadRequest(f"{path}: cannot read the key ({exc.strerror})") from None
    try:
        if data.lstrip().startswith(b"{"):
            entry = json.loads(data)
            key = _import_jwk(entry)
            kid, algorithm = entry.get("kid") or key.thumbprint(), entry.get("alg")
        else:
            key = _import_pem(data)
            kid, algorithm = key.thumbprint(), None
    except (JoseError, ValueError, TypeError) as exc:
        raise BadRequest(f"{path}: not a private EC or RSA key ({exc})") from None
    if not key.is_private:
        raise BadRequest(f"{path}: this is a public key; the client signs with its private key")
    return key, kid, algorithm or _default_algorithm(key)


def sign_assertion(
    key: ECKey | RSAKey,
    kid: str,
    algorithm: str,
    client_id: str,
    token_url: str,
    extensions: dict[str, Any] | None = None,
) -> str:
    """A ``private_key_jwt`` client assertion for one token request."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_url,
        "iat": now,
        "exp": now + _ASSERTION_LIFETIME,
        "jti": uuid.uuid4().hex,
    }
    if extensions:
        claims["extensions"] = extensions
    header = {"alg": algorithm, "typ": "JWT", "kid": kid}
    return jwt.encode(header, claims, key, algorithms=[algorithm])


def _import_jwk(entry: dict[str, Any]) -> ECKey | RSAKey:
    if entry.get("kty") == "EC":
        return ECKey.import_key(entry)
    if entry.get("kty") == "RSA":
        return RSAKey.import_key(entry)
    raise ValueError("only EC and RSA keys")


def _import_pem(data: bytes) -> ECKey | RSAKey:
    try:
        return ECKey.import_key(data)
    except (JoseError, ValueError, TypeError):
        return RSAKey.import_key(data)


def _default_algorithm(key: ECKey | RSAKey) -> str:
    if isinstance(key, ECKey):
        return _ALGORITHM_OF.get(str(key.curve_name), "ES384")
    return "RS384"
