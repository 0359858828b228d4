"""A gateway app served over real TLS by uvicorn in a thread, asking clients for certificates
of the federation CA: a peer gateway for the cross-border tests."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def tls_server(app: FastAPI, port: int, pki: Path, country: str) -> Iterator[None]:
    """Serve ``app`` on https://127.0.0.1:``port`` with ``country``'s server certificate,
    refusing any client without a certificate of the CA in ``pki``."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ssl_certfile=str(pki / country / "server.pem"),
        ssl_keyfile=str(pki / country / "server.key"),
        ssl_ca_certs=str(pki / "ca.pem"),
        ssl_cert_reqs=ssl.CERT_REQUIRED,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the {country} test gateway did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
