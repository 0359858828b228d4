"""Reference assemblies and chromosome names.

Chromosomes are stored under one canonical name per assembly (``1``..``22``, ``X``, ``Y``,
``MT``) so that ``chr1``, ``1`` and ``NC_000001.11`` are the same chromosome on GRCh38 and a
query for ``1`` never matches ``19``. Other contigs (alts, decoys, unplaced) keep their name.
RefSeq accessions: NCBI assembly reports GCF_000001405.40 (GRCh38.p14) and
GCF_000001405.25 (GRCh37.p13).
"""

from __future__ import annotations

import re

from gateway.errors import BadRequest

GRCH38 = "GRCh38"
GRCH37 = "GRCh37"
ASSEMBLIES = (GRCH38, GRCH37)

_ASSEMBLY_ALIASES = {
    "grch38": GRCH38,
    "hg38": GRCH38,
    "gca_000001405.15": GRCH38,
    "gcf_000001405.26": GRCH38,
    "gcf_000001405.39": GRCH38,
    "gcf_000001405.40": GRCH38,
    "grch37": GRCH37,
    "hg19": GRCH37,
    "b37": GRCH37,
    "hs37d5": GRCH37,
    "gca_000001405.1": GRCH37,
    "gcf_000001405.13": GRCH37,
    "gcf_000001405.25": GRCH37,
}

_NUMBERED = [str(n) for n in range(1, 23)]
CANONICAL_CHROMOSOMES = (*_NUMBERED, "X", "Y", "MT")

# NC_0000NN.V accession versions per assembly (chromosomes 1..22, X=23, Y=24).
_REFSEQ_VERSIONS = {
    GRCH38: [
        11,
        12,
        12,
        12,
        10,
        12,
        14,
        11,
        12,
        11,
        10,
        12,
        11,
        9,
        10,
        10,
        11,
        10,
        10,
        11,
        9,
        11,
        11,
        10,
    ],
    GRCH37: [10, 11, 11, 11, 9, 11, 13, 10, 11, 10, 9, 11, 10, 8, 9, 9, 10, 9, 9, 10, 8, 10, 10, 9],
}
_MITOCHONDRION = {GRCH38: "NC_012920.1", GRCH37: "NC_012920.1"}
_REFSEQ_PATTERN = re.compile(r"^(?:refseq:)?(NC_\d{6}\.\d+)$", re.IGNORECASE)


def normalize_assembly(name: str) -> str:
    """Map an assembly name or accession (``hg38``, ``GRCh38.p13``, ``GCF_000001405.40``) to
    ``GRCh38`` or ``GRCh37``.

    :raises BadRequest: the assembly is not one the gateway knows.
    """
    key = name.strip().lower()
    if key in _ASSEMBLY_ALIASES:
        return _ASSEMBLY_ALIASES[key]
    base = key.split(".p", 1)[0]
    if base in _ASSEMBLY_ALIASES and base.startswith("grch"):
        return _ASSEMBLY_ALIASES[base]
    raise BadRequest(f"unknown assembly {name!r}: use GRCh38 or GRCh37")


def refseq_accession(chromosome: str, assembly: str) -> str | None:
    """The RefSeq accession of a canonical chromosome, or None for other contigs."""
    if chromosome == "MT":
        return _MITOCHONDRION[assembly]
    number = {"X": 23, "Y": 24}.get(chromosome) or (
        int(chromosome) if chromosome in _NUMBERED else 0
    )
    if not number:
        return None
    return f"NC_{number:06d}.{_REFSEQ_VERSIONS[assembly][number - 1]}"


def canonical_chromosome(name: str, assembly: str) -> str:
    """The stored name of a chromosome: ``chr1``/``1``/``NC_000001.11`` → ``1``,
    ``chrM``/``M``/``MT`` → ``MT``. Unknown contigs are returned unchanged.

    :raises BadRequest: a RefSeq accession whose version belongs to another assembly.
    """
    text = name.strip()
    refseq = _REFSEQ_PATTERN.match(text)
    if refseq:
        return _chromosome_of_refseq(refseq.group(1), assembly)
    lowered = text.lower()
    if lowered.startswith("chr"):
        lowered = lowered[3:]
    if lowered in ("m", "mt"):
        return "MT"
    if lowered in ("x", "y"):
        return lowered.upper()
    if lowered.isdigit() and str(int(lowered)) in _NUMBERED:
        return str(int(lowered))
    return text


def _chromosome_of_refseq(accession: str, assembly: str) -> str:
    for chromosome in CANONICAL_CHROMOSOMES:
        if refseq_accession(chromosome, assembly) == accession.upper():
            return chromosome
    raise BadRequest(f"sequence {accession} is not a chromosome of {assembly}")
