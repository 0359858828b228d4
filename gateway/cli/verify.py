"""``gateway verify FILE [--ca PEM]``: check a signed document's signature and certificate chain."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.errors import BadRequest

if TYPE_CHECKING:
    from cryptography import x509

    from gateway.settings import Settings

# A signed summary is a few hundred KB at most; the cap keeps a wrong file from filling memory.
_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "verify",
        help="check a signed document's signature and certificate chain",
        description="Check the detached JWS in Bundle.signature of a signed patient summary: "
        "the RFC 8785 canonical JSON of the exact bytes in FILE, ES384 only, the x5c chain up "
        "to a trusted CA, the signing certificate's validity and key usage. Prints one line: "
        "'valid: signed by <signer> at <time>' (exit 0), or why not (exit 1).",
    )
    parser.add_argument("file", type=Path, help="the signed Bundle (JSON)")
    parser.add_argument(
        "--ca",
        type=Path,
        help="PEM file of the trusted CA certificate(s) (default: GATEWAY_PKI_DIR/ca.pem)",
    )
    parser.set_defaults(run=run_verify)


def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.auth.signing import SignatureInvalid, verify_bundle

    anchors = _anchors(args.ca or settings.pki_dir / "ca.pem")
    data = _read(args.file)
    try:
        verified = verify_bundle(data, anchors)
    except SignatureInvalid as exc:
        raise BadRequest(f"{args.file}: invalid: {exc}") from None
    print(f"valid: signed by {verified.signer} at {verified.when}")
    return 0


def _anchors(path: Path) -> list[x509.Certificate]:
    from cryptography import x509

    try:
        anchors = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise BadRequest(f"{path}: {exc.strerror or exc} (the trusted CA, --ca)") from None
    except ValueError:
        raise BadRequest(f"{path}: not a PEM certificate (the trusted CA, --ca)") from None
    return anchors


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > _MAX_DOCUMENT_BYTES:
            raise BadRequest(f"{path}: over {_MAX_DOCUMENT_BYTES} bytes, not a signed summary")
        return path.read_bytes()
    except OSError as exc:
        raise BadRequest(f"{path}: {exc.strerror or exc}") from None
