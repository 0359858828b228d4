"""``gateway clients add|list|remove`` and ``gateway token``: OAuth clients (private_key_jwt)
and a development helper that gets an access token from the running gateway."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.common import database
from gateway.errors import BadRequest

if TYPE_CHECKING:
    import ssl

    from gateway.settings import Settings

ALGORITHMS = ("ES384", "RS384", "ES256", "RS256")


def register(commands: Any) -> None:
    parser = commands.add_parser("clients", help="register, list or remove OAuth clients")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="register a client (private_key_jwt)")
    add.add_argument("client_id", metavar="ID")
    keys = add.add_mutually_exclusive_group(required=True)
    keys.add_argument("--jwks", type=Path, metavar="FILE", help="the client's public JWKS")
    keys.add_argument(
        "--generate-key",
        type=Path,
        metavar="DIR",
        help="make a new key pair in DIR (ID.key, private, 0600; ID.jwks.json) and register it",
    )
    add.add_argument("--scopes", required=True, help='SMART scopes, e.g. "system/Patient.rs"')
    add.add_argument("--alg", default="ES384", choices=ALGORITHMS, help="pinned (ES384)")
    add.add_argument("--country", help="the member state it asks for (GATEWAY_COUNTRY)")
    add.add_argument(
        "--purposes",
        default="TREAT ETREAT",
        help='PurposeOfUse codes it may assert, the first its default ("TREAT ETREAT")',
    )
    add.set_defaults(run=run_add)
    listing = actions.add_parser("list", help="one line per client")
    listing.set_defaults(run=run_list)
    remove = actions.add_parser("remove", help="remove a client")
    remove.add_argument("client_id", metavar="ID")
    remove.set_defaults(run=run_remove)

    token = commands.add_parser("token", help="print an access token from the running gateway")
    token.add_argument("--client", required=True, metavar="ID")
    token.add_argument("--key", required=True, type=Path, metavar="FILE", help="private key")
    token.add_argument("--scope", help="scopes to ask for (default: all the client may have)")
    token.add_argument("--purpose", default=None, help="PurposeOfUse (default: the client's)")
    token.add_argument("--role", default=None, help="IUA subject_role code")
    token.add_argument("--url", help="token endpoint (default: GATEWAY_BASE_URL/oauth/token)")
    token.add_argument(
        "--cert",
        type=Path,
        metavar="FILE",
        help="client certificate (PEM) for mutual TLS: the token is bound to it (RFC 8705)",
    )
    token.add_argument("--cert-key", type=Path, metavar="FILE", help="the certificate's key")
    token.add_argument(
        "--ca", type=Path, metavar="FILE", help="CA (PEM) the server's certificate must chain to"
    )
    token.set_defaults(run=run_token, usage=token.error)


async def run_add(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services import clients as service

    if args.generate_key is not None:
        jwks = service.generate_client_key(args.generate_key, args.client_id, args.alg)
    else:
        jwks = service.read_jwks(args.jwks)
    async with database(settings) as db:
        client = await service.add_client(
            db,
            args.client_id,
            jwks,
            scopes=args.scopes,
            algorithm=args.alg,
            country=args.country or settings.country,
            purposes=tuple(args.purposes.split()),
        )
    print(f"registered {client.client_id}: {client.country}, {client.algorithm}, {client.scopes}")
    if args.generate_key is not None:
        print(f"its private key: {args.generate_key / (client.client_id + '.key')}")
    return 0


async def run_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services import clients as service

    async with database(settings) as db:
        found = await service.list_clients(db)
    print("client_id\tcountry\talg\tpurposes\tscopes")
    for c in found:
        print(f"{c.client_id}\t{c.country}\t{c.algorithm}\t{' '.join(c.purposes)}\t{c.scopes}")
    return 0


async def run_remove(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services import clients as service

    async with database(settings) as db:
        await service.remove_client(db, args.client_id)
    print(f"removed {args.client_id}")
    return 0


def run_token(settings: Settings, args: argparse.Namespace) -> int:
    import httpx

    from gateway.auth.client_assertion import ASSERTION_TYPE
    from gateway.auth.client_keys import load_client_key, sign_assertion

    if args.cert_key is not None and args.cert is None:
        args.usage("--cert-key needs --cert")
    verify = _tls_context(args.cert, args.cert_key, args.ca)
    url = args.url or f"{settings.public_base_url}/oauth/token"
    key, kid, algorithm = load_client_key(args.key)
    iua = {
        name: value
        for name, value in (("purpose_of_use", args.purpose), ("subject_role", args.role))
        if value
    }
    assertion = sign_assertion(
        key, kid, algorithm, args.client, url, {"ihe_iua": iua} if iua else None
    )
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }
    if args.scope:
        form["scope"] = args.scope
    try:
        response = httpx.post(url, data=form, timeout=30, verify=verify)
    except httpx.HTTPError as exc:
        raise BadRequest(f"cannot reach {url}: {exc}") from None
    body = _json(response)
    if response.status_code != 200 or "access_token" not in body:
        said = body.get("error_description") or body.get("error") or response.text[:200]
        raise BadRequest(f"{url} refused the token request ({response.status_code}): {said}")
    print(body["access_token"])
    print(f"scope: {body.get('scope', '')}; expires in {body.get('expires_in')} s", file=sys.stderr)
    return 0


def _tls_context(cert: Path | None, key: Path | None, ca: Path | None) -> ssl.SSLContext | bool:
    """What httpx verifies the server with (0.28 takes the client certificate inside this
    context; its ``cert=`` is deprecated): True, the system's CAs, when nothing is given."""
    import ssl

    if cert is None and ca is None:
        return True
    try:
        context = ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        raise BadRequest(f"--ca {ca}: not a readable PEM CA certificate ({exc})") from None
    if cert is not None:
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise BadRequest(
                f"--cert {cert}: cannot load the certificate and its key ({exc})"
            ) from None
    return context


def _json(response: Any) -> dict[str, Any]:
    try:
        found = response.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
