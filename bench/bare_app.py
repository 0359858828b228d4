"""The query bench's reference: a bare FastAPI app answering one constant Beacon-sized body.

It does what any FastAPI service pays for per request (routing, query-string parsing, dict
to JSON) and nothing the gateway adds (validation, policy, the database). ``bench.query``
divides the gateway's Beacon throughput by this app's, both served by uvicorn with the same
settings as ``gateway serve`` (gateway/cli/serve.py): one process, uvicorn's default
``auto`` loop and HTTP implementation (uvloop and httptools when installed), no access log.

    python -m bench.bare_app --host 127.0.0.1 --port 8099
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bare_app",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099)
    args = parser.parse_args(argv)
    # Keep in step with gateway/cli/serve.py: same keyword arguments, defaults elsewhere.
    uvicorn.run(
        app, host=args.host, port=args.port, log_config=None, access_log=False, server_header=False
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
