"""An app over a small, fully known store: three datasets from one hand-written VCF.

``cohort``    manifest links 4 of 6 samples to citizens (consent basis citizen), PUBLIC, record
``reference`` no manifest (consent basis open), PUBLIC, count (the default)
``secret``    CONTROLLED: anonymous callers never see it
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.domain.datasets import PolicyChange
from gateway.domain.granularity import Granularity, SecurityLevel
from gateway.services.ingest_vcf import VcfIngest
from gateway.settings import Settings
from tests.support.oauth import ClientKey, authorize, obtain_token, register
from tests.support.stores import load

DATA = Path(__file__).parent / "data"
SMALL_VCF = DATA / "small.vcf"
SMALL_MANIFEST = DATA / "small-manifest.tsv"


STANDARD_JOBS = (
    VcfIngest(
        SMALL_VCF,
        "cohort",
        manifest=SMALL_MANIFEST,
        policy=PolicyChange(max_granularity=Granularity.RECORD),
    ),
    VcfIngest(SMALL_VCF, "reference"),
    VcfIngest(
        SMALL_VCF,
        "secret",
        policy=PolicyChange(
            security_level=SecurityLevel.CONTROLLED, max_granularity=Granularity.RECORD
        ),
    ),
)


@contextmanager
def gateway(settings: Settings, node: ClientKey | None = None) -> Iterator[TestClient]:
    """The real app, and a client of it that is a registered national node (``node``, by
    default one holding every scope): it got its bearer token from /oauth/token."""
    node = node or ClientKey()
    register(settings, node)
    with TestClient(create_app(settings)) as test_client:
        yield authorize(test_client, settings, node)


def node_headers(
    test_client: TestClient, settings: Settings, node: ClientKey | None = None
) -> dict[str, str]:
    """Register a national node (every scope by default) and answer the header carrying its
    access token, for the requests that should carry it (the Beacon takes passports, not
    node tokens)."""
    node = node or ClientKey()
    register(settings, node)
    return {"Authorization": f"Bearer {obtain_token(test_client, settings, node)}"}


@contextmanager
def serving(settings: Settings, *jobs: VcfIngest) -> Iterator[TestClient]:
    """The real app over a store loaded with ``jobs``; the client is anonymous (a Beacon
    user without a passport) until a test gives it a token."""
    asyncio.run(load(settings, *jobs))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with serving(settings, *STANDARD_JOBS) as test_client:
        yield test_client
