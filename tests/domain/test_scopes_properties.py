"""Properties of SMART scope matching: a scope permits exactly what its parts say."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.scopes import Need, Scope, grantable, parse_scopes, permits

BOUNDED = settings(max_examples=300, deadline=None)
RESOURCES = ("Patient", "Observation", "Consent", "AuditEvent", "Bundle")
resources = st.sampled_from(RESOURCES)
letters = st.sets(st.sampled_from("cruds"), min_size=1).map(
    lambda chosen: "".join(letter for letter in "cruds" if letter in chosen)
)
contexts = st.sampled_from(("patient", "user", "system"))
needs = st.builds(Need, resource=resources, action=st.sampled_from("cruds"))


@BOUNDED
@given(context=contexts, resource=resources, actions=letters, need=needs)
def test_a_scope_permits_exactly_its_context_resource_and_letters(
    context: str, resource: str, actions: str, need: Need
) -> None:
    scope = Scope.parse(f"{context}/{resource}.{actions}")
    assert scope is not None
    expected = context == "system" and resource == need.resource and need.action in actions
    assert permits([scope], need) is expected


@BOUNDED
@given(resource=resources, actions=letters, need=needs)
def test_a_wildcard_resource_permits_a_superset_of_any_named_one(
    resource: str, actions: str, need: Need
) -> None:
    named = parse_scopes(f"system/{resource}.{actions}")
    wildcard = parse_scopes(f"system/*.{actions}")
    assert permits(wildcard, need) is (need.action in actions)
    assert permits(named, need) <= permits(wildcard, need)


@BOUNDED
@given(resource=resources, need=needs)
def test_v1_suffixes_mean_their_v2_letters(resource: str, need: Need) -> None:
    for v1, v2 in (("read", "rs"), ("write", "cud"), ("*", "cruds")):
        assert permits(parse_scopes(f"system/{resource}.{v1}"), need) is permits(
            parse_scopes(f"system/{resource}.{v2}"), need
        )


@BOUNDED
@given(
    requested=st.lists(st.builds(lambda r, a: f"system/{r}.{a}", resources, letters), max_size=6),
    allowed=st.lists(st.builds(lambda r, a: f"system/{r}.{a}", resources | st.just("*"), letters)),
)
def test_a_grant_is_the_requested_scopes_a_registered_one_covers(
    requested: list[str], allowed: list[str]
) -> None:
    granted = grantable(" ".join(requested), " ".join(allowed))
    registered = parse_scopes(" ".join(allowed))
    for token in dict.fromkeys(requested):
        wanted = Scope.parse(token)
        assert wanted is not None
        assert (token in granted) is any(mine.covers(wanted) for mine in registered)
    assert set(granted) <= set(requested)


@BOUNDED
@given(
    context=contexts,
    resource=resources,
    actions=letters,
    query=st.from_regex(r"\A[a-z]{1,8}=[a-z]{1,8}\Z"),
    need=needs,
)
def test_a_query_restricted_scope_never_covers_an_unrestricted_need(
    context: str, resource: str, actions: str, query: str, need: Need
) -> None:
    scope = Scope.parse(f"{context}/{resource}.{actions}?{query}")
    assert scope is not None
    assert not permits([scope], need)
