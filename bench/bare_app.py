"""The HTTP benches' reference: a bare FastAPI app answering one constant body.

It does what any FastAPI service pays for per request (routing, query-string parsing, dict
to JSON) and nothing the gateway adds (validation, policy, the database). ``bench.query``
divides the gateway's Beacon throughput by this app's, both served by uvicorn with the same
settings as ``gateway serve`` (gateway/cli/serve.py): one process, uvicorn's default
``auto`` loop and HTTP implementation (uvloop and httptools when installed), no access log.

By default it answers ``GET /beacon/g_variants`` with a ~1 KB Beacon body. With ``--body FILE``
it answers ``GET PATH`` (``--path``) with exactly the bytes of FILE instead, as
``--media-type``: ``bench.summary`` gives it the gateway's own signed ``$summary`` answer.

    python -m bench.bare_app --host 127.0.0.1 --port 8099
    python -m bench.bare_app --body FILE --path '/fhir/Patient/ID/$summary' \\
        [--media-type application/fhir+json]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Response

# A realistic Beacon v2 count response for one sequence query (about 1 KB of JSON).
_SCHEMA = {"entityType": "genomicVariant", "schema": "beacon-g_variant-v2.0.0"}
RESPONSE: dict[str, Any] = {
    "meta": {
        "beaconId": "eu.health-gateway.de",
        "apiVersion": "v2.0.0",
        "returnedGranularity": "count",
        "receivedRequestSummary": {
            "apiVersion": "v2.0.0",
            "requestedSchemas": [_SCHEMA],
            "pagination": {"skip": 0, "limit": 10},
            "requestedGranularity": "count",
            "includeResultsetResponses": "HIT",
            "requestParameters": {
                "g_variant": {
                    "assemblyId": "GRCh38",
                    "referenceName": "22",
                    "start": [10516172],
                    "referenceBases": "A",
                    "alternateBases": "G",
                }
            },
            "testMode": False,
        },
        "returnedSchemas": [_SCHEMA],
        "testMode": False,
    },
    "responseSummary": {"exists": True, "numTotalResults": 234},
    "info": {
        "datasets": [{"id": "bench", "exists": True, "resultsCount": 234}],
        "note": "Counts below the small-count floor are reported as imprecise.",
    },
    "beaconHandovers": [
        {
            "handoverType": {"id": "EFO:0004157", "label": "BAM format"},
            "note": "Aligned reads are not shared across borders; ask the data controller.",
            "url": "https://gateway.example.de/beacon/handover/bench",
        }
    ],
}

app = FastAPI(title="bench bare app", openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/beacon/g_variants")
async def g_variants() -> dict[str, Any]:
    """The constant body; query parameters are accepted and ignored."""
    return RESPONSE


def body_app(body: bytes, path: str, media_type: str) -> FastAPI:
    """An app answering ``GET path`` with ``body`` as it is: no serialisation at all."""
    bare = FastAPI(title="bench bare app", openapi_url=None, docs_url=None, redoc_url=None)

    async def constant() -> Response:
        return Response(body, media_type=media_type)

    bare.add_api_route(path, constant, methods=["GET"])
    return bare


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bare_app",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--body", type=Path, help="answer with exactly these bytes")
    parser.add_argument("--path", default="/body", help="where --body is served")
    parser.add_argument("--media-type", default="application/fhir+json")
    parser.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate...")
    parser.add_argument("--tls-key", type=Path, help="...and this key")
    args = parser.parse_args(argv)
    served = (
        app if args.body is None else body_app(args.body.read_bytes(), args.path, args.media_type)
    )
    # Keep in step with gateway/cli/serve.py: same keyword arguments, defaults elsewhere.
    uvicorn.run(
        served,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        server_header=False,
        ssl_certfile=args.tls_cert,
        ssl_keyfile=args.tls_key,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
