"""The Beacon query budget (``GATEWAY_BEACON_QUERY_BUDGET``) through the real app."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from gateway.app import create_app
from gateway.settings import Settings
from gateway.storage.database import open_database
from gateway.storage.tables import beacon_budget
from tests.api.conftest import STANDARD_JOBS, serving
from tests.support.beacon_schema import ERROR, assert_valid
from tests.support.passports import (
    BROKER_URL,
    Issuer,
    passport_token,
    registered_visas,
    write_brokers,
)
from tests.support.stores import load

pytestmark = pytest.mark.usefixtures("shared")

QUERIES = [
    ("GET", "/beacon/g_variants?geneId=BRCA2"),
    ("POST", "/beacon/g_variants"),
    ("GET", "/beacon/individuals"),
    ("GET", "/beacon/datasets"),
    ("GET", "/beacon/datasets/cohort/g_variants"),
    ("GET", "/beacon/g_variants/GRCh38-13-32316000-G-A/individuals"),
]
INFORMATIONAL = [
    "/beacon",
    "/beacon/",
    "/beacon/info",
    "/beacon/service-info",
    "/beacon/configuration",
    "/beacon/map",
    "/beacon/entry_types",
    "/beacon/filtering_terms",
    "/beacon/individuals/filtering_terms",
    "/beacon/datasets/cohort/filtering_terms",
]


@pytest.fixture(scope="module")
def broker() -> Issuer:
    return Issuer.rsa(BROKER_URL, "broker-2026")


def budgeted(settings: Settings, budget: int, **changes: Any) -> Settings:
    return settings.model_copy(update={"beacon_query_budget": budget, **changes})


def ask(client: TestClient, method: str, path: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "POST":
        return client.post(path, json={"meta": {"apiVersion": "v2.0"}}, headers=headers)
    return client.get(path, headers=headers)


def exhausted(response: Any) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert_valid(body, ERROR)
    assert body["error"]["errorCode"] == 429
    assert "query budget used up" in body["error"]["errorMessage"]
    assert 1 <= int(response.headers["retry-after"]) <= 3600


def rows(settings: Settings) -> int:
    async def count() -> int:
        database = open_database(settings.database_url)
        try:
            async with database.read() as connection:
                found = await connection.scalar(select(func.count()).select_from(beacon_budget))
                return int(found or 0)
        finally:
            await database.dispose()

    return asyncio.run(count())


def test_budgets_are_off_by_default(settings: Settings) -> None:
    assert Settings(_env_file=None).beacon_query_budget == 0
    with serving(settings, *STANDARD_JOBS) as client:
        for _ in range(5):
            for method, path in QUERIES:
                assert ask(client, method, path).status_code == 200, path
    assert rows(settings) == 0


def test_every_query_route_spends_and_a_used_up_budget_is_a_429(settings: Settings) -> None:
    with serving(budgeted(settings, len(QUERIES)), *STANDARD_JOBS) as client:
        for method, path in QUERIES:
            assert ask(client, method, path).status_code == 200, path
        for method, path in QUERIES:
            exhausted(ask(client, method, path))


def test_informational_routes_spend_nothing(settings: Settings) -> None:
    with serving(budgeted(settings, 1), *STANDARD_JOBS) as client:
        for _ in range(3):
            for path in INFORMATIONAL:
                assert client.get(path).status_code == 200, path
        assert ask(client, *QUERIES[0]).status_code == 200
        exhausted(ask(client, *QUERIES[0]))
        assert client.get("/beacon/info").status_code == 200


def test_the_budget_survives_a_restart(settings: Settings) -> None:
    limited = budgeted(settings, 3)
    asyncio.run(load(limited, *STANDARD_JOBS))
    with TestClient(create_app(limited)) as first:
        assert ask(first, *QUERIES[0]).status_code == 200
        assert ask(first, *QUERIES[1]).status_code == 200
    with TestClient(create_app(limited)) as second:
        assert ask(second, *QUERIES[2]).status_code == 200
        exhausted(ask(second, *QUERIES[3]))


def test_two_apps_share_one_budget(settings: Settings) -> None:
    limited = budgeted(settings, 2)
    asyncio.run(load(limited, *STANDARD_JOBS))
    with TestClient(create_app(limited)) as one, TestClient(create_app(limited)) as two:
        assert ask(one, *QUERIES[0]).status_code == 200
        assert ask(two, *QUERIES[0]).status_code == 200
        exhausted(ask(one, *QUERIES[0]))
        exhausted(ask(two, *QUERIES[0]))


def test_each_passport_holder_has_a_budget_of_their_own(
    settings: Settings, tmp_path: Path, broker: Issuer
) -> None:
    limited = budgeted(settings, 1, passport_brokers=write_brokers(tmp_path, broker))
    alice = passport_token(broker, registered_visas(broker, "alice"), subject="alice")
    bob = passport_token(broker, [], subject="bob")
    alice_again = passport_token(broker, [], subject="alice")  # another token, same person
    with serving(limited, *STANDARD_JOBS) as client:
        assert ask(client, *QUERIES[0]).status_code == 200  # anonymous
        exhausted(ask(client, *QUERIES[0]))
        assert ask(client, *QUERIES[0], alice).status_code == 200
        assert ask(client, *QUERIES[0], bob).status_code == 200
        exhausted(ask(client, *QUERIES[0], alice_again))
    assert "alice" not in repr(stored_callers(limited))


def stored_callers(settings: Settings) -> list[str]:
    async def read() -> list[str]:
        database = open_database(settings.database_url)
        try:
            async with database.read() as connection:
                found = await connection.execute(select(beacon_budget.c.caller))
                return sorted(row.caller for row in found)
        finally:
            await database.dispose()

    callers = asyncio.run(read())
    assert callers[0] == "anonymous:testclient"
    assert all(c.startswith("passport:") and len(c) == 73 for c in callers[1:])
    return callers


def test_refused_passports_spend_nothing(settings: Settings) -> None:
    limited = budgeted(settings, 1)
    with serving(limited, *STANDARD_JOBS) as client:
        for _ in range(3):
            assert ask(client, *QUERIES[0], "not-a-passport").status_code == 401
        assert ask(client, *QUERIES[0]).status_code == 200
