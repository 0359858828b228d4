"""The HTTP benches' OAuth client: a registered key that signs assertions and gets tokens.

The same steps a SMART Backend Services client takes (``gateway token`` does them once): a
``private_key_jwt`` assertion signed with the client's key, posted as a form to
``/oauth/token``. Assertions are single use (their ``jti`` is stored), so a token load needs
one fresh assertion per request: ``token_forms`` signs them ahead, before any timing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
from joserfc.jwk import ECKey, RSAKey

from bench import BenchError
from gateway.auth.client_assertion import ASSERTION_TYPE
from gateway.auth.client_keys import load_client_key, sign_assertion

TOKEN_PATH = "/oauth/token"  # noqa: S105 (a route, not a secret)
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class BenchClient:
    client_id: str
    key: ECKey | RSAKey
    kid: str
    algorithm: str

    @classmethod
    def load(cls, client_id: str, key_file: Path) -> BenchClient:
        key, kid, algorithm = load_client_key(key_file)
        return cls(client_id, key, kid, algorithm)

    def token_form(self, base: str) -> str:
        """One urlencoded token request with a fresh assertion (the gateway's base URL)."""
        assertion = sign_assertion(
            self.key, self.kid, self.algorithm, self.client_id, base + TOKEN_PATH
        )
        return urlencode(
            {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            }
        )

    def token_forms(self, base: str, count: int) -> tuple[list[str], float]:
        """``count`` token requests, each with its own assertion, and the seconds it took."""
        started = time.perf_counter()
        forms = [self.token_form(base) for _ in range(count)]
        return forms, time.perf_counter() - started

    def access_token(self, base: str) -> str:
        """A fresh access token (they live five minutes).

        :raises BenchError: the gateway refused.
        """
        answer = httpx.post(
            base + TOKEN_PATH,
            content=self.token_form(base),
            headers={"Content-Type": FORM_TYPE},
            timeout=30,
        )
        if answer.status_code != 200:
            raise BenchError(
                f"POST {TOKEN_PATH} answered {answer.status_code}: {answer.text[:300]}"
            )
        token: str = answer.json()["access_token"]
        return token
