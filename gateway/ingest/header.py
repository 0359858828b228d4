"""The VCF header: which assembly it names and which annotation fields it declares."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pysam

from gateway.domain.assemblies import GRCH37, GRCH38, canonical_chromosome, normalize_assembly
from gateway.errors import BadRequest, IngestError
from gateway.ingest.annotations import ANNOTATION_KEYS, AnnotationLayout, layout_from_description


def annotation_layouts(header: pysam.VariantHeader) -> tuple[AnnotationLayout, ...]:
    layouts = []
    for key in ANNOTATION_KEYS:
        if key in header.info:
            layout = layout_from_description(key, str(header.info[key].description or ""))
            if layout is not None:
                layouts.append(layout)
    return tuple(layouts)


# --- assembly detection -----------------------------------------------------------------

# Chromosome lengths of the primary assembly units (NCBI GRC assembly reports), 1..22, X, Y.
_LENGTHS = {
    GRCH38: (
        248956422,
        242193529,
        198295559,
        190214555,
        181538259,
        170805979,
        159345973,
        145138636,
        138394717,
        133797422,
        135086622,
        133275309,
        114364328,
        107043718,
        101991189,
        90338345,
        83257441,
        80373285,
        58617616,
        64444167,
        46709983,
        50818468,
        156040895,
        57227415,
    ),
    GRCH37: (
        249250621,
        243199373,
        198022430,
        191154276,
        180915260,
        171115067,
        159138663,
        146364022,
        141213431,
        135534747,
        135006516,
        133851895,
        115169878,
        107349540,
        102531392,
        90354753,
        81195210,
        78077248,
        59128983,
        63025520,
        48129895,
        51304566,
        155270560,
        59373566,
    ),
}
_CHROMOSOMES = (*(str(n) for n in range(1, 23)), "X", "Y")
_ASSEMBLY_OF_LENGTH = {
    (chromosome, length): assembly
    for assembly, lengths in _LENGTHS.items()
    for chromosome, length in zip(_CHROMOSOMES, lengths, strict=True)
} | {("MT", 16571): GRCH37}  # hg19's chrM (NC_001807); rCRS (16569) is in both

_ASSEMBLY_NAMES = re.compile(
    r"(?<![a-z0-9])(grch3[78]|hg19|hg38|b37|hs37d5|g1k_v37|assembly19|assembly38"
    r"|gc[af]_000001405\.\d+)(?![a-z0-9])"
)
_NAME_ALIASES = {"g1k_v37": GRCH37, "assembly19": GRCH37, "assembly38": GRCH38}


def resolve_assembly(path: Path, header: pysam.VariantHeader, given: str | None) -> str:
    if given is not None:
        try:
            return normalize_assembly(given)
        except BadRequest as exc:
            raise IngestError(f"{path}: {exc.message}") from exc
    detected = detect_assembly(header)
    if detected is None:
        raise IngestError(
            f"cannot tell the assembly of {path} from its header; pass --assembly GRCh38 or GRCh37"
        )
    return detected


def detect_assembly(header: pysam.VariantHeader) -> str | None:
    """The assembly a ``pysam.VariantHeader`` names, or None when it does not say.

    Trusted in this order: ``##assembly=`` and ``##contig=<...,assembly=...>``, then contig
    lengths of the primary chromosomes, then assembly names in ``##reference=``.
    """
    declared: set[str] = set()
    references: set[str] = set()
    for record in header.records:
        if record.key == "assembly":
            declared |= _names_in(str(record.value))
        elif record.key == "reference":
            references |= _names_in(str(record.value))
    lengths: set[str] = set()
    for contig in header.contigs.values():
        declared |= _names_in(str(contig.header_record.get("assembly") or ""))
        lengths |= _assembly_of_contig(str(contig.name), contig.length)
    for candidates in (declared, lengths, references):
        if len(candidates) == 1:
            return candidates.pop()
    return None


def _names_in(text: str) -> set[str]:
    found = set()
    for name in _ASSEMBLY_NAMES.findall(text.lower()):
        if name in _NAME_ALIASES:
            found.add(_NAME_ALIASES[name])
            continue
        with contextlib.suppress(BadRequest):
            found.add(normalize_assembly(name))
    return found


def _assembly_of_contig(name: str, length: int | None) -> set[str]:
    if not length:
        return set()
    try:
        chromosome = canonical_chromosome(name, GRCH38)
    except BadRequest:  # a GRCh37 RefSeq accession; the lengths check is only a fallback
        return set()
    assembly = _ASSEMBLY_OF_LENGTH.get((chromosome, int(length)))
    return {assembly} if assembly else set()
