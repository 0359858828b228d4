"""A gateway app served over real TLS by uvicorn in a thread, asking clients for certificates
of the federation CA: a peer gateway for the cross-border tests."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
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


def peer_tls_context(pki: Path, country: str) -> ssl.SSLContext:
    """A server context with ``country``'s certificate, asking for a client certificate of
    the CA in ``pki``: what a hand-made peer needs to complete the handshake."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki / "ca.pem"))
    context.load_cert_chain(pki / country / "server.pem", pki / country / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@contextmanager
def accepting(
    port: int, handle: Callable[[socket.socket], None], stop: threading.Event
) -> Iterator[None]:
    """Accept connections on 127.0.0.1:``port``, each handled by ``handle`` in a thread of
    its own, until the block ends (``stop`` is set then, for the handlers to see)."""

    def serve(listener: socket.socket) -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=handle, args=(connection,), daemon=True).start()

    with socket.create_server(("127.0.0.1", port)) as listener:
        listener.settimeout(0.2)
        thread = threading.Thread(target=serve, args=(listener,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)


@contextmanager
def silent_tls_server(port: int, pki: Path, country: str) -> Iterator[None]:
    """A peer that hangs: it completes the TLS handshake (with ``country``'s certificate,
    asking for a client certificate of the CA in ``pki``), reads, and never answers."""
    context = peer_tls_context(pki, country)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold(connection: socket.socket) -> None:
        try:
            wrapped = context.wrap_socket(connection, server_side=True)
            held.append(wrapped)
            wrapped.settimeout(0.2)
            while not stop.is_set():  # read whatever comes, answer nothing
                try:
                    if not wrapped.recv(65536):
                        return
                except TimeoutError:
                    continue
        except (OSError, ssl.SSLError):
            return

    try:
        with accepting(port, hold, stop):
            yield
    finally:
        for connection in held:
            connection.close()
