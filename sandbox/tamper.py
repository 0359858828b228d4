"""A tampering proxy: someone on the wire between two gateways who holds a gateway's TLS server
key (a compromised load balancer, say) and edits the documents passing through.

It serves HTTPS with that gateway's own server certificate, so the TLS handshake gives nothing
away, forwards every request to the real gateway unchanged and passes every answer back
unchanged, except a patient summary: from that it deletes the allergies. TLS protects each hop;
only the document's own signature, made with a key the proxy does not hold, protects it from
end to end. The receiving gateway must notice and refuse the document.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

SUMMARY_PATH = "/fhir/Patient/$summary"
# Hop-by-hop or describing the bytes on the wire: each side of the proxy sets its own.
_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}
_NOT_RETURNED = {"connection", "content-length", "transfer-encoding", "content-encoding"}


class TamperingProxy:
    """The proxy as a process of its own, listening at ``host``:``port`` with ``certificate``
    and ``key`` and forwarding to ``upstream`` (whose certificate chains to ``ca``); ``prefix``
    runs it where that address is (``ip netns exec NAME`` in the multi-host test). A tampered
    summary is written to ``evidence``, and what was deleted from it beside it. Use it as a
    context manager: it serves while inside."""

    def __init__(
        self,
        listen: tuple[str, int],
        upstream: str,
        tls: tuple[Path, Path, Path],
        evidence: Path,
        prefix: Sequence[str] = (),
    ) -> None:
        self._host, self._port = listen
        self._upstream = upstream
        self._certificate, self._key, self._ca = tls
        self.evidence = evidence
        self._prefix = tuple(prefix)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def deleted(self) -> list[str]:
        """What it removed from the documents it passed on."""
        names = _deleted_file(self.evidence)
        return names.read_text().splitlines() if names.exists() else []

    def __enter__(self) -> TamperingProxy:
        command = [
            *self._prefix, sys.executable, "-m", "sandbox.tamper",
            "--listen", f"{self._host}:{self._port}", "--upstream", self._upstream,
            "--cert", str(self._certificate), "--key", str(self._key), "--ca", str(self._ca),
            "--evidence", str(self.evidence),
        ]  # fmt: skip
        log = self.evidence.with_name("tamper.log").open("ab")
        self._process = subprocess.Popen(
            command, cwd=Path(__file__).resolve().parents[1], stdout=log, stderr=log
        )
        log.close()  # the child holds its own copy
        deadline = time.monotonic() + 20
        while not _listening(self._host, self._port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the tampering proxy could not listen on port {self._port}")
            time.sleep(0.05)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


class _Tamperer:
    """The proxy itself (an ASGI app)."""

    def __init__(self, upstream: str, ca: Path, evidence: Path) -> None:
        self._upstream = upstream
        self._ca = ca
        self.evidence = evidence

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        answer = await self._forward(request)
        body = answer.content
        if answer.status_code == 200 and request.url.path == SUMMARY_PATH:
            body = self._tamper(body)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in _NOT_RETURNED}
        await Response(body, answer.status_code, headers)(scope, receive, send)

    async def _forward(self, request: Request) -> httpx.Response:
        target = request.scope["raw_path"].decode("latin-1")
        if request.scope["query_string"]:
            target += "?" + request.scope["query_string"].decode("latin-1")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        verify = ssl.create_default_context(cafile=self._ca)
        async with httpx.AsyncClient(base_url=self._upstream, verify=verify, timeout=30) as client:
            return await client.request(
                request.method, target, headers=headers, content=await request.body()
            )

    def _tamper(self, body: bytes) -> bytes:
        document = json.loads(body)
        kept, deleted = [], []
        for entry in document.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "AllergyIntolerance":
                deleted.append(_allergy_name(resource))
            else:
                kept.append(entry)
        document["entry"] = kept
        tampered = json.dumps(document, indent=1).encode()
        self.evidence.write_bytes(tampered)
        with _deleted_file(self.evidence).open("a") as names:
            names.writelines(f"{name}\n" for name in deleted)
        return tampered


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.tamper", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--upstream", required=True, help="the real gateway's https URL")
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--evidence", type=Path, required=True)
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    uvicorn.run(
        _Tamperer(args.upstream, args.ca, args.evidence),
        host=host,
        port=int(port),
        ssl_certfile=str(args.cert),
        ssl_keyfile=str(args.key),
        log_level="warning",
        lifespan="off",
        # Nothing in flight deserves a grace period: a peer's idle keep-alive connection
        # would otherwise hold the stop until its TLS close times out.
        timeout_graceful_shutdown=0,
    )
    return 0


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _deleted_file(evidence: Path) -> Path:
    return evidence.with_name(evidence.name + ".deleted")


def _allergy_name(resource: dict[str, Any]) -> str:
    code = resource.get("code", {})
    codings = code.get("coding") or [{}]
    return str(codings[0].get("display") or code.get("text") or "an allergy")


if __name__ == "__main__":
    sys.exit(main())
