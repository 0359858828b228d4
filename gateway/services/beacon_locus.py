"""Beacon variant parameters → a storage-level ``Locus`` (pure)."""

from __future__ import annotations

import re
from dataclasses import replace

from gateway.beacon.requests import VariantQuery
from gateway.domain.assemblies import ASSEMBLIES, canonical_chromosome, normalize_assembly
from gateway.errors import BadBeaconQuery, BadRequest
from gateway.storage.variants import Locus

_GENOMIC_HGVS = re.compile(r"^(NC_\d{6}\.\d+):g\.(\d+)([ACGT])>([ACGT])$")


def locus_for(query: VariantQuery, variant_id: str | None, dataset_names: tuple[str, ...]) -> Locus:
    """The look-up a Beacon query asks for.

    :raises BadBeaconQuery: the query names an unknown assembly or sequence, or a query type
        this beacon does not answer.
    """
    names = dataset_names or None
    base = Locus(variant_id=variant_id, dataset_names=names)
    if query.kind == "none":
        return base
    if query.kind == "aminoacid":
        raise BadBeaconQuery("aminoacidChange queries are not supported by this beacon")
    if query.kind == "hgvs":
        return _hgvs_locus(query, base)
    assemblies, chromosome = _reference(query.reference_name, query.assembly_id)
    common = Locus(
        assemblies=assemblies,
        chromosome=chromosome,
        types=query.variant_types,
        min_length=query.min_length,
        max_length=query.max_length,
        alternate=query.alternate_bases,
        reference=query.reference_bases,
        variant_id=variant_id,
        dataset_names=names,
    )
    if query.gene_id is not None and query.kind != "gene":
        # A gene given together with coordinates narrows them (both must hold).
        common = _replace(common, gene=query.gene_id)
    if query.kind == "sequence":
        return _sequence(common, query.start[0], query.reference_bases, query.alternate_bases)
    if query.kind == "range":
        return _replace(common, overlap=(query.start[0], query.end[0]))
    if query.kind == "bracket":
        return _replace(
            common,
            start_between=(query.start[0], query.start[1]),
            end_between=(query.end[0], query.end[1]),
        )
    return _replace(common, gene=query.gene_id)


def _sequence(locus: Locus, start: int, reference: str | None, alternate: str | None) -> Locus:
    """A sequence query. Beacon writes indels trimmed (an empty allele: ``T`` → ``""`` is a
    deletion of T at ``start``); the store keeps VCF alleles, which carry the base before
    the event (``AT`` → ``A`` one position earlier), so trimmed queries look there."""
    reference, alternate = _untrimmed(reference), _untrimmed(alternate)
    if reference == "" and alternate == "":
        raise BadBeaconQuery("referenceBases and alternateBases cannot both be empty")
    if alternate == "":
        return _replace(
            locus, start=start - 1, reference=None, alternate=None, deletion_of=reference or ""
        )
    if reference == "":
        return _replace(
            locus, start=start - 1, reference=None, alternate=None, insertion_of=alternate
        )
    return _replace(locus, start=start, reference=reference, alternate=alternate)


def _untrimmed(bases: str | None) -> str | None:
    # "-" and "." are the spec's spellings of an empty allele.
    return "" if bases in ("-", ".") else bases


def _replace(locus: Locus, **changes: object) -> Locus:
    return replace(locus, **changes)  # type: ignore[arg-type]


def _hgvs_locus(query: VariantQuery, base: Locus) -> Locus:
    match = _GENOMIC_HGVS.match(query.genomic_allele_short_form or "")
    if not match:
        raise BadBeaconQuery(
            "genomicAlleleShortForm: only genomic substitutions such as "
            "NC_000017.11:g.43045711G>A are supported"
        )
    accession, position, reference, alternate = match.groups()
    assemblies, chromosome = _reference(accession, query.assembly_id)
    return _replace(
        base,
        assemblies=assemblies,
        chromosome=chromosome,
        start=int(position) - 1,
        reference=reference,
        alternate=alternate,
    )


def _reference(
    name: str | None, assembly_id: str | None
) -> tuple[tuple[str, ...] | None, str | None]:
    """Resolve ``referenceName`` (+ ``assemblyId``) to the assemblies and the stored name."""
    try:
        assemblies = (normalize_assembly(assembly_id),) if assembly_id else ASSEMBLIES
    except BadRequest as exc:
        raise BadBeaconQuery(exc.message) from exc
    if name is None:
        return (assemblies if assembly_id else None), None
    found: dict[str, list[str]] = {}
    for assembly in assemblies:
        try:
            found.setdefault(canonical_chromosome(name, assembly), []).append(assembly)
        except BadRequest:
            continue
    if not found:
        raise BadBeaconQuery(
            f"referenceName {name!r} is not a sequence of {' or '.join(assemblies)}"
        )
    chromosome, matching = next(iter(found.items()))
    restricted = assembly_id is not None or len(matching) < len(ASSEMBLIES)
    return (tuple(matching) if restricted else None), chromosome
