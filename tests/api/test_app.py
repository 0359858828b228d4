"""The app's edges: health, OpenAPI, error documents, logs that never carry patient data."""

from __future__ import annotations

import asyncio
import logging

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.services.health import HealthService
from gateway.settings import Settings
from gateway.storage.database import open_database
from tests.api.conftest import STANDARD_JOBS, serving


def test_health_and_ready(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok"}


def test_readiness_fails_when_the_database_is_unreachable() -> None:
    async def check() -> bool:
        database = open_database("postgresql+asyncpg://postgres@127.0.0.1:1/none")
        try:
            return (await HealthService(database).readiness()).ready
        finally:
            await database.dispose()

    assert asyncio.run(check()) is False


def test_openapi_describes_the_beacon(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        spec = client.get("/openapi.json").json()
        assert "/beacon/g_variants" in spec["paths"]
        assert {"get", "post"} <= set(spec["paths"]["/beacon/g_variants"])
        assert client.get("/docs").status_code == 200


def test_unknown_routes_answer_problem_documents(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/nothing/here")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
        beacon = client.get("/beacon/nothing")
        assert beacon.status_code == 404
        assert beacon.json()["error"]["errorCode"] == 404


def test_access_logs_name_routes_not_values(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    logging.getLogger("gateway").propagate = True
    verbose = settings.model_copy(update={"log_level": "INFO"})
    with (
        caplog.at_level(logging.INFO, logger="gateway"),
        serving(verbose, *STANDARD_JOBS) as client,
    ):
        logging.getLogger("gateway").propagate = True  # create_app configured the handler
        client.get("/beacon/individuals/P4")
        client.get(
            "/beacon/g_variants",
            params={"referenceName": "13", "start": "32315999", "alternateBases": "A"},
        )
    routes = [r.__dict__.get("route") for r in caplog.records if r.name == "gateway.access"]
    assert routes == ["/beacon/individuals/{individual_id}", "/beacon/g_variants"]
    text = caplog.text
    assert "P4" not in text
    assert "32315999" not in text


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValueError, match="GATEWAY_WEBHOOK_SECRETS"):
        Settings(_env_file=None, env="prod")
    Settings(_env_file=None, env="prod", webhook_secrets="whsec_c2VjcmV0LXN0cmluZy1mb3ItdGVzdHM=")


def test_openapi_documents_the_get_parameters(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    names = {p["name"] for p in paths["/beacon/g_variants"]["get"]["parameters"]}
    assert {"referenceName", "start", "alternateBases", "geneId", "filters"} <= names
    assert "requestBody" in paths["/beacon/g_variants"]["post"]


def test_a_defect_is_a_500_document_and_one_log_line(
    settings: Settings, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    app = create_app(settings)

    async def broken(patient: str) -> None:
        raise RuntimeError(f"defect while handling {patient}")

    app.add_api_route("/beacon/broken/{patient}", broken)
    app.add_api_route("/broken/{patient}", broken)
    with caplog.at_level(logging.ERROR, logger="gateway"), TestClient(app) as client:
        logging.getLogger("gateway").propagate = True
        beacon = client.get("/beacon/broken/PATIENT-123")
        other = client.get("/broken/PATIENT-123")
    assert beacon.status_code == 500
    assert beacon.json()["error"]["errorCode"] == 500
    assert other.status_code == 500
    assert other.headers["content-type"] == "application/problem+json"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.__dict__["route"] for r in errors] == [
        "/beacon/broken/{patient}",
        "/broken/{patient}",
    ]
    assert "PATIENT-123" not in caplog.text
    output = capfd.readouterr()
    assert "Traceback" not in output.err
    assert "PATIENT-123" not in output.err
