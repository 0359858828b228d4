"""The short version of ``make load`` (bench.mixed_load): a real ``gateway serve`` on the back
end under test, four clients mixing Beacon queries, ``$summary`` reads with tokens and signed
consent webhooks for about ten seconds. No request may fail, every webhook acknowledged as
stored must be in the store, and the audit chain must verify afterwards. No time is asserted:
the machine running the suite decides the rate."""

from __future__ import annotations

from pathlib import Path

from bench.mixed_load import MIX, prepare, run_load


def test_a_short_mixed_load_has_no_errors_and_loses_nothing(
    database_url: str, tmp_path: Path
) -> None:
    store = prepare(tmp_path / "load", database_url)

    report = run_load("under test", store, clients=4, duration=8, warmup=2)

    assert report.overall.errors == 0, report.first_error
    assert {kind.kind for kind in report.kinds if kind.requests} == set(MIX)
    assert report.webhooks_stored > 0
    assert report.directives == report.webhooks_stored
    assert report.audit_ok
