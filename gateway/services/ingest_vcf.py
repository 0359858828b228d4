"""Use case: ingest a VCF into a dataset of the variant store.

One database transaction per file: a failure or a kill at any point leaves the dataset as it
was. Decoding (pysam, numpy) runs in a worker thread, overlapped with the database writes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.domain.carriers import as_int
from gateway.domain.datasets import DATASET_NAME, Dataset, DatasetPolicy, PolicyChange
from gateway.domain.granularity import ConsentBasis
from gateway.domain.samples import SampleLink, Sex
from gateway.errors import IngestError
from gateway.ingest.manifest import read_manifest
from gateway.ingest.vcf import VariantCalls, VcfFile, file_digest
from gateway.services.genomic_reports import store_genomic_reports
from gateway.storage.database import Database
from gateway.storage.datasets import DatasetRepository
from gateway.storage.samples import SampleRepository
from gateway.storage.variants import StoredAllele, VariantRepository

BATCH = 2000
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class VcfIngest:
    path: Path
    dataset: str
    assembly: str | None = None
    manifest: Path | None = None
    replace: bool = False
    all_filters: bool = False
    policy: PolicyChange = field(default_factory=PolicyChange)


@dataclass(frozen=True, slots=True)
class IngestReport:
    dataset: str
    sha256: str
    variants: int
    samples: int
    already_ingested: bool
    seconds: float
    policy_changed: bool = False


async def ingest_vcf(
    database: Database, job: VcfIngest, progress: Progress | None = None
) -> IngestReport:
    """Translate a VCF into stored variants and carrier sets.

    :raises IngestError: the file, the manifest or the dataset name is not acceptable.
    """
    started = time.perf_counter()
    _check_name(job.dataset)
    digest = await asyncio.to_thread(file_digest, job.path)
    manifest = await asyncio.to_thread(read_manifest, job.manifest) if job.manifest else None
    samples, assembly = await asyncio.to_thread(_header, job.path, job.assembly)
    links = _links_for(samples, manifest, job.manifest)
    async with database.write() as connection:
        repo = DatasetRepository(connection)
        await repo.lock_name(job.dataset)
        existing = await repo.by_name(job.dataset)
        if existing and not job.replace and await repo.has_file(existing, digest):
            changed = await _change_policy(repo, existing, job.policy)
            return IngestReport(
                existing.name,
                digest,
                0,
                len(samples),
                True,
                time.perf_counter() - started,
                policy_changed=changed,
            )
        dataset = await _dataset_for(repo, existing, job, assembly, links)
        if job.replace:
            await repo.clear(dataset)
        positions = await SampleRepository(connection).add(
            dataset.id, links, update_individuals=manifest is not None
        )
        file_id = await repo.add_file(dataset, digest, job.path.name, len(samples))
        count = await _load_variants(
            connection, job, dataset, file_id, [positions[s] for s in samples], progress
        )
        await repo.finish_file(file_id, count)
        # Citizens' genomic reports, in the same transaction: all or nothing.
        await store_genomic_reports(
            connection,
            job.path,
            file_id,
            digest,
            links,
            dataset.assembly,
            all_filters=job.all_filters,
        )
    return IngestReport(
        dataset.name, digest, count, len(samples), False, time.perf_counter() - started
    )


def _check_name(name: str) -> None:
    if not DATASET_NAME.match(name):
        raise IngestError(
            f"dataset name {name!r} is not valid: use letters, digits, '.', '_' or '-'"
        )


def _header(path: Path, assembly: str | None) -> tuple[tuple[str, ...], str]:
    with VcfFile(path, assembly=assembly) as vcf:
        return vcf.samples, vcf.assembly


def _links_for(
    samples: Sequence[str], manifest: list[SampleLink] | None, manifest_path: Path | None
) -> list[SampleLink]:
    if manifest is None:
        # Without a manifest each sample is its own individual of unknown sex, unlinked.
        return [SampleLink(s, s, Sex.UNKNOWN, None) for s in samples]
    by_sample = {link.sample_id: link for link in manifest}
    missing = [s for s in samples if s not in by_sample]
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise IngestError(
            f"{manifest_path}: sample {missing[0]!r}{more} of the VCF is not in the manifest"
        )
    _check_individuals(manifest, manifest_path)
    return [by_sample[s] for s in samples]


def _check_individuals(manifest: Sequence[SampleLink], path: Path | None) -> None:
    """Samples of one individual must agree on who that individual is."""
    first: dict[str, SampleLink] = {}
    for link in manifest:
        seen = first.setdefault(link.individual_id, link)
        if (seen.sex, seen.identifier) != (link.sex, link.identifier):
            raise IngestError(
                f"{path}: samples {seen.sample_id!r} and {link.sample_id!r} belong to "
                f"individual {link.individual_id!r} but disagree on sex or identifier"
            )


async def _dataset_for(
    repo: DatasetRepository,
    existing: Dataset | None,
    job: VcfIngest,
    assembly: str,
    links: Sequence[SampleLink],
) -> Dataset:
    linked = any(link.identifier for link in links)
    if existing is None:
        default = DatasetPolicy(consent_basis=ConsentBasis.CITIZEN if linked else ConsentBasis.OPEN)
        return await repo.create(job.dataset, assembly, job.policy.apply(default))
    if existing.assembly != assembly:
        if not job.replace:
            raise IngestError(
                f"dataset {job.dataset!r} holds {existing.assembly} variants; "
                f"this file is {assembly} (use --replace to replace them)"
            )
        existing = await repo.set_assembly(existing, assembly)
    await _change_policy(repo, existing, job.policy)
    dataset = await repo.by_id(existing.id)
    assert dataset is not None
    if (
        linked
        and dataset.policy.consent_basis is ConsentBasis.OPEN
        and (job.policy.consent_basis is not ConsentBasis.OPEN)
    ):
        raise IngestError(
            f"dataset {job.dataset!r} has consent basis 'open' (every sample counts whatever "
            "its citizen decides) but the manifest links samples to citizens: pass "
            "--consent-basis citizen, or --consent-basis open to confirm"
        )
    return dataset


async def _change_policy(repo: DatasetRepository, dataset: Dataset, change: PolicyChange) -> bool:
    if change.empty or change.apply(dataset.policy) == dataset.policy:
        return False
    await repo.set_policy(dataset, change.apply(dataset.policy))
    return True


async def _load_variants(
    connection: AsyncConnection,
    job: VcfIngest,
    dataset: Dataset,
    file_id: int,
    positions: list[int],
    progress: Progress | None,
) -> int:
    variants = VariantRepository(connection)
    vcf = await asyncio.to_thread(
        VcfFile,
        job.path,
        assembly=dataset.assembly,  # the file's own, checked or adopted by _dataset_for
        sample_positions=positions,
        all_filters=job.all_filters,
    )
    sites_only = not positions
    stored = 0
    calls = iter(vcf)
    pending = asyncio.create_task(asyncio.to_thread(_next_batch, vcf, calls, sites_only))
    try:
        while (batch := await pending) is not None:
            pending = asyncio.create_task(asyncio.to_thread(_next_batch, vcf, calls, sites_only))
            await variants.add(dataset.id, file_id, batch.alleles)
            stored += len(batch.alleles)
            if progress:
                progress(*batch.progress)
    finally:
        # The reader thread may still be decoding: let it finish before htslib closes the file.
        await asyncio.gather(pending, return_exceptions=True)
        vcf.close()
    return stored


@dataclass(frozen=True, slots=True)
class _Batch:
    alleles: list[StoredAllele]
    progress: tuple[int, int]


def _next_batch(vcf: VcfFile, calls: Iterator[VariantCalls], sites_only: bool) -> _Batch | None:
    """The next alleles worth storing, or None at the end of the file. Runs in the reader
    thread, which is also the only thread that touches the htslib handle (for progress too).
    """
    chunk = list(islice(calls, BATCH))
    if not chunk:
        return None
    alleles = []
    for call in chunk:
        carried = as_int(call.carriers).bit_count()
        if carried or sites_only:
            alleles.append(StoredAllele(call.variant, call.carriers, call.homozygous, carried))
    return _Batch(alleles, vcf.progress())
