"""``gateway datasets list|set``: the variant store's datasets and their research policy."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from gateway.cli.common import database
from gateway.cli.options import add_policy_flags, policy_change

if TYPE_CHECKING:
    from gateway.settings import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser("datasets", help="list datasets or change their policy")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per dataset")
    listing.set_defaults(run=run_list)
    change = actions.add_parser(
        "set",
        help="change a dataset's security level, maximum granularity, DUO codes or consent basis",
    )
    change.add_argument("dataset")
    add_policy_flags(change)
    change.set_defaults(run=run_set)


async def run_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services import datasets as service

    async with database(settings) as db:
        summaries = await service.list_datasets(db)
    print("name\tassembly\tsecurity\tmax_granularity\tconsent_basis\tduo\tvariants\tsamples")
    for s in summaries:
        p = s.dataset.policy
        print(
            f"{s.dataset.name}\t{s.dataset.assembly}\t{p.security_level}\t"
            f"{p.max_granularity}\t{p.consent_basis}\t{','.join(p.duo_codes) or '-'}\t"
            f"{s.stats.variants}\t{s.stats.samples}"
        )
    return 0


async def run_set(settings: Settings, args: argparse.Namespace) -> int:
    change = policy_change(args)
    if change.empty:
        print(
            "gateway datasets set: nothing to change; give --security, --max-granularity, "
            "--duo or --consent-basis",
            file=sys.stderr,
        )
        return 2
    from gateway.services import datasets as service

    async with database(settings) as db:
        dataset = await service.set_policy(db, args.dataset, change)
    p = dataset.policy
    print(
        f"{dataset.name}: security {p.security_level}, max granularity {p.max_granularity}, "
        f"consent basis {p.consent_basis}, DUO {','.join(p.duo_codes) or '-'}"
    )
    return 0
