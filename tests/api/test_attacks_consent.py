"""The consent part of the attack corpus (``reference/crossborder-security.md`` §7): choices
toggled mid-session (no cached document may outlive them), a deny nested in a permit,
break-glass and emergency purposes a client is not registered for, directives aimed at a
look-alike citizen, and refusals that say no more than "not permitted" (a 403 whatever the
reason; searches and genomic lists simply find nothing)."""

from __future__ import annotations

from typing import Any

from tests.api.test_consent_scenarios import (
    DE_BUNDLE,
    KVNR,
    NL_BUNDLE,
    PROBLEMS,
    bare_patient,
    sections,
    summary,
)
from tests.support.attacks import oauth_error
from tests.support.oauth import ClientKey, iua, register, token_form, token_url
from tests.support.requesters import Parties, parties, unknown_id


def problems(world: Parties, who: str, patient: str) -> list[Any]:
    response = summary(world, who, patient)
    assert response.status_code == 200, response.text
    entries: list[Any] = sections(response.json())[PROBLEMS].get("entry", [])
    return entries


def test_choices_toggled_mid_session_apply_to_the_same_token_at_once(settings):
    """The signed-document cache is keyed by what may be released: no cached summary
    outlives a revocation or a restriction, and none is held back after a new grant."""
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        assert problems(world, "node-fr", patient)
        assert problems(world, "node-fr", patient)  # now cached
        world.portal_says("consent.revoked", KVNR, "M123456785")
        assert summary(world, "node-fr", patient).status_code == 403
        world.portal_says("consent.granted", KVNR, "M123456785", purposes=["TREAT"])
        assert problems(world, "node-fr", patient)
        world.portal_says(
            "consent.restricted", KVNR, "M123456785", categories=[f"section:{PROBLEMS}"]
        )
        assert problems(world, "node-fr", patient) == []
        world.portal_says("consent.granted", KVNR, "M123456785", categories=[f"section:{PROBLEMS}"])
        assert problems(world, "node-fr", patient)


def test_two_requesters_with_different_releases_never_get_each_others_document(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        world.portal_says(
            "consent.restricted",
            KVNR,
            "M123456785",
            categories=[f"section:{PROBLEMS}"],
            recipientCountries=["IT"],
        )
        for _ in range(2):  # alternating, so each would meet the other's cached document
            assert problems(world, "node-it", patient) == []
            assert problems(world, "node-fr", patient)


def test_a_deny_nested_in_a_permit_holds(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        world.portal_says(
            "consent.granted",
            KVNR,
            "M123456785",
            purposes=["TREAT"],
            recipientCountries=["FR"],
            categories=["patient-summary"],
        )
        world.portal_says(
            "consent.restricted",
            KVNR,
            "M123456785",
            recipientCountries=["FR"],
            categories=[f"section:{PROBLEMS}"],
        )
        assert problems(world, "node-fr", patient) == []
        assert problems(world, "node-it", patient)  # the deny speaks of FR only


def test_break_glass_and_emergency_need_a_registration_for_them(settings):
    routine = ClientKey(client_id="node-routine", country="FR", purposes=("TREAT",))
    register(settings, routine)
    with parties(settings) as world:
        url = token_url(settings)
        for purpose in ("BTG", "ETREAT", "HRESCH", "PUBHLTH"):
            assertion = routine.assertion(url, **iua(purpose))
            response = world.http.post("/oauth/token", data=token_form(assertion))
            assert purpose in oauth_error(response, 400, "invalid_grant")


def test_refusals_say_nothing_of_the_reason(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        world.portal_says("consent.revoked", KVNR, "M123456785")
        subject = f"Patient/{patient}"
        answers = [
            summary(world, "node-fr", patient),
            world.get("node-fr", f"/fhir/Patient/{patient}"),
            world.get("node-fr", "/fhir/Patient/$summary", identifier=f"{KVNR}|M123456785"),
            world.get("node-fr", "/fhir/Patient", identifier=f"{KVNR}|M123456785"),
            world.get("node-fr", "/fhir/DiagnosticReport", subject=subject),
            world.get("node-fr", "/fhir/Observation", subject=subject),
            summary(world, "research", patient),
        ]
        for response in answers:
            assert response.status_code in (200, 403), response.text
            if response.status_code == 403:
                (issue,) = response.json()["issue"]
                assert issue["diagnostics"] == "access to this patient's data is not permitted"
            text = response.text.lower()
            for word in ("consent", "revoked", "restrict", "refused", "denied", "opt"):
                assert word not in text, (word, response.text)


def test_a_directive_about_a_look_alike_citizen_changes_nothing_for_the_real_one(settings):
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        other = world.push(bare_patient("A123456780"), "de-isik-fhir")
        for system, value in (
            (KVNR, "\u041c123456785"),  # CYRILLIC CAPITAL LETTER EM
            (KVNR, "M12345678\u0665"),  # ARABIC-INDIC DIGIT FIVE
            ("http://fhir.de/sid/pkv/kvid-10", "M123456785"),  # the same value, another system
            (KVNR.upper(), "M123456785"),  # URIs are case-sensitive
        ):
            world.portal_says("consent.revoked", system, value)
        assert summary(world, "node-fr", patient).status_code == 200
        assert summary(world, "node-fr", other).status_code == 200


def test_a_directive_in_another_spelling_of_the_same_number_is_the_citizens(settings):
    """Records store a KVNR upper-cased without separators; a portal writing it otherwise
    must not see the citizen's revocation silently do nothing."""
    with parties(settings) as world:
        patient = world.push(DE_BUNDLE, "de-isik-fhir")
        world.portal_says("consent.revoked", KVNR, " m 123 456 785 ")
        assert summary(world, "node-fr", patient).status_code == 403
        (stored,) = world.get("portal", "/fhir/Consent", patient=f"Patient/{patient}").json()[
            "entry"
        ]
        assert stored["resource"]["provision"]["type"] == "deny"


def test_every_refusal_reads_the_same_whatever_its_reason(settings):
    with parties(settings) as world:
        revoked = world.push(DE_BUNDLE, "de-isik-fhir")
        world.portal_says("consent.revoked", KVNR, "M123456785")
        by_default = world.push(NL_BUNDLE, "nl-zib-fhir")  # NL: no TREAT abroad by default
        granted_elsewhere = world.push(bare_patient("A123456780"), "de-isik-fhir")
        world.portal_says("consent.restricted", KVNR, "A123456780", recipientCountries=["FR"])
        refusals = [
            summary(world, "node-fr", revoked),
            summary(world, "node-fr", by_default),
            summary(world, "research", granted_elsewhere),  # a purpose not shared
            summary(world, "node-fr", granted_elsewhere),  # a restriction for FR
        ]
        assert {r.status_code for r in refusals} == {403}
        assert len({r.content for r in refusals}) == 1
        assert all(r.headers.get("www-authenticate") is None for r in refusals)
        unknown = world.get("node-fr", f"/fhir/Patient/{unknown_id()}/$summary")
        assert unknown.status_code == 404
