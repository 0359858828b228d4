"""What the HTTP benches share: a server on a free loopback port, and one load measurement.

``serving`` runs a server command (``gateway serve``, ``bench.bare_app``...) on a free port
until the block ends, also on error. ``measure`` drives it with wrk (``-t1`` and a Lua script
that prints one machine-readable line) or, without wrk, with ``bench.load``: warm-up first,
then a bounded closed-loop measurement. ``measure_posts`` does the same with POST requests
whose bodies are each sent once (client assertions: every ``jti`` is single use). The
``_cpu`` variants also read the CPU time the server process spent during the measurement
(all its threads, from ``/proc``): per request, it moves less with other load on the machine
than the rate does.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import PYTHON, ROOT, BenchError, cache_dir, run
from bench.load import LoadResult

HOST = "127.0.0.1"
# wrk runs this per thread: cycle through the paths file, then print one machine-readable line.
# The paths file may start with "POST <content type>": then each further line is a request
# body for one POST to the first argument after the file; it cycles too, so the caller sizes
# the file to outlast the run (a body sent twice shows up as an error status).
WRK_SCRIPT = """\
local lines = {}
local next_index = 1
local method, post_path, post_headers = "GET", nil, nil

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then lines[#lines + 1] = line end
  end
  local content_type = lines[1]:match("^POST (.+)$")
  if content_type then
    table.remove(lines, 1)
    method, post_path = "POST", args[2]
    post_headers = {["Content-Type"] = content_type}
  end
end

function request()
  local line = lines[next_index]
  next_index = next_index % #lines + 1
  if method == "POST" then
    return wrk.format("POST", post_path, post_headers, line)
  end
  return wrk.format("GET", line)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class Load:
    """How every measurement is taken."""

    tool: str
    connections: int
    duration: float
    warmup: float


@dataclass(frozen=True, slots=True)
class Served:
    """A running server: where it answers, and its process."""

    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far, all threads (Linux)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text(encoding="ascii")
        fields = stat.rsplit(")", 1)[1].split()  # after the command name: state is field 3
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Measured:
    """A load result with the server's CPU time per completed request (None: not taken)."""

    result: LoadResult
    cpu_ms: float | None


def measure(load: Load, base: str, paths: Sequence[str], headers: Sequence[str] = ()) -> LoadResult:
    """Warm up, then measure GETs cycling through ``paths``; ``headers`` are "Name: value"."""
    paths_file = cache_dir() / "load-paths.txt"
    paths_file.write_text("\n".join(paths) + "\n", encoding="ascii")
    if load.tool == "wrk":
        if load.warmup:
            _wrk(load, base, paths_file, load.warmup, headers)
        return _wrk(load, base, paths_file, load.duration, headers)
    return _python_load(load, base, ["--paths", str(paths_file)], headers)


def measure_cpu(
    load: Load, served: Served, paths: Sequence[str], headers: Sequence[str] = ()
) -> Measured:
    """``measure``, with the warm-up as a run of its own so that the server's CPU time is
    read around the measurement alone."""
    if load.warmup:
        measure(_no_warmup(load, load.warmup), served.base, paths, headers)
    return _with_cpu(served, lambda: measure(_no_warmup(load), served.base, paths, headers))


def measure_posts(
    load: Load,
    base: str,
    path: str,
    bodies: Sequence[str],
    content_type: str = "application/x-www-form-urlencoded",
) -> LoadResult:
    """Warm up, then measure POSTs to ``path``, each of ``bodies`` sent at most once.

    With wrk the warm-up takes the first bodies and the measurement the rest; a body sent
    twice (the file ran out) comes back as an error status. ``bench.load`` stops early when
    the bodies run out and says so (``exhausted``), and the rate is over the time it ran.
    """
    bodies_file = cache_dir() / "load-bodies.txt"
    if load.tool != "wrk":
        bodies_file.write_text("\n".join(bodies) + "\n", encoding="ascii")
        options = ["--path", path, "--bodies", str(bodies_file), "--content-type", content_type]
        return _python_load(load, base, options, ())
    share = load.warmup / (load.warmup + load.duration)
    split = int(len(bodies) * share)
    parts = [(load.warmup, bodies[:split]), (load.duration, bodies[split:])]
    result = None
    for seconds, part in parts if load.warmup else parts[1:]:
        bodies_file.write_text(f"POST {content_type}\n" + "\n".join(part) + "\n", "ascii")
        result = _wrk(load, base, bodies_file, seconds, (), path)
    assert result is not None
    return result


def measure_posts_cpu(
    load: Load, served: Served, path: str, warmup_bodies: Sequence[str], bodies: Sequence[str]
) -> Measured:
    """``measure_posts``: the warm-up sends ``warmup_bodies``, the measurement ``bodies``."""
    if load.warmup:
        measure_posts(_no_warmup(load, load.warmup), served.base, path, warmup_bodies)
    return _with_cpu(served, lambda: measure_posts(_no_warmup(load), served.base, path, bodies))


def _no_warmup(load: Load, duration: float | None = None) -> Load:
    return Load(load.tool, load.connections, duration or load.duration, 0.0)


def _with_cpu(served: Served, run_load: Callable[[], LoadResult]) -> Measured:
    before = served.cpu_seconds()
    result = run_load()
    spent = served.cpu_seconds() - before
    return Measured(result, spent / result.requests * 1e3 if result.requests else None)


def _python_load(
    load: Load, base: str, options: Sequence[str], headers: Sequence[str]
) -> LoadResult:
    command = [PYTHON, "-m", "bench.load", "--url", base, *options]
    for header in headers:
        command += ["--header", header]
    command += [
        "--connections",
        str(load.connections),
        "--duration",
        str(load.duration),
        "--warmup",
        str(load.warmup),
        "--json",
    ]
    fields = json.loads(run(command, timeout=load.duration * 3 + 60))
    return LoadResult(
        fields["requests"],
        fields["seconds"],
        fields["p50_ms"],
        fields["p99_ms"],
        fields["errors"],
        "bench.load",
        fields.get("exhausted", False),
    )


def _wrk(
    load: Load,
    base: str,
    lines_file: Path,
    seconds: float,
    headers: Sequence[str],
    post_path: str = "",
) -> LoadResult:
    script = cache_dir() / "load.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    command = ["wrk", "-t1", f"-c{load.connections}", f"-d{max(1, round(seconds))}s"]
    for header in headers:
        command += ["-H", header]
    command += ["--timeout", "5s", "-s", str(script), base, "--", str(lines_file)]
    output = run([*command, post_path] if post_path else command, timeout=seconds * 3 + 60)
    line = next((x for x in output.splitlines() if x.startswith("BENCH ")), None)
    if line is None:
        raise BenchError(f"wrk printed no summary: {output[-300:]}")
    fields = json.loads(line.removeprefix("BENCH "))
    return LoadResult(
        fields["requests"],
        fields["duration_us"] / 1e6,
        fields["p50_us"] / 1e3,
        fields["p99_us"] / 1e3,
        fields["errors"],
        "wrk",
    )


def load_tool(preference: str, prog: str) -> str:
    """``wrk`` when it is (or, as root, can be made) available; else the Python fallback."""
    if preference == "python":
        return "python"
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: apt-get install -y wrk…", file=sys.stderr, flush=True)
        for command in (
            ["apt-get", "install", "-y", "wrk"],
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "wrk"],
        ):
            done = subprocess.run(command, capture_output=True, timeout=600, check=False)
            if command[1] == "install" and done.returncode == 0:
                break
    if shutil.which("wrk"):
        return "wrk"
    if preference == "wrk":
        raise SystemExit(f"{prog}: wrk is not installed and could not be installed")
    return "python"


@contextmanager
def serving(command: list[str], env: dict[str, str], ready_path: str) -> Iterator[Served]:
    """Run a server on a free loopback port until the block ends (also on error)."""
    port = free_port()
    log_path = cache_dir() / f"server-{Path(command[0]).name}-{port}.log"
    argv = [*command, "--host", HOST, "--port", str(port)]
    with running(argv, env, f"http://{HOST}:{port}{ready_path}", log_path) as pid:
        yield Served(f"http://{HOST}:{port}", pid)
    log_path.unlink(missing_ok=True)


@contextmanager
def running(
    argv: list[str],
    env: dict[str, str] | None,
    ready_url: str,
    log_path: Path,
    verify: ssl.SSLContext | bool = True,
) -> Iterator[int]:
    """Run ``argv`` (its output to ``log_path``) until the block ends, also on error, once
    ``ready_url`` answers 200 (checked against ``verify`` when it is https); yields the pid.

    :raises BenchError: the server exited or did not get ready.
    """
    with log_path.open("wb") as log:
        server = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(server, ready_url, log_path, verify)
            yield server.pid
        finally:
            _stop(server)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_ready(
    server: subprocess.Popen[bytes],
    url: str,
    log_path: Path,
    verify: ssl.SSLContext | bool = True,
    timeout: float = 120,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"server exited {server.returncode}: {_tail(log_path)}")
        try:
            if httpx.get(url, verify=verify, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise BenchError(f"server not ready at {url} after {timeout:g} s: {_tail(log_path)}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _tail(path: Path) -> str:
    return " | ".join(path.read_text(errors="replace").strip().splitlines()[-5:])
