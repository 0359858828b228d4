"""``gateway serve``: run the gateway under uvicorn."""

from __future__ import annotations

import argparse
import socket
from typing import TYPE_CHECKING, Any

from gateway.cli.common import database
from gateway.errors import Unavailable

if TYPE_CHECKING:
    from gateway.settings import Settings


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the gateway",
        description="Serve the gateway's HTTP API (upgrades the database first).",
    )
    serve.add_argument("--host", help="address to bind (default GATEWAY_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=port_number, help="port (default GATEWAY_PORT, 8080)")
    serve.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=changes)
    import asyncio

    import uvicorn

    from gateway.app import create_app

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
    """Check what serving needs before uvicorn starts, so that a bad configuration is one
    clear line and exit 1, not a failed startup inside the server."""
    _check_address(settings.host, settings.port)
    async with database(settings):
        pass


def _check_address(host: str, port: int) -> None:
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise Unavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc


def port_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r} (1-65535)")
    return int(text)
