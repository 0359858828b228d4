"""A tampering proxy: someone on the wire between two gateways who holds a gateway's TLS server
key (a compromised load balancer, say) and edits the documents passing through.

It serves HTTPS with that gateway's own server certificate, so the TLS handshake gives nothing
away, forwards every request to the real gateway unchanged and passes every answer back
unchanged, except a patient summary: from that it deletes the allergies. TLS protects each hop;
only the document's own signature, made with a key the proxy does not hold, protects it from
end to end. The receiving gateway must notice and refuse the document.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sandbox.layout import HOST, base_url

SUMMARY_PATH = "/fhir/Patient/$summary"
# Hop-by-hop or describing the bytes on the wire: each side of the proxy sets its own.
_NOT_FORWARDED = {"host", "connection", "content-length", "transfer-encoding", "accept-encoding"}
_NOT_RETURNED = {"connection", "content-length", "transfer-encoding", "content-encoding"}


class TamperingProxy:
    """Listens on ``port`` with ``certificate``/``key`` and forwards to the gateway on
    ``upstream_port`` (whose certificate chains to ``ca``). A tampered summary is also written
    to ``evidence``. Use it as a context manager: it serves in a thread while inside."""

    def __init__(
        self, port: int, upstream_port: int, certificate: Path, key: Path, ca: Path, evidence: Path
    ) -> None:
        self._port = port
        self._upstream = base_url(upstream_port)
        self._certificate = certificate
        self._key = key
        self._ca = ca
        self.evidence = evidence
        self.deleted: list[str] = []  # what it removed from the documents it passed on
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

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
        kept = []
        for entry in document.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "AllergyIntolerance":
                self.deleted.append(_allergy_name(resource))
            else:
                kept.append(entry)
        document["entry"] = kept
        tampered = json.dumps(document, indent=1).encode()
        self.evidence.write_bytes(tampered)
        return tampered

    def __enter__(self) -> TamperingProxy:
        config = uvicorn.Config(
            self,
            host=HOST,
            port=self._port,
            ssl_certfile=str(self._certificate),
            ssl_keyfile=str(self._key),
            log_level="warning",
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the tampering proxy could not listen on port {self._port}")
            time.sleep(0.05)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._server is not None and self._thread is not None:
            # Nothing in flight deserves a grace period: a peer's idle keep-alive connection
            # would otherwise hold the stop until its TLS close times out.
            self._server.should_exit = self._server.force_exit = True
            self._thread.join(timeout=10)


def _allergy_name(resource: dict[str, Any]) -> str:
    code = resource.get("code", {})
    codings = code.get("coding") or [{}]
    return str(codings[0].get("display") or code.get("text") or "an allergy")
