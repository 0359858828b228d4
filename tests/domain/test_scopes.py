"""SMART v2 scopes: the grammar, wildcards, v1 equivalents, letter order, query restrictions,
and what the token endpoint may grant (``gateway.domain.scopes``)."""

from __future__ import annotations

import pytest

from gateway.domain.scopes import MAX_SCOPES, Need, Scope, grantable, parse_scopes, permits


@pytest.mark.parametrize(
    ("text", "context", "resource", "actions", "query"),
    [
        ("system/Patient.rs", "system", "Patient", "rs", None),
        ("patient/Observation.r", "patient", "Observation", "r", None),
        ("user/*.cruds", "user", "*", "cruds", None),
        ("system/Bundle.c", "system", "Bundle", "c", None),
        ("system/Patient.read", "system", "Patient", "rs", None),
        ("system/Patient.write", "system", "Patient", "cud", None),
        ("system/Patient.*", "system", "Patient", "cruds", None),
        ("system/*.*", "system", "*", "cruds", None),
        (
            "system/Observation.rs?category=laboratory",
            "system",
            "Observation",
            "rs",
            "category=laboratory",
        ),
    ],
)
def test_scopes_of_the_smart_grammar_parse(text, context, resource, actions, query):
    assert Scope.parse(text) == Scope(context, resource, frozenset(actions), query)


@pytest.mark.parametrize(
    "text",
    [
        "openid",
        "launch/patient",
        "fhirUser",
        "system/Patient.sr",  # letters out of order
        "system/Patient.rr",  # a letter twice
        "system/Patient.rsc",
        "system/Patient.x",
        "system/Patient.",
        "system/Patient",
        "system/patient.rs",  # resource types start upper case
        "admin/Patient.rs",
        "system/Pat ient.rs",
        "system/Patient.rs?",
        "system/Patient.rs?a=b?c=d",
        "system/Patient.READ",
        "system/../Patient.rs",
        "system/Patient.rs\x00",
        "",
    ],
)
def test_text_outside_the_grammar_is_no_scope(text):
    assert Scope.parse(text) is None


@pytest.mark.parametrize(
    ("held", "asked", "covered"),
    [
        ("system/*.rs", "system/Patient.rs", True),
        ("system/*.rs", "system/FutureResourceType.r", True),  # wildcards cover new types
        ("system/Patient.read", "system/Patient.rs", True),  # v1 .read is .rs
        ("system/Patient.rs", "system/Patient.read", True),
        ("system/Patient.*", "system/Patient.cruds", True),
        ("system/Patient.cruds", "system/Patient.write", True),
        ("system/Patient.r", "system/Patient.rs", False),
        ("system/Patient.rs", "system/Patient.c", False),
        ("system/Patient.rs", "system/Observation.rs", False),
        ("patient/*.cruds", "system/Patient.r", False),  # the context must match
        ("user/Patient.rs", "system/Patient.r", False),
        ("system/Observation.rs", "system/Observation.rs?category=laboratory", True),
        ("system/Observation.rs?category=laboratory", "system/Observation.rs", False),
        (
            "system/Observation.rs?category=laboratory",
            "system/Observation.rs?category=vital-signs",
            False,
        ),
        (
            "system/Observation.rs?category=laboratory",
            "system/Observation.r?category=laboratory",
            True,
        ),
    ],
)
def test_a_scope_covers_what_it_grants_and_nothing_more(held, asked, covered):
    mine, wanted = Scope.parse(held), Scope.parse(asked)
    assert mine is not None
    assert wanted is not None
    assert mine.covers(wanted) is covered


def test_parse_scopes_keeps_the_smart_ones_and_ignores_the_rest():
    parsed = parse_scopes("openid system/Patient.rs   launch system/Patient.sr system/Bundle.c")
    assert [(s.resource, "".join(sorted(s.actions))) for s in parsed] == [
        ("Patient", "rs"),
        ("Bundle", "c"),
    ]


def test_parse_scopes_reads_a_bounded_number_of_tokens():
    many = " ".join(["openid"] * MAX_SCOPES + ["system/Patient.rs"])
    assert parse_scopes(many) == []


@pytest.mark.parametrize(
    ("granted", "need", "allowed"),
    [
        ("system/Patient.rs", Need("Patient", "r"), True),
        ("system/Patient.rs", Need("Patient", "s"), True),
        ("system/Patient.rs", Need("Patient", "c"), False),
        ("system/*.read", Need("Consent", "s"), True),
        ("system/*.read", Need("Bundle", "c"), False),
        ("system/Bundle.c system/Patient.r", Need("Bundle", "c"), True),
        ("patient/*.cruds user/*.cruds", Need("Patient", "r"), False),
        ("system/Observation.rs?category=laboratory", Need("Observation", "s"), False),
        ("", Need("Patient", "r"), False),
    ],
)
def test_permits_needs_one_scope_covering_the_request(granted, need, allowed):
    assert permits(parse_scopes(granted), need) is allowed


def test_a_need_reads_as_a_system_scope():
    need = Need("Bundle", "c")
    assert need.as_text() == "system/Bundle.c"
    assert need.as_scope() == Scope("system", "Bundle", frozenset("c"))


@pytest.mark.parametrize(
    ("requested", "registered", "granted"),
    [
        # Only what the registration covers is granted, in the order asked.
        (
            "system/Patient.rs system/Bundle.c",
            "system/Patient.rs",
            ["system/Patient.rs"],
        ),
        ("system/Patient.read", "system/*.rs", ["system/Patient.read"]),
        ("system/Patient.cruds", "system/*.rs", []),
        ("system/*.rs", "system/Patient.rs", []),  # a wildcard is not the sum of its parts
        ("system/*.*", "system/*.rs", []),
        ("patient/Patient.rs", "system/*.cruds", []),
        ("openid system/Patient.r", "system/Patient.rs", ["system/Patient.r"]),
        ("system/Patient.r system/Patient.r", "system/Patient.rs", ["system/Patient.r"]),
        (
            "system/Observation.rs?category=laboratory",
            "system/Observation.rs",
            ["system/Observation.rs?category=laboratory"],
        ),
        ("system/Observation.rs", "system/Observation.rs?category=laboratory", []),
        ("", "system/*.cruds", []),
    ],
)
def test_grantable_is_what_the_registration_covers(requested, registered, granted):
    assert grantable(requested, registered) == granted
