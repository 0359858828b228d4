"""National records -> IPS documents: the cost of translation over the floor parsing sets.

For each source, the same bytes are

- parsed only, with the library the reader itself uses: lxml (the reader's safe parser
  settings) for the eHDSI CDA Wave-6 sample; python-hl7 for HL7 v2 messages (after the
  CR/LF/CRLF and BOM normalisation python-hl7 needs);
- translated end to end: the format's reader, the profile engine (identifier checks,
  ConceptMaps, unmapped-code warnings), the IPS document builder and orjson serialisation, as
  ``gateway translate record`` does, minus the process start.

Both loops run in turn, ``--repeat`` times, for at least ``--seconds`` each; the best round of
each counts, so drift in the machine's load touches both alike. The ratio is
translated documents/s divided by parsed documents/s (1.0 would mean translation is free).
The stage breakdown (read, engine, build, serialise) comes from one extra timed pass.

    python -m bench.records [--seconds 2] [--repeat 3] [--shared ../shared]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import hl7
import orjson
from lxml import etree

from gateway.fhir.ips import build_document
from gateway.ingest.records import reader_for
from gateway.profiles.engine import apply_profile
from gateway.profiles.loader import ProfileSet, load_profiles

REPO = Path(__file__).resolve().parents[1]
TIMESTAMP = "2026-11-28T10:00:00Z"
DOCUMENT_ID = str(uuid.UUID(int=1))


@dataclass(frozen=True)
class Source:
    label: str
    profile: str
    messages: tuple[bytes, ...]
    parse: Callable[[bytes], object]


def cda_parse(data: bytes) -> object:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(data, parser)


def hl7_parse(data: bytes) -> object:
    # The floor decodes as the message says (the French samples mix UTF-8 and 8859/1).
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("iso-8859-1")
    return hl7.parse(text.replace("\r\n", "\r").replace("\n", "\r"))


def sources(shared: Path) -> list[Source]:
    samples = shared / "conformance" / "national-samples"
    samples_v2 = REPO / "tests" / "ingest" / "records" / "data" / "hl7v2"
    # Every French message the profile accepts (the wrong-key sample is refused by design).
    french = sorted(p for p in samples_v2.glob("fr-*.hl7") if "wrong" not in p.name)
    return [
        Source(
            "eHDSI CDA W6 (13 sections)",
            "generic-ehdsi-cda",
            ((samples / "ehdsi-ps-pivot-L3-W6.xml").read_bytes(),),
            cda_parse,
        ),
        Source(
            "HL7 v2 FR ADT+ORU messages",
            "fr-hl7v2-pam",
            tuple(path.read_bytes() for path in french),
            hl7_parse,
        ),
        Source(
            "HL7 v2 ORU^R01 (shared sample)",
            "generic-hl7v2",
            ((samples / "hl7v2-oru-r01-lab-loinc.hl7").read_bytes(),),
            hl7_parse,
        ),
    ]


def translate(data: bytes, profile_name: str, profiles: ProfileSet) -> bytes:
    profile = profiles.get(profile_name)
    assert profile is not None
    reading = reader_for(profile.format)(data, profile)
    translation = apply_profile(
        reading.record, profile, profiles, default_country="DE", findings=reading.findings
    )
    document = build_document(
        translation.record,
        document_id=DOCUMENT_ID,
        timestamp=TIMESTAMP,
        country=translation.record.patient.country or "DE",
    )
    return orjson.dumps(document)


def rate(work: Callable[[bytes], object], messages: tuple[bytes, ...], seconds: float) -> float:
    """Documents per second over at least ``seconds`` of work, whole rounds of messages."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds or done == 0:
        for message in messages:
            work(message)
        done += len(messages)
    return done / elapsed


def stages(source: Source, profiles: ProfileSet) -> dict[str, float]:
    """Milliseconds per document in each stage, over one pass of 50 documents."""
    profile = profiles.get(source.profile)
    assert profile is not None
    read = reader_for(profile.format)
    spent = dict.fromkeys(("read", "engine", "build", "serialise"), 0.0)
    count = 0
    while count < 50:
        for data in source.messages:
            t0 = time.perf_counter()
            reading = read(data, profile)
            t1 = time.perf_counter()
            done = apply_profile(reading.record, profile, profiles, default_country="DE")
            t2 = time.perf_counter()
            document = build_document(
                done.record, document_id=DOCUMENT_ID, timestamp=TIMESTAMP, country="DE"
            )
            t3 = time.perf_counter()
            orjson.dumps(document)
            t4 = time.perf_counter()
            for name, took in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[name] += took
            count += 1
    return {name: 1000 * total / count for name, total in spent.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        print(f"bench.records: the shared corpus is not at {args.shared}", file=sys.stderr)
        return 1
    profiles = load_profiles(REPO / "profiles")
    heading = f"{'source':34} {'docs':>5} {'parse/s':>9} {'translate/s':>12} {'ratio':>6}"
    print(f"{heading}  stages ms/doc")
    for source in sources(args.shared):
        if not source.messages:
            print(f"{source.label:34} no messages found", file=sys.stderr)
            return 1

        def translated(data: bytes, name: str = source.profile) -> bytes:
            return translate(data, name, profiles)

        parsed, done = 0.0, 0.0
        for _ in range(args.repeat):
            parsed = max(parsed, rate(source.parse, source.messages, args.seconds))
            done = max(done, rate(translated, source.messages, args.seconds))
        split = "  ".join(f"{k} {v:.2f}" for k, v in stages(source, profiles).items())
        print(
            f"{source.label:34} {len(source.messages):>5} {parsed:>9.0f} {done:>12.0f} "
            f"{done / parsed:>6.3f}  {split}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
