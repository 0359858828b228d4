"""What a citizen decides at the consent portal, and the requests it affects: each directive
arrives as a signed webhook and takes effect on the very next request of care providers'
nodes in other countries (FR, IT) and of a research client, each with its own token. The
national policies in play: DE shares summaries for TREAT/ETREAT with any country unless the
citizen says otherwise and counts citizens in research unless they opt out; NL shares only
for ETREAT and counts only those who opt in (``profiles/<cc>/policy.yaml``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity
from gateway.services.ingest_vcf import VcfIngest
from tests.api.conftest import SMALL_MANIFEST, SMALL_VCF
from tests.support.requesters import Parties, parties, unknown_id

RECORDS = Path(__file__).parents[1] / "ingest" / "records" / "data" / "fhir"
KVNR = "http://fhir.de/sid/gkv/kvid-10"
BSN = "http://fhir.nl/fhir/NamingSystem/bsn"
DE_BUNDLE = (RECORDS / "de-isik-bundle.json").read_bytes()  # KVNR M123456785 (sample S5)
NL_BUNDLE = (RECORDS / "nl-zib-bundle.json").read_bytes()  # BSN 999999011
PROBLEMS = "11450-4"
COHORT = VcfIngest(
    SMALL_VCF,
    "cohort",
    manifest=SMALL_MANIFEST,
    policy=PolicyChange(max_granularity=Granularity.RECORD),
)


def bare_patient(value: str, family: str = "Ohnebefund") -> bytes:
    """A DE patient with nothing to say in any section."""
    return json.dumps(
        {
            "resourceType": "Patient",
            "identifier": [{"system": KVNR, "value": value}],
            "name": [{"family": family, "given": ["Erika"]}],
            "birthDate": "1964-08-12",
        }
    ).encode()


def summary(parties: Parties, who: str, patient: str) -> Any:
    return parties.get(who, f"/fhir/Patient/{patient}/$summary")


def sections(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    composition = document["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    return {s["code"]["coding"][0]["code"]: s for s in composition["section"]}


def shape(section: dict[str, Any]) -> dict[str, Any]:
    """A section as a reader sees it: entry references are minted per document, so they are
    counted, not compared."""
    return {**section, "entry": len(section.get("entry", []))}


def resources(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == kind]


def individuals(parties: Parties) -> list[str]:
    query = {"meta": {"apiVersion": "v2.0"}, "query": {"requestedGranularity": "record"}}
    response = parties.http.post("/beacon/individuals", json=query)
    assert response.status_code == 200, response.text
    sets = response.json()["response"]["resultSets"]
    return sorted(r["id"] for s in sets if s["id"] == "cohort" for r in s.get("results", []))


def in_days(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# --- grant, and the country it names ----------------------------------------------------------


def test_a_grant_opens_the_summary_to_the_country_and_purpose_it_names(settings):
    with parties(settings) as world:
        patient = world.push(NL_BUNDLE, "nl-zib-fhir")
        # NL shares only for emergencies by default: routine care abroad needs a grant.
        assert summary(world, "node-fr", patient).status_code == 403
        assert summary(world, "node-it", patient).status_code == 403
        world.portal_says(
            "consent.granted", BSN, "999999011", purposes=["TREAT"], recipientCountries=["FR"]
        )
        granted = summary(world, "node-fr", patient)
        assert granted.status_code == 200, granted.text
        assert resources(granted.json(), "Patient")[0]["id"] == patient
        assert world.get("node-fr", f"/fhir/Patient/{patient}").status_code == 200
        # Country mismatch: the grant names FR only; IT is refused.
        assert summary(world, "node-it", patient).status_code == 403
        assert world.get("node-it", f"/fhir/Patient/{patient}").status_code == 403
        search = world.get("node-it", "/fhir/Patient", identifier=f"{BSN}|999999011")
        assert search.json()["total"] == 0
        assert (
            world.get("node-fr", "/fhir/Patient", identifier=f"{BSN}|999999011").json()["total"]
            == 1
        )


def test_a_purpose_the_citizen_did_not_grant_is_refused(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        assert summary(world, "node-fr", patient).status_code == 200
        # Research asking for a care document: DE shares summaries for TREAT/ETREAT only.
        assert summary(world, "research", patient).status_code == 403
        assert world.get("research", f"/fhir/Patient/{patient}").status_code == 403
        found = world.get("research", "/fhir/Patient", identifier=f"{KVNR}|M123456785")
        assert found.json()["total"] == 0


# --- restrict one section ---------------------------------------------------------------------


def test_a_restricted_section_is_written_as_for_a_patient_with_nothing_there(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        without_problems = world.push(bare_patient("A123456780"), "de-isik-fhir")
        whole = summary(world, "node-fr", patient).json()
        before = sections(whole)
        assert "entry" in before[PROBLEMS]
        world.portal_says(
            "consent.restricted", KVNR, "M123456785", categories=[f"section:{PROBLEMS}"]
        )
        response = summary(world, "node-fr", patient)
        assert response.status_code == 200
        document = response.json()
        after = sections(document)
        empty = sections(summary(world, "node-fr", without_problems).json())[PROBLEMS]
        # No trace: the same section, narrative and emptyReason as a patient with no problems.
        assert after[PROBLEMS] == empty
        assert "entry" not in empty
        assert "emptyReason" in after[PROBLEMS]
        problem_ids = {ref["reference"] for ref in before[PROBLEMS]["entry"]}
        assert not problem_ids & {e["fullUrl"] for e in document["entry"]}
        # Every other section is intact.
        assert {code: shape(s) for code, s in after.items() if code != PROBLEMS} == {
            code: shape(s) for code, s in before.items() if code != PROBLEMS
        }
        # Only the problems' Conditions are gone; past problems are their own section.
        kept = len(resources(whole, "Condition")) - len(before[PROBLEMS]["entry"])
        assert len(resources(document, "Condition")) == kept
        # Other countries the restriction names nothing about still see it restricted
        # (recipientCountries defaults to every country).
        assert sections(summary(world, "node-it", patient).json())[PROBLEMS] == empty


def test_a_restriction_for_one_country_leaves_the_others_their_default(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        world.portal_says(
            "consent.restricted",
            KVNR,
            "M123456785",
            categories=[f"section:{PROBLEMS}"],
            recipientCountries=["IT"],
        )
        assert "entry" not in sections(summary(world, "node-it", patient).json())[PROBLEMS]
        assert "entry" in sections(summary(world, "node-fr", patient).json())[PROBLEMS]


# --- revoke -----------------------------------------------------------------------------------


def test_a_revocation_refuses_every_read_and_says_no_more_than_that(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        assert summary(world, "node-fr", patient).status_code == 200
        world.portal_says("consent.revoked", KVNR, "M123456785")
        refusals = [
            world.get("node-fr", f"/fhir/Patient/{patient}/$summary"),
            world.get("node-fr", f"/fhir/Patient/{patient}"),
            world.get("node-fr", "/fhir/Patient/$summary", identifier=f"{KVNR}|M123456785"),
        ]
        for refused in refusals:
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"].startswith("application/fhir+json")
            (issue,) = refused.json()["issue"]
            assert issue["diagnostics"] == "access to this patient's data is not permitted"
            assert "www-authenticate" not in refused.headers  # nothing wrong with the token
        # An unknown citizen stays a 404, and a search finds nothing either way.
        no_one = world.get("node-fr", "/fhir/Patient/$summary", identifier=f"{KVNR}|H890123459")
        assert no_one.status_code == 404
        searched = world.get("node-fr", "/fhir/Patient", identifier=f"{KVNR}|M123456785").json()
        nothing = world.get("node-fr", "/fhir/Patient", identifier=f"{KVNR}|H890123459").json()
        assert searched["total"] == nothing["total"] == 0
        assert searched["entry"] == nothing["entry"] == []
        assert world.get("node-fr", "/fhir/Patient", _id=patient).json()["total"] == 0


# --- expiry -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "permitted"),
    [
        ({"start": in_days(-30), "end": in_days(-1)}, False),  # ended yesterday
        ({"start": in_days(1), "end": in_days(30)}, False),  # starts tomorrow
        ({"start": in_days(-1), "end": in_days(30)}, True),  # in force
        ({"end": in_days(1)}, True),
    ],
    ids=["ended", "future-dated", "in-force", "open-start"],
)
def test_a_grant_counts_only_within_its_period(settings, period, permitted):
    with parties(settings) as world:
        patient = world.push(NL_BUNDLE, "nl-zib-fhir")
        world.portal_says(
            "consent.granted",
            BSN,
            "999999011",
            purposes=["TREAT"],
            recipientCountries=["FR"],
            period=period,
        )
        response = summary(world, "node-fr", patient)
        assert response.status_code == (200 if permitted else 403), response.text


# --- research use -----------------------------------------------------------------------------


def test_research_and_care_choices_are_separate_and_each_applies_at_once(settings):
    with parties(settings, COHORT) as world:
        patient = world.push(bare_patient("A123456780", "Testperson"), "de-isik-fhir")  # P1
        assert "P1" in individuals(world)
        world.portal_says("research.opted_out", KVNR, "A123456780")
        assert "P1" not in individuals(world)
        assert summary(world, "node-fr", patient).status_code == 200  # care goes on
        world.portal_says("research.opted_in", KVNR, "A123456780")
        assert "P1" in individuals(world)
        world.portal_says("consent.revoked", KVNR, "A123456780")
        assert summary(world, "node-fr", patient).status_code == 403
        assert "P1" in individuals(world)  # a care revocation is no research opt-out


# --- genomic reports --------------------------------------------------------------------------


def test_a_genomics_restriction_empties_the_reports_and_hides_their_observations(settings):
    with parties(settings, COHORT) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")  # M123456785 is sample S5
        subject = f"Patient/{patient}"
        reports = world.get("node-fr", "/fhir/DiagnosticReport", subject=subject).json()
        assert reports["total"] == 1
        observations = world.get("node-fr", "/fhir/Observation", subject=subject).json()
        assert observations["total"] > 0
        observation = observations["entry"][0]["resource"]["id"]
        assert world.get("node-fr", f"/fhir/Observation/{observation}").status_code == 200
        document = summary(world, "node-fr", patient).json()
        assert resources(document, "DiagnosticReport")

        world.portal_says("consent.restricted", KVNR, "M123456785", categories=["genomics"])
        after = world.get("node-fr", "/fhir/DiagnosticReport", subject=subject).json()
        assert after["total"] == 0
        assert after["entry"] == []
        assert world.get("node-fr", "/fhir/Observation", subject=subject).json()["total"] == 0
        hidden = world.get("node-fr", f"/fhir/Observation/{observation}")
        unknown = world.get("node-fr", f"/fhir/Observation/{unknown_id()}")
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json() == unknown.json()
        # The summary itself stays, without the genomic report in its results.
        document = summary(world, "node-fr", patient).json()
        assert resources(document, "DiagnosticReport") == []
        assert resources(document, "Patient")[0]["id"] == patient
        # Each genomic read, permitted or refused, is in the access log with who and why.
        genomic = [
            (e["entity"][-1]["what"]["reference"], e["outcome"])
            for e in world.log(patient)
            if e["entity"][-1]["what"]["reference"].startswith(("DiagnosticReport", "Observation"))
        ]
        assert genomic == [
            ("DiagnosticReport", "0"),
            ("Observation", "0"),
            (f"Observation/{observation}", "0"),
            ("DiagnosticReport", "4"),
            ("Observation", "4"),
            (f"Observation/{observation}", "4"),
        ]


# --- the access log (EHDS Art. 9) -------------------------------------------------------------


def test_every_access_permitted_or_refused_is_in_the_patients_log(settings):
    with parties(settings) as world:
        patient = world.push(NL_BUNDLE, "nl-zib-fhir")
        assert summary(world, "node-fr", patient).status_code == 403  # NL: no TREAT by default
        world.portal_says(
            "consent.granted", BSN, "999999011", purposes=["TREAT"], recipientCountries=["FR"]
        )
        assert summary(world, "node-fr", patient).status_code == 200
        assert world.get("node-it", f"/fhir/Patient/{patient}").status_code == 403
        assert summary(world, "research", patient).status_code == 403
        search = world.get("node-fr", "/fhir/Patient", identifier=f"{BSN}|999999011")
        assert search.json()["total"] == 1
        log = world.log(patient)
    seen = [
        (
            e["agent"][0]["who"]["display"],
            e["agent"][0].get("purposeOfUse", [{}])[0].get("coding", [{}])[0].get("code"),
            e["subtype"][0]["code"],
            e["outcome"],
        )
        for e in log
    ]
    assert seen == [
        ("node-de", None, "create", "0"),  # the national node's push (no purpose: a write)
        ("node-fr", "TREAT", "operation", "4"),  # refused: no grant yet
        ("node-fr", "TREAT", "operation", "0"),
        ("node-it", "TREAT", "read", "4"),
        ("research-de", "HRESCH", "operation", "4"),
        ("node-fr", "TREAT", "search-type", "0"),
    ]
    for entry in log:
        assert {"reference": f"Patient/{patient}"} in [e["what"] for e in entry["entity"]]
    refusals = [e for e in log if e["outcome"] == "4"]
    assert all(e["outcomeDesc"].startswith("refused by consent") for e in refusals)
