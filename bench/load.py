"""A closed-loop HTTP/1.1 load generator, the fallback for the HTTP benches when wrk is missing.

N connections each send one GET, read the whole answer, and send the next (keep-alive), for T
seconds, cycling through a list of paths; latencies are taken from the end of a warm-up on.
``--header`` adds a header to every request (an ``Authorization: Bearer`` token). With
``--bodies FILE`` the requests are POSTs to the one path instead, one per line of the file,
each sent once (client assertions are single use): the run stops early when they run out, and
the result says so (``exhausted``). It speaks just enough HTTP/1.1 for uvicorn (Content-Length
or chunked bodies) over raw asyncio streams, which costs far less per request than a full
client; still, being Python it can become the bottleneck before a fast server does, so prefer
wrk where it can be installed.

    python -m bench.load --url http://127.0.0.1:8099 --path /beacon/g_variants \\
        [--paths FILE] [--header "Name: value"] [--bodies FILE [--content-type TYPE]]
        [--connections 16] [--duration 10] [--warmup 2] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections.abc import Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one measurement saw: completed requests after the warm-up and their latencies."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    tool: str = "bench.load"
    exhausted: bool = False  # the once-only bodies ran out before the end

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(slots=True)
class _Tally:
    latencies_ns: list[int] = field(default_factory=list)
    errors: int = 0


@dataclass(slots=True)
class _Requests:
    """The requests to send: cycled (GET paths) or each sent once (POST bodies)."""

    encoded: list[bytes]
    once: bool
    taken: int = 0

    def first_index(self, connection: int) -> int:
        if self.once:
            return 0
        return connection * max(1, len(self.encoded) // 64)  # spread connections over the list

    def take(self, index: int) -> bytes | None:
        """The request at ``index`` (cycling), or the next unsent one; None when all are sent."""
        if not self.once:
            return self.encoded[index % len(self.encoded)]
        if self.taken == len(self.encoded):
            return None
        self.taken += 1
        return self.encoded[self.taken - 1]


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


async def run_load(
    host: str,
    port: int,
    paths: Sequence[str],
    *,
    connections: int,
    duration: float,
    warmup: float = 0.0,
    headers: Sequence[str] = (),
    bodies: Sequence[str] | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> LoadResult:
    """Drive ``connections`` keep-alive connections for ``warmup + duration`` seconds.

    With ``bodies``, POST each of them once to ``paths[0]`` instead of cycling GETs.
    """
    if not paths:
        raise ValueError("no paths to request")
    extra = "".join(f"{header}\r\n" for header in headers)
    if bodies is None:
        requests = _Requests([_request(host, port, path, extra) for path in paths], once=False)
    else:
        extra += f"Content-Type: {content_type}\r\n"
        posts = [_request(host, port, paths[0], extra, body) for body in bodies]
        requests = _Requests(posts, once=True)
    started = time.perf_counter_ns()
    measure_from = started + int(warmup * 1e9)
    stop_at = measure_from + int(duration * 1e9)
    tally = _Tally()
    workers = [
        _worker(host, port, requests, offset, measure_from, stop_at, tally)
        for offset in range(connections)
    ]
    await asyncio.gather(*workers)
    latencies = sorted(tally.latencies_ns)
    return LoadResult(
        requests=len(latencies),
        seconds=(time.perf_counter_ns() - measure_from) / 1e9,
        p50_ms=percentile(latencies, 0.50) / 1e6,
        p99_ms=percentile(latencies, 0.99) / 1e6,
        errors=tally.errors,
        exhausted=requests.once and requests.taken == len(requests.encoded),
    )


def _request(host: str, port: int, path: str, extra: str = "", body: str | None = None) -> bytes:
    method, length = ("GET", "") if body is None else ("POST", f"Content-Length: {len(body)}\r\n")
    return (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: bench.load\r\n"
        f"Accept: application/json\r\n{extra}{length}\r\n{body or ''}"
    ).encode("ascii")


async def _worker(
    host: str,
    port: int,
    requests: _Requests,
    offset: int,
    measure_from: int,
    stop_at: int,
    tally: _Tally,
) -> None:
    index = requests.first_index(offset)
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while time.perf_counter_ns() < stop_at:
        try:
            if writer is None or reader is None:
                reader, writer = await asyncio.open_connection(host, port)
            request = requests.take(index)
            if request is None:
                break
            sent = time.perf_counter_ns()
            writer.write(request)
            status, keep_alive = await _read_response(reader)
            done = time.perf_counter_ns()
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally.errors += 1
            _close(writer)
            writer = reader = None
            await asyncio.sleep(0.01)
            continue
        index += 1
        if sent >= measure_from and done <= stop_at:
            tally.latencies_ns.append(done - sent)
            tally.errors += not 200 <= status < 400
        if not keep_alive:
            _close(writer)
            writer = reader = None
    _close(writer)


def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.close()


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if headers.get("transfer-encoding") == "chunked":
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # the empty trailer section
    else:
        await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection") != "close"


def _run(coroutine: Coroutine[Any, Any, LoadResult]) -> LoadResult:
    try:
        import uvloop  # the same loop uvicorn picks, when installed
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--path", action="append", default=[], help="a path to request")
    parser.add_argument("--paths", type=Path, help="file with one path per line")
    parser.add_argument(
        "--header", action="append", default=[], help='"Name: value" on every request'
    )
    parser.add_argument(
        "--bodies", type=Path, help="POST each line of this file once to the (first) path"
    )
    parser.add_argument("--content-type", default="application/x-www-form-urlencoded")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=0.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    target = urlsplit(args.url)
    if target.scheme != "http" or target.hostname is None:
        parser.error("--url must be http://HOST:PORT")
    paths = list(args.path)
    if args.paths:
        paths += [line for line in args.paths.read_text().splitlines() if line]
    bodies = None
    if args.bodies:
        bodies = [line for line in args.bodies.read_text().splitlines() if line]
    result = _run(
        run_load(
            target.hostname,
            target.port or 80,
            paths or ["/"],
            connections=args.connections,
            duration=args.duration,
            warmup=args.warmup,
            headers=args.header,
            bodies=bodies,
            content_type=args.content_type,
        )
    )
    if args.json:
        print(json.dumps({**asdict(result), "rate": result.rate}))
    else:
        print(
            f"{result.rate:,.0f} req/s  p50 {result.p50_ms:.2f} ms  p99 {result.p99_ms:.2f} ms"
            f"  ({result.requests:,} requests, {result.errors} errors)"
            + ("  (the bodies ran out before the end)" if result.exhausted else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
