"""Argument types shared by the commands: each turns bad input into a usage error (exit 2)."""

from __future__ import annotations

import argparse

from gateway.domain.datasets import DUO_CODE, PolicyChange
from gateway.domain.granularity import ConsentBasis, Granularity, SecurityLevel


def add_policy_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--security",
        choices=[s.value for s in SecurityLevel],
        help="who may query the dataset (new datasets: PUBLIC)",
    )
    parser.add_argument(
        "--max-granularity",
        choices=[g.value for g in Granularity],
        help="the most detailed Beacon answer it gives (new datasets: count)",
    )
    parser.add_argument(
        "--duo",
        type=duo_codes,
        metavar="CODES",
        help="data use conditions, comma-separated DUO codes (DUO:0000042)",
    )
    parser.add_argument(
        "--consent-basis",
        choices=[c.value for c in ConsentBasis],
        help="open: every sample counts; citizen: only linked citizens who "
        "permit research use (default: citizen when the manifest links "
        "identifiers, open otherwise)",
    )


def policy_change(args: argparse.Namespace) -> PolicyChange:
    return PolicyChange(
        security_level=SecurityLevel(args.security) if args.security else None,
        max_granularity=Granularity(args.max_granularity) if args.max_granularity else None,
        duo_codes=args.duo,
        consent_basis=ConsentBasis(args.consent_basis) if args.consent_basis else None,
    )


def duo_codes(text: str) -> tuple[str, ...]:
    codes = tuple(code.strip() for code in text.split(",") if code.strip())
    bad = [code for code in codes if not DUO_CODE.match(code)]
    if bad:
        raise argparse.ArgumentTypeError(f"not a DUO code: {bad[0]!r} (expected DUO:0000042)")
    return codes
