"""German KVNR health insurance numbers for the synthetic cohort: the identifier system, and
the check digit from the national identifier registry (the one algorithm the gateway has)."""

from __future__ import annotations

from gateway.profiles.identifiers import kvnr_check_digit

__all__ = ["KVNR_SYSTEM", "kvnr_check_digit"]

KVNR_SYSTEM = "http://fhir.de/sid/gkv/kvid-10"
