"""One sample of a VCF as a FHIR Genomics Reporting Bundle, written as it is read.

The Bundle (type ``collection``, as the Genomics Reporting examples) holds the sample as a
Specimen, one ``variant`` Observation per distinct non-reference allele the sample carries, a
``sequence-phase-relationship`` Observation for each pair of consecutive phased alleles of one
phase set, and last the ``genomic-report`` DiagnosticReport listing them all.

Memory stays flat however large the VCF: entries are serialised (orjson) and written one by one,
and their full URLs are derived from their place in the stream (``uuid5``), so the report's
``result`` list is written at the end by counting, without keeping any URL.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import orjson

from gateway.domain.genomics import SourceClass, TranslationTally
from gateway.errors import IngestError
from gateway.fhir.datatypes import Json
from gateway.fhir.genomics import genomic_report
from gateway.fhir.genomics_stream import ReportObservations
from gateway.ingest.genomic_calls import CallQuery, Region, read_calls, vcf_samples

__all__ = ["VcfTranslation", "choose_sample", "summary_line", "translate_vcf"]

_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, "urn:eu-health-gateway:fhir:genomic-report")
SAMPLE_SYSTEM = "urn:eu-health-gateway:vcf-sample"


@dataclass(frozen=True, slots=True)
class VcfTranslation:
    path: Path
    sample: str | None = None
    regions: tuple[Region, ...] = ()
    assembly: str | None = None
    all_filters: bool = False
    source_class: SourceClass = SourceClass.GERMLINE


def choose_sample(samples: tuple[str, ...], wanted: str | None, path: Path) -> str:
    """The sample to translate: the one asked for, or the file's only one.

    :raises IngestError: no samples, an unknown sample, or several and none chosen.
    """
    if not samples:
        raise IngestError(f"{path}: the VCF has no sample columns (no genotypes to report)")
    if wanted is not None:
        if wanted not in samples:
            raise IngestError(f"{path}: no sample {wanted!r} in the VCF")
        return wanted
    if len(samples) > 1:
        shown = ", ".join(samples[:3]) + (", ..." if len(samples) > 3 else "")
        raise IngestError(
            f"{path}: the VCF has {len(samples)} samples ({shown}); choose one with --sample"
        )
    return samples[0]


def translate_vcf(job: VcfTranslation, out: BinaryIO, *, issued: str) -> TranslationTally:
    """Write the sample's Bundle to ``out``; the tally counts what every record became.

    ``issued`` (a FHIR instant) stamps the report and the Bundle. The resource ids derive from
    the file name, the sample and ``issued``: the same inputs give the same Bundle.

    :raises IngestError: for a file or sample that cannot be read (names file and line).
    """
    sample = choose_sample(vcf_samples(job.path), job.sample, job.path)
    ids = _Ids(uuid.uuid5(_ROOT, f"{job.path.name}/{sample}/{issued}"))
    tally = TranslationTally()
    query = CallQuery(job.path, (sample,), job.regions, job.assembly, job.all_filters)
    # read_calls checks the file, header, assembly and sample before returning: a bad file
    # fails before a byte is written.
    calls = read_calls(query, tally)
    specimen_url = ids.url("specimen")
    specimen = _specimen(ids.id("specimen"), sample)
    bundle = {
        "resourceType": "Bundle",
        "id": ids.id("bundle"),
        "type": "collection",
        "timestamp": issued,
    }
    out.write(orjson.dumps(bundle)[:-1] + b',"entry":[')
    _entry(out, specimen_url, specimen, first=True)
    reference = {"reference": specimen_url}
    observations = ReportObservations(
        job.source_class, lambda n: ids.numbered("observation", n), _urn
    )
    for _, allele in calls:
        for resource_id, resource in observations.add(allele):
            resource["specimen"] = reference  # every finding is about this sample
            _entry(out, _urn(resource_id), resource)
    tally.phase_relations = observations.relations
    report = genomic_report(ids.id("report"), None, (), issued)
    report["specimen"] = [reference]
    head = orjson.dumps(report)[:-1]
    out.write(b',{"fullUrl":"' + ids.url("report").encode() + b'","resource":' + head)
    if observations.count:
        out.write(b',"result":[')
        for n in range(observations.count):
            item = b'{"reference":"' + _urn(ids.numbered("observation", n)).encode() + b'"}'
            out.write(item if n == 0 else b"," + item)
        out.write(b"]")
    out.write(b"}}]}")
    return tally


def _urn(resource_id: str) -> str:
    return f"urn:uuid:{resource_id}"


def _entry(out: BinaryIO, url: str, resource: Json, *, first: bool = False) -> None:
    out.write((b"" if first else b",") + orjson.dumps({"fullUrl": url, "resource": resource}))


def _specimen(resource_id: str, sample: str) -> Json:
    return {
        "resourceType": "Specimen",
        "id": resource_id,
        "identifier": [{"system": SAMPLE_SYSTEM, "value": sample}],
        "type": {"text": "VCF sample"},
    }


@dataclass(frozen=True)
class _Ids:
    """Resource ids of one Bundle. Named ones are ``uuid5`` of the name; numbered ones (a
    variant, a phase relationship) keep a ``uuid5`` of their kind and end in their number, so
    the n-th id costs a string format rather than a SHA-1 (a third of the run time before)."""

    namespace: uuid.UUID

    def id(self, name: str) -> str:
        return str(uuid.uuid5(self.namespace, name))

    def url(self, name: str) -> str:
        return f"urn:uuid:{self.id(name)}"

    def numbered(self, kind: str, number: int) -> str:
        return f"{self._prefix(kind)}{number:012x}"

    @functools.cache  # noqa: B019 - one small _Ids per Bundle, a handful of kinds
    def _prefix(self, kind: str) -> str:
        return self.id(kind)[:24]


def summary_line(tally: TranslationTally, sample: str | None = None) -> str:
    """One line for stderr: what every record and genotype became."""
    who = f" for sample {sample}" if sample else ""
    skipped = [
        (tally.hom_ref, "hom-ref"),
        (tally.no_call, "no-call"),
        (tally.filtered, "filtered (FILTER not PASS/.; --all-filters keeps them)"),
        (tally.outside_region, "outside the region"),
        (tally.skipped_alleles, "'*', '.' or breakend alleles"),
    ]
    parts = ", ".join(f"{n} {what}" for n, what in skipped if n)
    return (
        f"translate vcf{who}: {tally.records} records -> {tally.alleles} variant observations "
        f"({tally.multi_allelic} multi-allelic records, {tally.symbolic} structural), "
        f"{tally.phase_relations} phase relationships; skipped: {parts or 'none'}"
    )
