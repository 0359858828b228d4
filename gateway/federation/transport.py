"""The HTTP transport of calls to peers: httpx's own, with connections that are closed when a
call is given up during the TLS handshake.

A peer call is cancelled when its deadline passes, or when this gateway refuses a Beacon
network query its peers are already being asked. httpcore 1.0 closes the TCP connection when
the handshake fails with an error, but not when it is cancelled (its ``start_tls`` catches
``Exception``, and cancellation is a ``BaseException``): the socket stays open, half-way
through the handshake, until the garbage collector finds it. A peer that is slow to answer
the handshake would collect them. The network backend here closes the connection on any way
out of the handshake; everything else is httpx's and httpcore's.
"""

from __future__ import annotations

import ssl
import typing

import anyio
import httpcore
import httpx

__all__ = ["peer_transport"]


def peer_transport(tls: ssl.SSLContext, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's transport with ``tls`` and ``limits``, over the closing network backend."""
    transport = httpx.AsyncHTTPTransport(verify=tls, limits=limits)
    # httpx takes no network backend, so its pool is made again, as httpx makes it
    # (the same settings), with ours. tests/federation/test_peers.py proves the effect.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=tls,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=_ClosingBackend(),
    )
    return transport


class _ClosingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _ClosedOnCancel(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(path, timeout, socket_options)
        return _ClosedOnCancel(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _ClosedOnCancel(httpcore.AsyncNetworkStream):
    """A plain TCP stream that is closed when its TLS handshake does not complete."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            return await self._stream.start_tls(ssl_context, server_hostname, timeout)
        except BaseException:
            # Closing a plain TCP stream sends nothing and waits for nothing: it is safe to
            # shield from the cancellation that is on its way out.
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()
            raise

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)
