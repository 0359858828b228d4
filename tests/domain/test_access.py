"""What a Beacon caller may see, from verified visas (pure)."""

from __future__ import annotations

import pytest

from gateway.domain.access import (
    ANONYMOUS,
    REGISTERED_ACCESS,
    CallerAccess,
    Visa,
    VisaType,
    access_of,
)
from gateway.domain.granularity import Granularity, SecurityLevel, least

PREFIX = "https://gateway.example.eu/beacon/datasets/"
TERMS = Visa(VisaType.ACCEPTED_TERMS_AND_POLICIES, REGISTERED_ACCESS, "https://uni.example", "self")
STATUS = Visa(VisaType.RESEARCHER_STATUS, REGISTERED_ACCESS, "https://uni.example", "so")


def grant(url: str) -> Visa:
    return Visa(VisaType.CONTROLLED_ACCESS_GRANTS, url, "https://dac.example", "dac")


def test_granularity_is_the_least_of_request_dataset_and_access() -> None:
    assert least(Granularity.RECORD, Granularity.COUNT) is Granularity.COUNT
    public = SecurityLevel.PUBLIC
    assert (
        ANONYMOUS.granted(Granularity.RECORD, "d", public, Granularity.COUNT) is Granularity.COUNT
    )
    assert (
        ANONYMOUS.granted(Granularity.BOOLEAN, "d", public, Granularity.RECORD)
        is Granularity.BOOLEAN
    )
    assert (
        ANONYMOUS.granted(Granularity.COUNT, "d", SecurityLevel.CONTROLLED, Granularity.COUNT)
        is None
    )
    assert (
        ANONYMOUS.granted(Granularity.COUNT, "d", SecurityLevel.REGISTERED, Granularity.COUNT)
        is None
    )


def test_registered_access_sees_registered_datasets_at_count_at_most() -> None:
    access = access_of([TERMS, STATUS], PREFIX)
    assert access == CallerAccess(registered=True)
    level = SecurityLevel.REGISTERED
    assert access.granted(Granularity.RECORD, "d", level, Granularity.RECORD) is Granularity.COUNT
    assert (
        access.granted(Granularity.RECORD, "d", SecurityLevel.CONTROLLED, Granularity.RECORD)
        is None
    )


@pytest.mark.parametrize("visas", [[TERMS], [STATUS], []])
def test_registered_access_needs_both_visas(visas: list[Visa]) -> None:
    assert access_of(visas, PREFIX).registered is False


def test_registered_access_needs_the_exact_value() -> None:
    other = Visa(STATUS.type, REGISTERED_ACCESS + "/", STATUS.source, STATUS.by)
    assert access_of([TERMS, other], PREFIX).registered is False


def test_a_grant_opens_its_dataset_up_to_the_dataset_maximum() -> None:
    access = access_of([grant(PREFIX + "secret")], PREFIX)
    assert access.datasets == frozenset({"secret"})
    level = SecurityLevel.CONTROLLED
    assert (
        access.granted(Granularity.RECORD, "secret", level, Granularity.RECORD)
        is Granularity.RECORD
    )
    assert (
        access.granted(Granularity.RECORD, "secret", level, Granularity.COUNT) is Granularity.COUNT
    )
    assert access.granted(Granularity.RECORD, "other", level, Granularity.RECORD) is None
    assert access.registered is False


@pytest.mark.parametrize(
    "url",
    [
        PREFIX + "Secret",
        PREFIX + "secret/",
        PREFIX.upper() + "secret",
        PREFIX.replace("https", "http") + "secret",
        PREFIX + "secret?x=1",
        PREFIX + "secret#x",
        PREFIX + "secret\n",
        PREFIX + "../secret",
        PREFIX,
        "https://elsewhere.example/beacon/datasets/secret",
    ],
)
def test_only_the_exact_dataset_url_grants(url: str) -> None:
    access = access_of([grant(url)], PREFIX)
    assert access.ceiling("secret", SecurityLevel.CONTROLLED) is None
    assert access.datasets <= {"Secret"}  # another dataset, if one were so named


def test_other_visa_types_grant_nothing() -> None:
    visas = [
        Visa(VisaType.AFFILIATION_AND_ROLE, "faculty@uni.example", "https://uni.example", "so"),
        Visa(VisaType.ACCEPTED_TERMS_AND_POLICIES, PREFIX + "secret", "https://dac.example", "dac"),
    ]
    assert access_of(visas, PREFIX) == ANONYMOUS
