"""The ``gateway`` command: results on stdout, progress and errors on stderr.

Exit codes: 0 success, 1 bad input or a refused operation (one line on stderr), 2 wrong usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import CoroutineType
from typing import TYPE_CHECKING

from gateway import __version__
from gateway.cli import audit, clients, datasets, demo, ingest, pki, records, serve, verify
from gateway.errors import GatewayError

if TYPE_CHECKING:
    from gateway.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="Cross-border health data exchange gateway (one per member state).",
    )
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve.register(commands)
    demo.register(commands)
    ingest.register(commands)
    datasets.register(commands)
    records.register(commands)
    verify.register(commands)
    pki.register(commands)
    audit.register(commands)
    clients.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Commands that read no configuration (translate vcf) skip loading it: pydantic-settings
    # is a third of the start-up time of a command timed as a whole.
    settings = _settings() if getattr(args, "needs_settings", True) else None
    if settings is False:
        return 1
    try:
        result = args.run(settings, args)
        if isinstance(result, CoroutineType):
            import asyncio

            result = asyncio.run(result)
        return int(result or 0)
    except GatewayError as exc:
        print(f"gateway: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("gateway: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # A defect, not bad input: still one line for the operator, the trace on request.
        if os.environ.get("GATEWAY_LOG_LEVEL", "").upper() == "DEBUG":
            raise
        print(
            f"gateway: unexpected {type(exc).__name__}: {exc} (GATEWAY_LOG_LEVEL=DEBUG shows "
            "the trace)",
            file=sys.stderr,
        )
        return 1


def _settings() -> Settings | bool:
    """The configuration, or False after printing why it is unusable."""
    from pydantic import ValidationError

    from gateway.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        print(f"gateway: configuration: GATEWAY_{field.upper()}: {first['msg']}", file=sys.stderr)
        return False
