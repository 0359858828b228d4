"""The consent engine's decisions: the scenarios of issue 5, as pure function calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.domain.consent import (
    AccessRequest,
    ConsentDefaults,
    Directive,
    DirectiveKind,
    decide,
    settled_until,
)

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
OPT_OUT_COUNTRY = ConsentDefaults(frozenset({"TREAT", "ETREAT"}), frozenset({"*"}), research=True)
OPT_IN_COUNTRY = ConsentDefaults(frozenset({"ETREAT"}), frozenset({"*"}), research=False)
ALLERGIES = "section:48765-2"


def ask(
    category: str = "patient-summary",
    purpose: str = "TREAT",
    country: str = "FR",
    at: datetime = NOW,
) -> AccessRequest:
    return AccessRequest(country, purpose, category, at)


def directive(kind: DirectiveKind, days_ago: int = 1, **fields: object) -> Directive:
    return Directive(kind, NOW - timedelta(days=days_ago), **fields)  # type: ignore[arg-type]


def test_without_directives_the_country_default_decides():
    assert decide([], OPT_OUT_COUNTRY, ask()).permit
    assert decide([], OPT_OUT_COUNTRY, ask(category="research")).permit
    assert not decide([], OPT_IN_COUNTRY, ask()).permit  # only emergencies by default
    assert decide([], OPT_IN_COUNTRY, ask(purpose="ETREAT")).permit
    assert not decide([], OPT_IN_COUNTRY, ask(category="research")).permit


def test_a_grant_permits_what_the_default_would_not():
    grant = directive(
        DirectiveKind.GRANTED, purposes=frozenset({"TREAT"}), countries=frozenset({"FR"})
    )
    assert decide([grant], OPT_IN_COUNTRY, ask()).permit
    assert not decide([grant], OPT_IN_COUNTRY, ask(country="IT")).permit  # not granted to IT


def test_a_restricted_section_is_refused_and_the_rest_still_permitted():
    restrict = directive(DirectiveKind.RESTRICTED, categories=frozenset({ALLERGIES}))
    assert not decide([restrict], OPT_OUT_COUNTRY, ask(category=ALLERGIES)).permit
    assert decide([restrict], OPT_OUT_COUNTRY, ask(category="section:11450-4")).permit
    assert decide([restrict], OPT_OUT_COUNTRY, ask()).permit


def test_a_revocation_refuses_the_summary_and_its_sections():
    grant = directive(DirectiveKind.GRANTED, days_ago=10)
    revoke = directive(DirectiveKind.REVOKED, days_ago=1, categories=frozenset({"patient-summary"}))
    assert not decide([grant, revoke], OPT_OUT_COUNTRY, ask()).permit
    assert not decide([grant, revoke], OPT_OUT_COUNTRY, ask(category=ALLERGIES)).permit
    regrant = directive(DirectiveKind.GRANTED, days_ago=0)
    assert decide([grant, revoke, regrant], OPT_OUT_COUNTRY, ask()).permit  # newest wins


def test_research_opt_out_and_back_in():
    out = directive(DirectiveKind.RESEARCH_OPTED_OUT, days_ago=2)
    assert not decide([out], OPT_OUT_COUNTRY, ask(category="research")).permit
    assert decide([out], OPT_OUT_COUNTRY, ask()).permit  # care is not affected
    back = directive(DirectiveKind.RESEARCH_OPTED_IN, days_ago=1)
    assert decide([out, back], OPT_OUT_COUNTRY, ask(category="research")).permit
    revoke = directive(DirectiveKind.REVOKED, days_ago=0)
    assert decide([revoke], OPT_OUT_COUNTRY, ask(category="research")).permit  # care only


def test_an_expired_directive_no_longer_speaks():
    grant = directive(
        DirectiveKind.GRANTED, start=NOW - timedelta(days=30), end=NOW - timedelta(days=1)
    )
    assert not decide([grant], OPT_IN_COUNTRY, ask()).permit
    assert decide([grant], OPT_IN_COUNTRY, ask(at=NOW - timedelta(days=2))).permit


def test_an_unknown_purpose_is_refused_whatever_was_granted():
    assert not decide(
        [directive(DirectiveKind.GRANTED)], OPT_OUT_COUNTRY, ask(purpose="SHOP")
    ).permit


def test_decisions_say_why_for_the_audit():
    revoke = directive(DirectiveKind.REVOKED)
    assert decide([revoke], OPT_OUT_COUNTRY, ask()).reason.startswith("consent.revoked recorded")
    assert "country default" in decide([], OPT_OUT_COUNTRY, ask()).reason


@pytest.mark.parametrize(
    "fields",
    [
        {"recorded": datetime(2026, 1, 1)},  # naive
        {"start": NOW, "end": NOW - timedelta(days=1)},
        {"purposes": frozenset({"SHOP"})},
    ],
)
def test_malformed_directives_are_refused(fields):
    values = {"kind": DirectiveKind.GRANTED, "recorded": NOW, **fields}
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        Directive(**values)


def test_decisions_hold_until_the_next_period_boundary_after_now():
    hour = timedelta(hours=1)
    directives = [
        directive(DirectiveKind.GRANTED, start=NOW - hour, end=NOW + 3 * hour),
        directive(DirectiveKind.RESTRICTED, start=NOW + 2 * hour),
        directive(DirectiveKind.REVOKED, end=NOW - hour),  # over: changes nothing any more
    ]
    assert settled_until(directives, NOW) == NOW + 2 * hour
    assert settled_until(directives, NOW + 2 * hour) == NOW + 3 * hour
    assert settled_until(directives, NOW + 3 * hour) is None
    assert settled_until([directive(DirectiveKind.GRANTED)], NOW) is None
