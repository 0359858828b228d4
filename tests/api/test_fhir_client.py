"""A third-party FHIR client (SMART on FHIR's ``fhirclient``) reads a running gateway over
real HTTP: the CapabilityStatement and a patient's ``$summary`` parse with its R4 models."""

from __future__ import annotations

from pathlib import Path

import httpx
from fhirclient import client as fhir_client
from fhirclient.models.bundle import Bundle
from fhirclient.models.patient import Patient

from tests.support.server import gateway_process, node_token

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "ingest" / "records" / "data" / "registry_csv" / "breast-cancer.csv"


def test_fhirclient_reads_metadata_and_a_summary(database_url: str, tmp_path: Path) -> None:
    environment = {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PROFILES_DIR": str(REPO / "profiles"),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    with gateway_process(environment) as base:
        bearer = {"Authorization": f"Bearer {node_token(environment, base, tmp_path)}"}
        pushed = httpx.post(
            f"{base}/national/records",
            params={"profile": "be-cancer-registry-csv"},
            content=SAMPLE.read_bytes(),
            headers=bearer,
            timeout=30,
        )
        assert pushed.status_code == 201, pushed.text
        patient_id = pushed.headers["location"].rsplit("/", 1)[1]

        smart = fhir_client.FHIRClient(settings={"app_id": "tests", "api_base": f"{base}/fhir/"})
        statement = smart.server.capabilityStatement  # public: read before the token is set
        smart.server.session.headers.update(bearer)
        assert statement.fhirVersion == "4.0.1"
        assert statement.rest[0].resource[0].type == "Patient"

        patient = Patient.read(patient_id, smart.server)
        assert patient.birthDate.isostring == "1968-04-12"

        document = Bundle(smart.server.request_json(f"Patient/{patient_id}/$summary"))
        assert document.type == "document"
        assert document.entry[0].resource.resource_type == "Composition"
        kinds = {entry.resource.resource_type for entry in document.entry}
        assert {"Patient", "Condition", "Observation"} <= kinds
