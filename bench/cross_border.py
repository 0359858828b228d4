"""The cross-border summary round trip, and the Beacon network against one local query.

Three gateways on loopback, each its own process (`gateway serve --tls`), its own SQLite
database and its own keys from one `gateway pki init --countries DE,FR,IT`, each trust list
naming the other two. DE holds the patient (`bench.summary_record`, 40 clinical entries) and
the demo cohort; FR and IT hold the demo cohort. A client of FR asks FR for the DE citizen's
summary by identifier: FR asks DE over mutual TLS with its cached peer token, DE decides
consent, signs (kept per patient version), audits; FR verifies the signature, audits, and
sends the bytes on. Every request is timed on one kept-alive HTTPS connection, one at a time.

References, same run, same client, same kind of connection:
- the round trip against one plain HTTPS GET of the same bytes from a bare app served by
  uvicorn with DE's server certificate (`bench.bare_app --body ... --tls-cert ...`).
  Goal: median round trip <= 4 x the plain GET.
- the Beacon network (`/beacon-network/g_variants` at DE: DE's store and both peers) against
  the same query to DE's `/beacon/g_variants` alone. No goal; the ratio is printed.

    python -m bench.cross_border [--requests 300] [--warmup 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import ssl
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from bench import (
    GATEWAY,
    PYTHON,
    BenchError,
    cache_dir,
    fresh_postgres,
    gateway_missing,
    goal,
    run,
)
from bench.bench_client import FORM_TYPE, TOKEN_PATH, BenchClient
from bench.serving import free_port, running
from bench.summary_record import KVNR, write
from gateway.auth.keys import load_ca, public_jwks
from gateway.auth.signing import verify_bundle

GOAL = 4.0
COUNTRIES = ("DE", "FR", "IT")
HOST = "127.0.0.1"
CLIENT_ID = "bench-fr-node"
IDENTIFIER = f"http://fhir.de/sid/gkv/kvid-10|{KVNR}"
BEACON_QUERY = "referenceName=13&start=32315507&referenceBases=C&alternateBases=T&assemblyId=GRCh38"


@dataclass(frozen=True, slots=True)
class Gateway:
    country: str
    base: str
    env: dict[str, str]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    missing = gateway_missing()
    if missing:
        print(f"not measured: gateway CLI unavailable: {missing}", file=sys.stderr)
        return 1
    failed = False
    for backend in (name.strip() for name in args.backends.split(",")):
        try:
            _bench(backend, args.requests, args.warmup)
        except BenchError as exc:
            print(f"not measured ({backend}): {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cross_border",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgres")
    return parser


def _bench(backend: str, requests: int, warmup: int) -> None:
    if backend not in ("sqlite", "postgres"):
        raise BenchError(f"unknown back end {backend!r}: use sqlite or postgres")
    folder = cache_dir() / "cross_border"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pki = folder / "pki"
    run([GATEWAY, "pki", "init", "--countries", ",".join(COUNTRIES), "--out", str(pki)])
    gateways = {cc: _gateway(folder, pki, cc, _database(backend, folder, cc)) for cc in COUNTRIES}
    for gateway in gateways.values():
        _trust_list(folder, pki, gateway, gateways)
        run([GATEWAY, "demo", "--out", str(folder / f"demo-{gateway.country}")], env=gateway.env)
    record = write(folder / "record.json")
    run(
        [GATEWAY, "ingest", "record", str(record), "--profile", "de-isik-fhir"],
        env=gateways["DE"].env,
    )
    keys = folder / "clients"
    run(
        [
            GATEWAY,
            "clients",
            "add",
            CLIENT_ID,
            "--generate-key",
            str(keys),
            "--scopes",
            "system/Patient.rs",
        ],
        env=gateways["FR"].env,
    )
    client = BenchClient.load(CLIENT_ID, keys / f"{CLIENT_ID}.key")
    run(
        [
            GATEWAY,
            "clients",
            "add",
            "bench-de-node",
            "--generate-key",
            str(keys),
            "--scopes",
            "system/Patient.rs",
        ],
        env=gateways["DE"].env,
    )
    de_client = BenchClient.load("bench-de-node", keys / "bench-de-node.key")
    tls = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    print(
        f"cross-border bench: 3 gateways (DE, FR, IT), `gateway serve --tls`, {backend} each; "
        f"{requests} timed requests after {warmup}, one at a time on one kept-alive HTTPS "
        "connection",
        flush=True,
    )
    with ExitStack() as stack:
        for gateway in gateways.values():
            stack.enter_context(_serving(gateway, tls, folder))
        with httpx.Client(verify=tls, timeout=30) as http:
            round_trip, body = _round_trip(http, gateways["FR"], client, requests, warmup)
            one_hop, _ = _round_trip(http, gateways["DE"], de_client, requests, warmup)
            verified = verify_bundle(body, [load_ca(pki)])
            print(
                f"  the summary FR passed on: {len(body) / 1000:.1f} KB, signed by "
                f"{verified.signer}, signature verified",
                flush=True,
            )
            network, local = _beacon(http, gateways["DE"], requests, warmup)
        body_file = folder / "summary.json"
        body_file.write_bytes(body)
        with (
            _bare(body_file, pki, tls, folder) as bare_base,
            httpx.Client(verify=tls, timeout=30) as http,
        ):
            plain = _timed(http, f"{bare_base}/body", {}, requests, warmup)
    ratio = statistics.median(round_trip) / statistics.median(plain)
    _row("plain HTTPS GET of the same bytes (reference)", plain, "")
    _row("client -> DE $summary, DE's own node (one hop)", one_hop, "")
    _row(
        "client -> FR -> DE -> FR -> client $summary",
        round_trip,
        f"  ratio {ratio:.2f} {goal(ratio, GOAL, at_most=True)}",
    )
    _row("DE /beacon/g_variants (local, reference)", local, "")
    beacon_ratio = statistics.median(network) / statistics.median(local)
    _row(
        "DE /beacon-network/g_variants (DE + FR + IT)",
        network,
        f"  ratio {beacon_ratio:.2f} (no goal)",
    )


def _database(backend: str, folder: Path, country: str) -> str:
    if backend == "postgres":
        return fresh_postgres(f"bench_cross_border_{country.lower()}")
    return f"sqlite+aiosqlite:///{folder / country.lower()}.db"


def _gateway(folder: Path, pki: Path, country: str, database_url: str) -> Gateway:
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_COUNTRY": country,
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_PKI_DIR": str(pki),
        "GATEWAY_BASE_URL": f"https://{HOST}:{port}",
        "GATEWAY_HOST": HOST,
        "GATEWAY_PORT": str(port),
        "GATEWAY_TRUST_LIST": str(folder / f"trust-{country.lower()}.yaml"),
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    return Gateway(country, f"https://{HOST}:{port}", env)


def _trust_list(folder: Path, pki: Path, gateway: Gateway, all_: dict[str, Gateway]) -> None:
    peers = [
        {
            "country": other.country,
            "base_url": other.base,
            "ca_cert": str(pki / "ca.pem"),
            "jwks": public_jwks(pki, other.country),
        }
        for other in all_.values()
        if other.country != gateway.country
    ]
    Path(gateway.env["GATEWAY_TRUST_LIST"]).write_text(yaml.safe_dump(peers))


def _serving(gateway: Gateway, tls: ssl.SSLContext, folder: Path) -> AbstractContextManager[int]:
    log_path = folder / f"serve-{gateway.country}.log"
    argv = [GATEWAY, "serve", "--tls"]
    return running(argv, gateway.env, f"{gateway.base}/health", log_path, tls)


@contextmanager
def _bare(body: Path, pki: Path, tls: ssl.SSLContext, folder: Path) -> Iterator[str]:
    base = f"https://{HOST}:{free_port()}"
    port = base.rsplit(":", 1)[1]
    argv = [
        PYTHON, "-m", "bench.bare_app", "--body", str(body), "--path", "/body",
        "--host", HOST, "--port", port,
        "--tls-cert", str(pki / "DE" / "server.pem"), "--tls-key", str(pki / "DE" / "server.key"),
    ]  # fmt: skip
    with running(argv, None, f"{base}/body", folder / "bare.log", tls):
        yield base


def _round_trip(
    http: httpx.Client, fr: Gateway, client: BenchClient, requests: int, warmup: int
) -> tuple[list[float], bytes]:
    answer = http.post(
        fr.base + TOKEN_PATH,
        content=client.token_form(fr.base),
        headers={"Content-Type": FORM_TYPE},
    )
    if answer.status_code != 200:
        raise BenchError(f"FR token: {answer.status_code} {answer.text[:200]}")
    headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    url = f"{fr.base}/fhir/Patient/$summary?identifier={IDENTIFIER}"
    first = http.get(url, headers=headers)
    if first.status_code != 200:
        raise BenchError(f"FR $summary answered {first.status_code}: {first.text[:300]}")
    return _timed(http, url, headers, requests, warmup), first.content


def _beacon(
    http: httpx.Client, de: Gateway, requests: int, warmup: int
) -> tuple[list[float], list[float]]:
    network_url = f"{de.base}/beacon-network/g_variants?{BEACON_QUERY}"
    answer = http.get(network_url)
    if answer.status_code != 200:
        raise BenchError(f"/beacon-network answered {answer.status_code}: {answer.text[:300]}")
    members = answer.json().get("info", {}).get("members", [])
    if sorted(m.get("status") for m in members) != ["answered"] * 3:
        raise BenchError(f"/beacon-network did not hear from all three members: {members}")
    network = _timed(http, network_url, {}, requests, warmup)
    local = _timed(http, f"{de.base}/beacon/g_variants?{BEACON_QUERY}", {}, requests, warmup)
    return network, local


def _timed(
    http: httpx.Client, url: str, headers: dict[str, str], requests: int, warmup: int
) -> list[float]:
    times: list[float] = []
    for index in range(warmup + requests):
        started = time.perf_counter()
        response = http.get(url, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise BenchError(f"GET {url} answered {response.status_code}: {response.text[:200]}")
        if index >= warmup:
            times.append(elapsed)
    return times


def _row(label: str, times: list[float], verdict: str) -> None:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"  {label:<48} median {statistics.median(times) * 1000:7.2f} ms  "
        f"p99 {p99 * 1000:7.2f} ms{verdict}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
