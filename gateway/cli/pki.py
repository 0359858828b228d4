"""``gateway pki init``: the federation's development CA, TLS certificates and signing keys."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.settings import Settings

# The federation demo runs these three gateways; the configured country joins them if it is
# not one of them, so `make run` always finds its own keys.
FEDERATION = ("DE", "FR", "IT")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def register(commands: Any) -> None:
    pki = commands.add_parser("pki", help="development keys and certificates")
    actions = pki.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init",
        help="create the federation dev CA and each gateway's TLS and signing keys",
        description="Create a federation development CA (EC P-384) and, per country, a TLS "
        "server certificate, a TLS client certificate and a document-signing key (ES384) "
        "under --out. An existing CA is reused; existing country keys are refused unless "
        "--force. Private keys are written 0600 and must never be committed. Prints one line "
        "per country: country<TAB>folder<TAB>signing kid.",
    )
    init.add_argument(
        "--countries",
        type=country_list,
        metavar="CC,CC",
        help=f"comma-separated countries (default {','.join(FEDERATION)} and GATEWAY_COUNTRY)",
    )
    init.add_argument(
        "--host",
        dest="hosts",
        action="append",
        type=host_pair,
        default=[],
        metavar="CC=NAME_OR_IP",
        help="add a DNS name or IP address to that country's server certificate (repeatable)",
    )
    init.add_argument("--out", type=Path, help="where to write (default GATEWAY_PKI_DIR)")
    init.add_argument("--force", action="store_true", help="replace existing country keys")
    init.add_argument(
        "--rotate",
        action="append",
        type=country,
        default=[],
        metavar="CC",
        help="only rotate that country's signing key: the current one moves to previous/ and "
        "stays in the JWKS; prints country<TAB>new kid<TAB>previous kid (repeatable)",
    )
    init.set_defaults(run=run_init, usage=init.error)

    trust = actions.add_parser(
        "trust-list",
        help="write the trust list naming these peer gateways",
        description="Write a trust list (GATEWAY_TRUST_LIST, YAML) for this gateway "
        "(GATEWAY_COUNTRY) naming each --peer with its base URL, the federation CA of "
        "GATEWAY_PKI_DIR as ca_cert (a path relative to FILE's folder; to the current folder "
        "on stdout) and its public signing keys (JWKS) inline.",
    )
    trust.add_argument(
        "--peer",
        dest="peers",
        action="append",
        type=peer_pair,
        required=True,
        metavar="CC=BASE_URL",
        help="a peer's country and its GATEWAY_BASE_URL, such as IT=https://it.gateway.example "
        "(repeatable)",
    )
    trust.add_argument("-o", "--out", type=Path, metavar="FILE", help="write here, not stdout")
    trust.set_defaults(run=run_trust_list)


def run_init(settings: Settings, args: argparse.Namespace) -> int:
    out: Path = args.out or settings.pki_dir
    if args.rotate:
        if args.countries or args.hosts or args.force:
            args.usage("--rotate cannot be combined with --countries, --host or --force")
        return _rotate(out, args.rotate)
    from gateway.auth.pki import init_pki

    countries = args.countries or _default_countries(settings.country)
    hosts: dict[str, list[str]] = {}
    for cc, name in args.hosts:
        hosts.setdefault(cc, []).append(name)
    for made in init_pki(out, countries, hosts, force=args.force):
        print(f"{made.country}\t{made.folder}\t{made.signing_kid}")
    print(
        f"gateway: keys written under {out} (private keys 0600; never commit them)", file=sys.stderr
    )
    return 0


def run_trust_list(settings: Settings, args: argparse.Namespace) -> int:
    import yaml

    from gateway.cli.common import whole_file
    from gateway.federation.trust_list import trust_list_entries

    folder = args.out.parent if args.out is not None else Path()
    entries = trust_list_entries(settings.pki_dir, args.peers, settings.country, folder)
    text = yaml.safe_dump(entries, sort_keys=False, width=1000)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    with whole_file(args.out) as out:
        out.write(text.encode())
    print(f"gateway: trust list of {settings.country} written to {args.out}", file=sys.stderr)
    return 0


def _rotate(out: Path, countries: list[str]) -> int:
    from gateway.auth.pki import rotate_signing_key

    for cc in dict.fromkeys(countries):
        rotation = rotate_signing_key(out, cc)
        print(f"{rotation.country}\t{rotation.kid}\t{rotation.previous_kid}")
    return 0


def _default_countries(configured: str) -> list[str]:
    return list(dict.fromkeys([*FEDERATION, configured]))


def country(text: str) -> str:
    code = text.strip().upper()
    if not _COUNTRY.match(code):
        raise argparse.ArgumentTypeError(f"not a country code: {text!r} (expected DE)")
    return code


def country_list(text: str) -> list[str]:
    codes = [country(part) for part in text.split(",") if part.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("expected at least one country, such as DE,FR,IT")
    return list(dict.fromkeys(codes))


def peer_pair(text: str) -> tuple[str, str]:
    code, separator, url = text.partition("=")
    if not separator or not url.strip():
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected CC=BASE_URL, such as IT=https://it.gateway.example"
        )
    return country(code), url.strip()


def host_pair(text: str) -> tuple[str, str]:
    code, separator, name = text.partition("=")
    if not separator or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: expected CC=NAME_OR_IP, such as DE=gateway-de")
    return country(code), name.strip()
