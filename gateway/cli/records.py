"""``gateway profiles list``, ``gateway translate record`` and ``gateway ingest record``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.common import database, whole_file
from gateway.cli.genomics import add_translate_vcf
from gateway.errors import BadRequest

OPERATOR = "operator (gateway ingest record)"  # the audit log's agent for records pushed here

if TYPE_CHECKING:
    from gateway.profiles.model import Finding
    from gateway.services.records import RecordService
    from gateway.settings import Settings


def register(commands: Any) -> None:
    profiles = commands.add_parser("profiles", help="the installed national profiles")
    actions = profiles.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list",
        help="one line per profile: name, country, source format",
        description="One line per installed profile: name<TAB>country<TAB>format "
        "(country '-' for a generic profile).",
    )
    listing.set_defaults(run=run_list)
    systems = actions.add_parser(
        "systems",
        help="one line per national identifier system: system, country",
        description="Every identifier system the installed profiles name (FHIR URIs, urn:oid: "
        "OIDs and source aliases), with the member state it belongs to: the table the "
        "gateway routes a patient by. One line each: system<TAB>country.",
    )
    systems.set_defaults(run=run_systems)

    translate = commands.add_parser("translate", help="translate without storing anything")
    kinds = translate.add_subparsers(dest="kind", required=True, metavar="KIND")
    record = kinds.add_parser(
        "record",
        help="print the IPS document for a national record",
        description="Translate one national record (eHDSI CDA, HL7 v2, national FHIR, registry "
        "CSV) with a profile and print the FHIR IPS document Bundle. Stores nothing. Warnings "
        "(unmapped codes, identifier checks) go to stderr.",
    )
    _record_arguments(record)
    record.add_argument("-o", "--output", type=Path, help="write the Bundle here (default: stdout)")
    record.set_defaults(run=run_translate)
    add_translate_vcf(kinds)


def add_ingest_record(kinds: Any) -> None:
    record = kinds.add_parser(
        "record",
        help="translate a national record and store it for its patient",
        description="Translate one national record with a profile and store it for its patient "
        "(found by any national identifier, else created). The same record again changes "
        "nothing; a newer version from the same source supersedes the older one.",
    )
    _record_arguments(record)
    record.set_defaults(run=run_ingest)


def _record_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="the native record")
    parser.add_argument("--profile", required=True, help="profile name (gateway profiles list)")


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services.records import open_profiles

    for profile in open_profiles(settings.profiles_dir):
        print(f"{profile.name}\t{profile.country or '-'}\t{profile.format}")
    return 0


def run_systems(settings: Settings, args: argparse.Namespace) -> int:
    from gateway.services.records import open_profiles

    for system, country in open_profiles(settings.profiles_dir).identifier_systems().items():
        print(f"{system}\t{country}")
    return 0


def run_translate(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    service = _service(settings)
    translated = service.translate(_read(args.file, settings), args.profile)
    _warn(translated.findings)
    document = orjson.dumps(service.document(translated.record), option=orjson.OPT_INDENT_2)
    if args.output is None:
        sys.stdout.buffer.write(document + b"\n")
    else:
        with whole_file(args.output) as out:
            out.write(document + b"\n")
    return 0


async def run_ingest(settings: Settings, args: argparse.Namespace) -> int:
    data = _read(args.file, settings)
    async with database(settings) as db:
        stored = await _service(settings, db).ingest(data, args.profile, OPERATOR)
    _warn(stored.findings)
    print(f"{stored.outcome}\tPatient/{stored.patient_id}")
    return 0


def _service(settings: Settings, db: Any = None) -> RecordService:
    from gateway.services.records import RecordService, open_profiles

    profiles = open_profiles(settings.profiles_dir)
    return RecordService(
        db, profiles, country=settings.country, max_bytes=settings.record_max_bytes
    )


def _read(path: Path, settings: Settings) -> bytes:
    try:
        size = path.stat().st_size
        if size > settings.record_max_bytes:
            raise BadRequest(
                f"{path}: {size} bytes is over the record limit "
                f"(GATEWAY_RECORD_MAX_BYTES={settings.record_max_bytes})"
            )
        return path.read_bytes()
    except OSError as exc:
        raise BadRequest(f"{path}: {exc.strerror or exc}") from None


def _warn(findings: tuple[Finding, ...]) -> None:
    for finding in findings:
        print(f"warning: {finding}", file=sys.stderr)
