"""Properties of the consent engine over generated directive histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.consent import (
    PURPOSES,
    AccessRequest,
    ConsentDefaults,
    Directive,
    DirectiveKind,
    decide,
)

BOUNDED = settings(max_examples=100, deadline=None)
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
COUNTRIES = ("DE", "FR", "IT", "*")
CATEGORIES = ("patient-summary", "section:11450-4", "genomics")
CARE = (DirectiveKind.GRANTED, DirectiveKind.RESTRICTED, DirectiveKind.REVOKED)


@st.composite
def directives(draw: st.DrawFn, kinds: tuple[DirectiveKind, ...] = tuple(DirectiveKind)):
    """A directive recorded before NOW, with any purposes, countries, categories, period."""
    start = draw(st.none() | st.integers(-100, 100).map(lambda d: NOW + timedelta(days=d)))
    end = draw(st.none() | st.integers(1, 200).map(lambda d: (start or NOW) + timedelta(days=d)))
    return Directive(
        kind=draw(st.sampled_from(kinds)),
        recorded=NOW - timedelta(minutes=draw(st.integers(1, 10**6))),
        purposes=frozenset(draw(st.sets(st.sampled_from(sorted(PURPOSES)), max_size=3))),
        countries=frozenset(draw(st.sets(st.sampled_from(COUNTRIES), min_size=1, max_size=3))),
        categories=frozenset(draw(st.sets(st.sampled_from(CATEGORIES), max_size=2))),
        start=start,
        end=end,
    )


histories = st.lists(directives(), max_size=8, unique_by=lambda d: d.recorded)
requests = st.builds(
    AccessRequest,
    country=st.sampled_from(("DE", "FR", "IT")),
    purpose=st.sampled_from(sorted(PURPOSES)),
    category=st.sampled_from((*CATEGORIES, "research")),
    at=st.just(NOW),
)
defaults = st.builds(
    ConsentDefaults,
    summary_purposes=st.frozensets(st.sampled_from(sorted(PURPOSES))),
    summary_countries=st.frozensets(st.sampled_from(COUNTRIES)),
    research=st.booleans(),
)


@BOUNDED
@given(history=histories, request=requests, default=defaults)
def test_a_blanket_revocation_newer_than_every_directive_denies_all_care_use(
    history: list[Directive], request: AccessRequest, default: ConsentDefaults
) -> None:
    newest = max((d.recorded for d in history), default=NOW - timedelta(days=1))
    revoked = Directive(DirectiveKind.REVOKED, recorded=newest + timedelta(seconds=1))
    decision = decide([*history, revoked], default, request)
    if request.category == "research":  # care consents do not decide secondary use
        assert decision == decide(history, default, request)
    else:
        assert not decision.permit


@BOUNDED
@given(history=histories, request=requests, default=defaults, order=st.randoms())
def test_the_decision_does_not_depend_on_the_order_directives_arrive_in(
    history: list[Directive], request: AccessRequest, default: ConsentDefaults, order
) -> None:
    shuffled = list(history)
    order.shuffle(shuffled)
    assert decide(shuffled, default, request) == decide(history, default, request)


@BOUNDED
@given(history=st.lists(directives(kinds=CARE), max_size=8), request=requests, default=defaults)
def test_research_is_decided_by_research_choices_and_the_default_only(
    history: list[Directive], request: AccessRequest, default: ConsentDefaults
) -> None:
    research = AccessRequest(request.country, request.purpose, "research", NOW)
    assert decide(history, default, research).permit is default.research


@BOUNDED
@given(history=histories, request=requests, default=defaults)
def test_an_unknown_purpose_is_always_refused(
    history: list[Directive], request: AccessRequest, default: ConsentDefaults
) -> None:
    unknown = AccessRequest(request.country, "MARKETING", request.category, NOW)
    assert not decide(history, default, unknown).permit
