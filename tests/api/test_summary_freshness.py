"""A kept summary never outlives what it was made of: the gateway keeps each consent decision
and signed document between requests, and must still answer every request as a fresh read
would: after a consent period ends with no write in between, after a genomic report arrives
through another connection, after a new record version."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import orjson

from tests.api.test_consent_scenarios import (
    BSN,
    COHORT,
    DE_BUNDLE,
    NL_BUNDLE,
    resources,
    sections,
    summary,
)
from tests.support.requesters import parties
from tests.support.stores import load


def test_a_grant_stops_counting_the_moment_its_period_ends_without_any_write(settings):
    with parties(settings) as world:
        patient = world.push(NL_BUNDLE, "nl-zib-fhir")  # NL shares for ETREAT only by default
        ends = datetime.now(UTC) + timedelta(seconds=2)
        world.portal_says(
            "consent.granted",
            BSN,
            "999999011",
            purposes=["TREAT"],
            recipientCountries=["FR"],
            period={"end": ends.isoformat()},
        )
        first = summary(world, "node-fr", patient)
        assert first.status_code == 200, first.text
        assert summary(world, "node-fr", patient).content == first.content  # the kept one
        time.sleep(max(0.0, (ends - datetime.now(UTC)).total_seconds()) + 0.2)
        assert summary(world, "node-fr", patient).status_code == 403


def test_a_genomic_report_stored_by_another_process_is_in_the_very_next_summary(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")  # M123456785 is sample S5 of COHORT
        before = summary(world, "node-fr", patient)
        assert before.status_code == 200
        assert resources(before.json(), "DiagnosticReport") == []
        asyncio.run(load(settings, COHORT))  # its own engine: as `gateway ingest`
        after = summary(world, "node-fr", patient)
        assert len(resources(after.json(), "DiagnosticReport")) == 1


def test_a_new_record_version_replaces_the_kept_document(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        before = summary(world, "node-fr", patient).json()
        bundle = orjson.loads(DE_BUNDLE)
        conditions = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
        assert conditions, "the sample bundle has a problem list"
        bundle["entry"].remove(conditions[0])
        assert world.push(orjson.dumps(bundle), "de-isik-fhir") == patient
        after = summary(world, "node-fr", patient).json()
        problems = "11450-4"
        assert len(sections(after)[problems].get("entry", [])) == (
            len(sections(before)[problems].get("entry", [])) - 1
        )
