"""``gateway serve``: run the gateway under uvicorn, on a TCP address or a unix socket.

``--tls`` serves HTTPS directly with the country's server certificate, for development and the
``make federation`` sandbox. Production runs behind nginx (README "Behind nginx"): uvicorn
checks a client certificate but does not hand it to the app, so tokens cannot be bound to it.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.common import database
from gateway.errors import Unavailable

if TYPE_CHECKING:
    from gateway.settings import Settings

# Owner and group may connect (nginx joins the gateway's group); nobody else on the host,
# since a peer on this socket is a trusted proxy when GATEWAY_TRUSTED_PROXIES names unix.
SOCKET_MODE = 0o660
# Seconds in-flight requests get once a --tls server is told to stop. Without a bound, one
# idle keep-alive connection of a peer gateway holds the stop for half a minute: the server
# sends its TLS close and waits for the peer's, which a client sends only when it next uses
# the connection (asyncio gives up after 30 s).
TLS_GRACE_SECONDS = 5


def register(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the gateway",
        description="Serve the gateway's HTTP API (upgrades the database first).",
    )
    serve.add_argument("--host", help="address to bind (default GATEWAY_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=port_number, help="port (default GATEWAY_PORT, 8080)")
    serve.add_argument(
        "--uds",
        type=Path,
        metavar="PATH",
        help="serve on this unix socket instead (mode 0660), for a proxy on the same host",
    )
    serve.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with GATEWAY_PKI_DIR/<country>/server.pem, asking clients for a "
        "certificate of the federation CA without requiring one (development; production "
        "runs behind nginx)",
    )
    serve.set_defaults(run=run, usage=serve.error)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.uds is not None and (args.host is not None or args.port is not None):
        args.usage("--uds serves on a unix socket: it cannot be combined with --host or --port")
    if args.uds is not None and args.tls:
        args.usage("--uds serves a proxy on the same host, which terminates TLS: drop --tls")
    changes = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update=changes)
    if args.tls and not settings.base_url:
        # Clients sign the token URL into their assertions: it must say https.
        settings = settings.model_copy(
            update={"base_url": f"https://{settings.host}:{settings.port}"}
        )
    if args.uds is not None and not settings.base_url:
        print(
            "gateway: warning: GATEWAY_BASE_URL is not set; behind a proxy it must be the "
            "public https URL (clients sign it into their token requests)",
            file=sys.stderr,
        )
    # Cheapest checks first, each one clear line and exit 1 rather than a failed startup
    # inside the server: where to listen, the configuration (profiles, proxies), the database.
    if args.uds is None:
        _check_address(settings.host, settings.port)
        tls = tls_options(settings.pki_dir, settings.country) if args.tls else {}
        _start(settings, host=settings.host, port=settings.port, **tls)
        return 0
    with unix_listener(args.uds) as listener:
        _start(settings, fd=listener.fileno())
    return 0


def _start(settings: Settings, **where: Any) -> None:
    import asyncio

    import uvicorn

    from gateway.app import create_app

    app = create_app(settings)
    asyncio.run(_upgrade(settings))
    uvicorn.run(
        app,
        **where,
        log_config=None,
        access_log=False,
        server_header=False,
        # The app's ForwardedClient alone decides whom to believe (GATEWAY_TRUSTED_PROXIES);
        # uvicorn's own X-Forwarded-For handling trusts 127.0.0.1, i.e. anyone on the host.
        proxy_headers=False,
    )


def tls_options(pki_dir: Path, country: str) -> dict[str, Any]:
    """uvicorn's TLS settings for ``country``'s server certificate. Client certificates are
    asked for and, when sent, must chain to the federation CA; none is required, so nodes and
    researchers without one still connect (Beacon, ``/health``, tokens by assertion alone).

    :raises Unavailable: a certificate or key is missing (``gateway pki init`` makes them).
    """
    from gateway.auth.keys import CA_CERT, SERVER_CERT, SERVER_KEY, country_dir

    folder = country_dir(pki_dir, country)
    files = {
        "ssl_certfile": folder / SERVER_CERT,
        "ssl_keyfile": folder / SERVER_KEY,
        "ssl_ca_certs": pki_dir / CA_CERT,
    }
    for path in files.values():
        if not path.is_file():
            raise Unavailable(f"--tls: {path} not found (run `gateway pki init`)")
    return {
        **{name: str(path) for name, path in files.items()},
        "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        "timeout_graceful_shutdown": TLS_GRACE_SECONDS,
    }


async def _upgrade(settings: Settings) -> None:
    async with database(settings):
        pass


@contextmanager
def unix_listener(path: Path) -> Iterator[socket.socket]:
    """A socket bound at ``path`` with mode 0660 from its first instant (uvicorn's own
    ``--uds`` makes it 0666, open to every user of the host). The file stays after the
    server stops (uvicorn ends the process by re-raising SIGTERM); the next start replaces it.

    :raises Unavailable: the path is taken (another server, or not a socket) or unusable.
    """
    _remove_stale(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # bind() creates the file 0777 & ~umask: born 0660, with no moment open to others.
    previous = os.umask(0o777 & ~SOCKET_MODE)
    try:
        listener.bind(str(path))
    except OSError as exc:
        listener.close()
        raise Unavailable(f"cannot listen on {path}: {exc.strerror or exc}") from None
    finally:
        os.umask(previous)
    try:
        yield listener
    finally:
        listener.close()


def _remove_stale(path: Path) -> None:
    """Remove a socket left by a gateway that is gone; refuse a live one or another file."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise Unavailable(f"cannot listen on {path}: {exc.strerror or exc}") from None
    if not stat.S_ISSOCK(found.st_mode):
        raise Unavailable(f"cannot listen on {path}: it exists and is not a socket")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            path.unlink()
            return
    raise Unavailable(f"cannot listen on {path}: another server is listening there")


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
