"""Deterministic synthetic demo data: a multi-sample VCF and its sample manifest.

The gateway ships no patient data, so the demo is generated. ``write_demo`` writes
``demo.vcf.gz`` (VCF 4.3, https://samtools.github.io/hts-specs/VCFv4.3.pdf, bgzipped and
tabix-indexed) and ``demo-manifest.tsv`` (DESIGN.md §2, "Sample manifest"). Everything derives
from ``random.Random(seed)`` and a synthetic reference sequence, so the same arguments give
byte-identical files. Variants fall in real GRCh38 gene regions and carry VEP-style ``CSQ``
annotations (https://www.ensembl.org/info/docs/tools/vep/vep_formats.html); the identifiers are
German KVNR with valid check digits but an obviously synthetic shape (``X99…``, ``Y99…``,
``Z99…``).
"""

from __future__ import annotations

import csv
import hashlib
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pysam

from gateway.demo.identifiers import KVNR_SYSTEM, kvnr_check_digit
from gateway.demo.tables import (
    CONTIG_LENGTHS,
    REGIONS,
    SHARES,
    SNV_CONSEQUENCES,
    STRUCTURAL,
    SV_ALLELES,
    SV_CONSEQUENCES,
    Region,
)
from gateway.domain.samples import Identifier, Sex

# The tables and the KVNR check moved to their own modules; re-exported so imports still work.
__all__ = [
    "CONTIG_LENGTHS",
    "CSQ_FORMAT",
    "DEFAULT_SEED",
    "KVNR_SYSTEM",
    "MANIFEST_NAME",
    "REGIONS",
    "VCF_NAME",
    "DemoFiles",
    "Region",
    "kvnr_check_digit",
    "write_demo",
]

VCF_NAME = "demo.vcf.gz"
MANIFEST_NAME = "demo-manifest.tsv"
DEFAULT_SEED = 20261128
CSQ_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|ALLELE_NUM"

_CONTIG_ORDER = {name: index for index, name in enumerate(CONTIG_LENGTHS)}
_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT")


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """Where ``write_demo`` put the VCF (with its ``.tbi`` beside it) and the manifest."""

    vcf: Path
    manifest: Path


@dataclass(frozen=True, slots=True)
class _Sample:
    sample_id: str
    individual_id: str
    sex: Sex
    identifier: Identifier | None


@dataclass(frozen=True, slots=True)
class _Site:
    region: Region
    pos: int
    kind: str


def write_demo(
    out_dir: Path, *, seed: int = DEFAULT_SEED, individuals: int = 40, records: int = 3000
) -> DemoFiles:
    """Write ``demo.vcf.gz`` (+ ``.tbi``) and ``demo-manifest.tsv`` into ``out_dir``.

    :raises ValueError: ``individuals`` or ``records`` is out of range.
    """
    if not 1 <= individuals <= 9999 or not 1 <= records <= 1_000_000:
        raise ValueError("individuals must be 1..9999 and records 1..1000000")
    rng = random.Random(seed)
    samples = _samples(rng, individuals)
    sites = _sites(rng, _plan_kinds(rng, records))
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / MANIFEST_NAME
    _write_manifest(manifest, samples)
    vcf = out_dir / VCF_NAME
    with tempfile.TemporaryDirectory() as scratch:
        plain = Path(scratch) / "demo.vcf"
        with plain.open("w", encoding="ascii", newline="\n") as out:
            out.writelines(f"{line}\n" for line in _header(seed, samples, sites))
            for site in sites:
                out.write(_record_line(rng, seed, site, samples) + "\n")
        # BGZF blocks carry no timestamp, so compressing the same text gives the same bytes.
        pysam.tabix_compress(str(plain), str(vcf), force=True)
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    return DemoFiles(vcf=vcf, manifest=manifest)


def _samples(rng: random.Random, individuals: int) -> list[_Sample]:
    unlinked = set(rng.sample(range(individuals), k=individuals // 12))
    unknown = rng.randrange(individuals)
    numbers = rng.sample(range(1_000_000), k=individuals)
    samples = []
    for index in range(individuals):
        female = (index % 2 == 0) != (rng.random() < 0.15)
        sex = Sex.UNKNOWN if index == unknown else Sex.FEMALE if female else Sex.MALE
        # X99/Y99/Z99 prefixes mark the numbers as synthetic; the check digit is still valid.
        body = f"{'XYZ'[index % 3]}99{numbers[index]:06d}"
        identifier = Identifier(KVNR_SYSTEM, body + kvnr_check_digit(body))
        samples.append(
            _Sample(
                f"DEMO{index + 1:04d}",
                f"DE-IND-{index + 1:04d}",
                sex,
                None if index in unlinked else identifier,
            )
        )
    return samples


def _plan_kinds(rng: random.Random, records: int) -> list[str]:
    kinds: list[str] = []
    for kind, share in SHARES:
        count = max(1, round(records * share))
        if kind == "structural":
            kinds += [STRUCTURAL[index % len(STRUCTURAL)] for index in range(count)]
        else:
            kinds += [kind] * count
    kinds = kinds[:records] + ["snv"] * max(0, records - len(kinds))
    rng.shuffle(kinds)
    return kinds


def _sites(rng: random.Random, kinds: list[str]) -> list[_Site]:
    weights = [region.weight for region in REGIONS]
    used: set[tuple[str, int]] = set()
    sites = []
    for kind in kinds:
        region = rng.choices(REGIONS, weights)[0]
        pos = rng.randint(region.start, region.end - 20)
        while (region.contig, pos) in used:
            pos = rng.randint(region.start, region.end - 20)
        used.add((region.contig, pos))
        sites.append(_Site(region, pos, kind))
    sites.sort(key=lambda site: (_CONTIG_ORDER[site.region.contig], site.pos))
    return sites


def _header(seed: int, samples: list[_Sample], sites: list[_Site]) -> list[str]:
    contigs = sorted({site.region.contig for site in sites}, key=_CONTIG_ORDER.__getitem__)
    return [
        "##fileformat=VCFv4.3",
        f"##source=eu-health-gateway synthetic demo data (seed {seed}); not real people",
        "##reference=GRCh38",
        *(
            f"##contig=<ID={name},length={CONTIG_LENGTHS[name]},assembly=GRCh38>"
            for name in contigs
        ),
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##ALT=<ID=DEL,Description="Deletion relative to the reference">',
        '##ALT=<ID=DUP,Description="Region of elevated copy number relative to the reference">',
        '##ALT=<ID=INV,Description="Inversion of reference sequence">',
        '##ALT=<ID=INS,Description="Insertion of novel sequence relative to the reference">',
        '##ALT=<ID=CNV,Description="Copy number variable region">',
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count in genotypes">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Total number of alleles in called '
        'genotypes">',
        '##INFO=<ID=END,Number=1,Type=Integer,Description="End position of the longest variant '
        'described in this record">',
        '##INFO=<ID=SVLEN,Number=.,Type=Integer,Description="Difference in length between REF '
        'and ALT alleles">',
        '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl '
        f'VEP. Format: {CSQ_FORMAT}">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join((*_COLUMNS, *(sample.sample_id for sample in samples))),
    ]


def _record_line(rng: random.Random, seed: int, site: _Site, samples: list[_Sample]) -> str:
    ref, alts = _alleles(rng, seed, site)
    calls = _calls(rng, site, samples, len(alts))
    info = [
        f"AC={','.join(str(_allele_count(calls, n)) for n in range(1, len(alts) + 1))}",
        f"AN={sum(len(call) for call in calls if call is not None)}",
    ]
    if site.kind in STRUCTURAL:
        info += _structural_info(rng, site)
    if site.region.symbol:
        info.append("CSQ=" + _csq(rng, site, ref, alts))
    phased = rng.random() < 0.7
    genotypes = [
        _format_call(call, phased, _ploidy(site, sample))
        for call, sample in zip(calls, samples, strict=True)
    ]
    fixed = f"{site.region.contig}\t{site.pos}\t.\t{ref}\t{','.join(alts)}\t.\tPASS"
    return f"{fixed}\t{';'.join(info)}\tGT\t" + "\t".join(genotypes)


def _alleles(rng: random.Random, seed: int, site: _Site) -> tuple[str, tuple[str, ...]]:
    def ref(length: int) -> str:
        return _reference(seed, site.region.contig, site.pos, length)

    if site.kind in STRUCTURAL:
        return ref(1), (f"<{site.kind}>",)
    if site.kind == "mnp":
        bases = ref(rng.randint(2, 3))
        return bases, ("".join(_other_base(rng, base) for base in bases),)
    if site.kind == "del":
        bases = ref(_indel_length(rng) + 1)
        return bases, (bases[0],)
    if site.kind == "ins":
        return ref(1), (ref(1) + "".join(rng.choices("ACGT", k=_indel_length(rng))),)
    if site.kind == "multi" and rng.random() < 0.3:
        # A short tandem repeat style site: two deletions and one expansion.
        bases = ref(3)
        return bases, (bases[0], bases[0] + bases[2], bases + bases[1:])
    base = ref(1)
    others = [other for other in "ACGT" if other != base]
    if site.kind == "multi":
        return base, tuple(rng.sample(others, k=rng.randint(2, 3)))
    return base, (rng.choice(others),)


def _reference(seed: int, contig: str, pos: int, length: int) -> str:
    """A synthetic reference: each base is a pure function of (seed, contig, position), so
    overlapping records agree on their REF bases without a FASTA."""
    return "".join(
        "ACGT"[hashlib.blake2b(f"{seed}:{contig}:{p}".encode(), digest_size=1).digest()[0] & 3]
        for p in range(pos, pos + length)
    )


def _other_base(rng: random.Random, base: str) -> str:
    return rng.choice([other for other in "ACGT" if other != base])


def _indel_length(rng: random.Random) -> int:
    return rng.choice((1, 1, 1, 1, 2, 2, 3, 4, 6, 9, 15))


def _calls(
    rng: random.Random, site: _Site, samples: list[_Sample], alt_count: int
) -> list[list[int] | None]:
    """Alleles per sample (None when missing) with a rare-heavy frequency spectrum; every ALT
    gets at least one carrier, as in a VCF called from these samples."""
    frequencies = [_allele_frequency(rng) / alt_count for _ in range(alt_count)]
    missing = rng.choice((0.0, 0.0, 0.01, 0.03))
    calls: list[list[int] | None] = [
        None
        if rng.random() < missing
        else [_draw_allele(rng, frequencies) for _ in range(_ploidy(site, sample))]
        for sample in samples
    ]
    if all(call is None for call in calls):
        calls[0] = [0] * _ploidy(site, samples[0])
    called = [call for call in calls if call is not None]
    for allele in range(1, alt_count + 1):
        if _allele_count(calls, allele) == 0:
            reference_only = [call for call in called if not any(call)] or called
            rng.choice(reference_only)[-1] = allele
    return calls


def _ploidy(site: _Site, sample: _Sample) -> int:
    return 1 if site.region.contig == "chrX" and sample.sex is Sex.MALE else 2


def _allele_frequency(rng: random.Random) -> float:
    band = rng.random()
    if band < 0.6:
        return rng.uniform(0.002, 0.02)
    if band < 0.85:
        return rng.uniform(0.02, 0.1)
    return rng.uniform(0.1, 0.6)


def _draw_allele(rng: random.Random, frequencies: list[float]) -> int:
    draw = rng.random()
    for allele, frequency in enumerate(frequencies, start=1):
        if draw < frequency:
            return allele
        draw -= frequency
    return 0


def _allele_count(calls: list[list[int] | None], allele: int) -> int:
    return sum(call.count(allele) for call in calls if call is not None)


def _format_call(call: list[int] | None, phased: bool, ploidy: int) -> str:
    if call is None:
        return "./." if ploidy == 2 else "."
    if len(call) == 1:
        return str(call[0])
    if phased:
        return f"{call[0]}|{call[1]}"
    return "/".join(str(allele) for allele in sorted(call))


def _structural_info(rng: random.Random, site: _Site) -> list[str]:
    length = int(10 ** rng.uniform(1.7, 4.5))
    # VCF 4.3: END is the last reference base covered; an insertion covers only its POS.
    end = min(site.pos + length, CONTIG_LENGTHS[site.region.contig])
    if site.kind == "INS":
        end = site.pos
    svlen = -length if site.kind == "DEL" else length
    return [f"END={end}", f"SVLEN={svlen}", f"SVTYPE={site.kind}"]


def _csq(rng: random.Random, site: _Site, ref: str, alts: tuple[str, ...]) -> str:
    region = site.region
    # VEP drops the padding base when every allele shares it; a deletion becomes "-".
    trim = all(not alt.startswith("<") and alt[0] == ref[0] for alt in alts)
    entries = []
    for number, alt in enumerate(alts, start=1):
        consequence, impact = _consequence(rng, site.kind, ref, alt)
        allele = SV_ALLELES[site.kind] if site.kind in STRUCTURAL else alt
        if trim:
            allele = alt[1:] or "-"
        entries.append(
            f"{allele}|{consequence}|{impact}|{region.symbol}|{region.gene_id}|"
            f"Transcript|{region.transcript}|protein_coding|{number}"
        )
    return ",".join(entries)


def _consequence(rng: random.Random, kind: str, ref: str, alt: str) -> tuple[str, str]:
    if kind in STRUCTURAL:
        return SV_CONSEQUENCES[kind]
    if len(ref) == len(alt):
        options = SNV_CONSEQUENCES if len(ref) == 1 else SNV_CONSEQUENCES[:3]
        consequence, impact, _ = rng.choices(options, [weight for *_, weight in options])[0]
        return consequence, impact
    if rng.random() < 0.6:
        return "intron_variant", "MODIFIER"
    if (len(alt) - len(ref)) % 3:
        return "frameshift_variant", "HIGH"
    return ("inframe_insertion" if len(alt) > len(ref) else "inframe_deletion"), "MODERATE"


def _write_manifest(path: Path, samples: list[_Sample]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["sample_id", "individual_id", "sex", "identifier"])
        for sample in samples:
            identifier = "" if sample.identifier is None else str(sample.identifier)
            writer.writerow([sample.sample_id, sample.individual_id, sample.sex.value, identifier])
