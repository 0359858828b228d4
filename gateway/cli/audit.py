"""``gateway audit verify``: check that the access log's hash chain is unbroken."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from gateway.cli.common import database

if TYPE_CHECKING:
    from gateway.settings import Settings


def register(commands: Any) -> None:
    audit = commands.add_parser("audit", help="the tamper-evident access log")
    actions = audit.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="check the hash chain; exit 1 on any change",
        description="Recompute the access log's hash chain from its first record. Exit 0 when "
        "every record holds; exit 1 naming the first changed, deleted or reordered record.",
    )
    verify.set_defaults(run=run_verify)


async def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services.audit import AuditService

    async with database(settings) as db:
        report = await AuditService(db, settings.gateway_id).verify()
    if report.problem is not None:
        print(
            f"gateway: audit chain broken at {report.problem} "
            f"({report.records} records before it hold)",
            file=sys.stderr,
        )
        return 1
    print(f"audit chain: {report.records} records hold")
    return 0
