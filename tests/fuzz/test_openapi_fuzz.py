"""Schemathesis over the gateway's own ``/openapi.json``: every operation, examples generated
from its declared parameters and bodies, sent to the real app with a node's bearer token.

Examples are drawn from the schema (positive) and from its violations (negative: wrong
types, missing fields, out-of-range values), as a hostile client would send. Each response
must not be a 5xx and must match what the document declares for it (status
code, media type, body schema). ``GATEWAY_FUZZ_EXAMPLES`` sets the examples per operation
(a few in ``make test``; ``make fuzz`` runs many more), and the seed is fixed so that a
failure found in CI replays on a laptop.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.auth.pki import init_pki
from gateway.settings import Settings
from tests.api.conftest import STANDARD_JOBS
from tests.api.test_national_records import PROFILE, RECORD
from tests.support.oauth import ClientKey, authorize, register
from tests.support.stores import load

EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "10"))
SEED = int(os.environ.get("GATEWAY_FUZZ_SEED", "20261128"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def client(settings: Settings, tmp_path: Path) -> Iterator[TestClient]:
    """The app over the small known store plus one national record, with its keys (so that
    summaries are signed) and a node's token."""
    init_pki(tmp_path / "pki", ["DE"])
    settings = settings.model_copy(update={"pki_dir": tmp_path / "pki"})
    asyncio.run(load(settings, *STANDARD_JOBS))
    node = ClientKey()
    register(settings, node)
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        authorize(http, settings, node)
        stored = http.post("/national/records", params={"profile": PROFILE}, content=RECORD)
        assert stored.status_code == 201, stored.text
        yield http


def _needs_token(path: str) -> bool:
    """Routes that take a node's bearer token; Beacon routes take passports instead."""
    return path.startswith(("/fhir/", "/national/", "/oauth/introspect")) and (
        "/.well-known/" not in path
    )


def test_no_operation_answers_5xx_or_breaks_its_declared_schema(client: TestClient) -> None:
    token = client.headers.pop("Authorization")
    schema = schemathesis.openapi.from_dict(client.app.openapi())  # type: ignore[attr-defined]
    operations = [result.ok() for result in schema.get_all_operations() if isinstance(result, Ok)]
    assert len(operations) > 30
    seen: Counter[int] = Counter()
    failures: list[str] = []
    for operation in operations:
        # Every operation is fuzzed, and all their failures are reported together.
        try:
            _fuzz(client, token, operation, seen)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")
    print(f"{sum(seen.values())} examples over {len(operations)} operations; statuses {seen}")
    assert not failures, "\n\n".join(failures)
    assert sum(seen.values()) >= len(operations)


def _fuzz(client: TestClient, token: str, operation: Any, seen: Counter[int]) -> None:
    @hypothesis.seed(SEED)
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=operation.as_strategy() | operation.as_strategy(GenerationMode.NEGATIVE))
    def run(case: Case[Any]) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        request = _for_testclient(kwargs)
        if _needs_token(operation.path):
            request["headers"].setdefault("Authorization", token)
        response = client.request(**request)
        seen[response.status_code] += 1
        if _needs_token(operation.path):  # the fuzzer gets past authentication
            assert response.status_code != 401, response.text
        case.validate_response(response, checks=CHECKS)

    run()


def _for_testclient(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis prepares ``requests`` arguments; the test client speaks httpx."""
    request: dict[str, Any] = {
        name: kwargs[name] for name in ("method", "url", "params", "json") if name in kwargs
    }
    request["headers"] = {
        name: value
        for name, value in kwargs.get("headers", {}).items()
        if name.lower() not in {"connection", "accept-encoding"}
    }
    data = kwargs.get("data")
    if isinstance(data, dict):
        request["data"] = data  # a form
    elif data is not None:
        request["content"] = data if isinstance(data, bytes) else str(data).encode()
    return request
