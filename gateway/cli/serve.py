"""``gateway serve``: run the gateway under uvicorn."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import uvicorn

from gateway.app import create_app
from gateway.cli.common import database
from gateway.settings import Settings


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the gateway",
        description="Serve the gateway's HTTP API (upgrades the database first).",
    )
    serve.add_argument("--host", help="address to bind (default GATEWAY_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default GATEWAY_PORT, 8080)")
    serve.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=changes)
    asyncio.run(_prepare(settings))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return 0


async def _prepare(settings: Settings) -> None:
    """Upgrade the database before serving, so that a bad configuration is one clear line
    and exit 1, not a failed startup inside the server."""
    async with database(settings):
        pass
