"""IHE IUA extension claims: the requester's purpose, role, subject and organisation
(``gateway.auth.iua``)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.auth.compact_jwt import TokenRefused
from gateway.auth.iua import PURPOSE_SYSTEM, RequesterContext, read_context


def iua(**members: Any) -> dict[str, Any]:
    return {"extensions": {"ihe_iua": members}}


def test_no_extensions_is_an_empty_context():
    assert read_context({}) == RequesterContext()
    assert read_context({"extensions": {}}) == RequesterContext()


@pytest.mark.parametrize(
    ("given", "purpose"),
    [
        ("TREAT", "TREAT"),
        ("HRESCH", "HRESCH"),
        ({"system": PURPOSE_SYSTEM, "code": "ETREAT"}, "ETREAT"),
        ({"code": "PUBHLTH"}, "PUBHLTH"),
        ([{"system": PURPOSE_SYSTEM, "code": "TREAT"}], "TREAT"),
        (["BTG"], "BTG"),
        ("TREATMENT", "TREAT"),  # eHDSI's codes
        ("EMERGENCY", "ETREAT"),
    ],
)
def test_purpose_of_use_is_read_in_each_allowed_form(given, purpose):
    assert read_context(iua(purpose_of_use=given)).purpose == purpose


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("SHOPPING", "not a purpose"),
        ("treat", "not a purpose"),
        ("", "not a purpose"),
        ({"system": "urn:other", "code": "TREAT"}, "v3 PurposeOfUse"),
        ({"system": PURPOSE_SYSTEM}, "must be a code"),
        ([], "one purpose"),
        (["TREAT", "HRESCH"], "one purpose"),
        (7, "must be a code"),
        ({"code": ["TREAT"]}, "must be a code"),
    ],
)
def test_purposes_the_gateway_does_not_honour_are_refused(given, says):
    with pytest.raises(TokenRefused, match=says):
        read_context(iua(purpose_of_use=given))


def test_subject_claims_are_read_as_bounded_printable_text():
    context = read_context(
        iua(
            purpose_of_use="TREAT",
            subject_role={"system": "urn:oid:2.16.840.1.113883.2.9.6.2.7", "code": "221"},
            subject_id="Dr. Anne Müller",
            subject_organization="Hôpital Européen",
        )
    )
    assert context == RequesterContext("TREAT", "221", "Dr. Anne Müller", "Hôpital Européen")


@pytest.mark.parametrize("name", ["subject_role", "subject_id", "subject_organization"])
@pytest.mark.parametrize(
    "value",
    [
        "",
        "x" * 257,
        "line\nbreak",
        "trailing newline\n",
        "nul\x00byte",
        "escape\x1b[31m",
        "next line\x85",
        "separator\u2028",
        "lone \ud800 surrogate",
        42,
        ["a"],
    ],
)
def test_subject_claims_that_could_forge_an_audit_line_are_refused(name, value):
    with pytest.raises(TokenRefused, match=name):
        read_context(iua(**{name: value}))


@pytest.mark.parametrize("extensions", [[], "ihe_iua", {"ihe_iua": []}, {"ihe_iua": "TREAT"}])
def test_extensions_that_are_not_objects_are_refused(extensions):
    with pytest.raises(TokenRefused, match="must be an object"):
        read_context({"extensions": extensions})


def test_the_access_token_claim_carries_the_decided_purpose():
    context = RequesterContext(purpose=None, role="221", subject="Dr. A", organization=None)
    assert context.as_claim("ETREAT") == {
        "ihe_iua": {
            "purpose_of_use": {"system": PURPOSE_SYSTEM, "code": "ETREAT"},
            "subject_role": "221",
            "subject_id": "Dr. A",
        }
    }
    # What the token endpoint writes, the resource server reads back.
    assert read_context({"extensions": context.as_claim("ETREAT")}) == RequesterContext(
        "ETREAT", "221", "Dr. A", None
    )
