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
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pysam

from gateway.domain.samples import Identifier, Sex

KVNR_SYSTEM = "http://fhir.de/sid/gkv/kvid-10"
VCF_NAME = "demo.vcf.gz"
MANIFEST_NAME = "demo-manifest.tsv"
DEFAULT_SEED = 20261128
CSQ_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|ALLELE_NUM"

# GRCh38 primary assembly (GCF_000001405.40) lengths of the contigs the demo may use, in order.
CONTIG_LENGTHS: dict[str, int] = {
    "chr1": 248_956_422,
    "chr2": 242_193_529,
    "chr3": 198_295_559,
    "chr7": 159_345_973,
    "chr11": 135_086_622,
    "chr13": 114_364_328,
    "chr17": 83_257_441,
    "chr19": 58_617_616,
    "chr22": 50_818_468,
    "chrX": 156_040_895,
}
_CONTIG_ORDER = {name: index for index, name in enumerate(CONTIG_LENGTHS)}


@dataclass(frozen=True, slots=True)
class DemoFiles:
    """Where ``write_demo`` put the VCF (with its ``.tbi`` beside it) and the manifest."""

    vcf: Path
    manifest: Path


@dataclass(frozen=True, slots=True)
class Region:
    """A GRCh38 stretch (1-based, inclusive) that receives variants; intergenic without gene."""

    contig: str
    start: int
    end: int
    weight: float
    symbol: str = ""
    gene_id: str = ""
    transcript: str = ""


def _gene(symbol: str, gene_id: str, transcript: str, locus: str, weight: float = 1.0) -> Region:
    contig, span = locus.split(":")
    start, end = span.split("-")
    return Region(contig, int(start), int(end), weight, symbol, gene_id, transcript)


# Ensembl GRCh38 gene spans and canonical transcripts; approximate is fine for synthetic data.
# chrX genes lie outside the pseudo-autosomal regions, so male samples are haploid there.
REGIONS: tuple[Region, ...] = (
    _gene("MTHFR", "ENSG00000177000", "ENST00000376590", "chr1:11785723-11806455"),
    _gene("MSH2", "ENSG00000095002", "ENST00000233146", "chr2:47403067-47634501"),
    _gene("MLH1", "ENSG00000076242", "ENST00000231790", "chr3:36993332-37050918"),
    _gene("CFTR", "ENSG00000001626", "ENST00000003084", "chr7:117480025-117668665"),
    _gene("BRAF", "ENSG00000157764", "ENST00000646891", "chr7:140719327-140924929"),
    _gene("HBB", "ENSG00000244734", "ENST00000335295", "chr11:5225464-5229395", 0.5),
    _gene("BRCA2", "ENSG00000139618", "ENST00000380152", "chr13:32315508-32400268"),
    _gene("TP53", "ENSG00000141510", "ENST00000269305", "chr17:7668421-7687490"),
    _gene("BRCA1", "ENSG00000012048", "ENST00000357654", "chr17:43044295-43125364"),
    _gene("LDLR", "ENSG00000130164", "ENST00000558518", "chr19:11089462-11133820"),
    _gene("APOE", "ENSG00000130203", "ENST00000252486", "chr19:44905796-44909393", 0.5),
    _gene("COMT", "ENSG00000093072", "ENST00000361682", "chr22:19941740-19969975"),
    _gene("CHEK2", "ENSG00000183765", "ENST00000404276", "chr22:28687743-28741834"),
    _gene("DMD", "ENSG00000198947", "ENST00000357033", "chrX:31097677-33339441", 0.5),
    _gene("F8", "ENSG00000185010", "ENST00000360256", "chrX:154835788-155026940", 0.3),
    # 13q21 gene desert: intergenic variants, no CSQ.
    Region("chr13", 62_000_000, 64_000_000, 2.3),
)

# Share of records per kind; the rest are SNVs. Symbolic kinds are the structural ALTs.
_STRUCTURAL = ("DEL", "DUP", "INV", "INS", "CNV")
_SHARES = (("structural", 0.01), ("multi", 0.05), ("mnp", 0.03), ("del", 0.05), ("ins", 0.05))
_SV_ALLELES = {
    "DEL": "deletion",
    "DUP": "duplication",
    "INV": "inversion",
    "INS": "insertion",
    "CNV": "copy_number_variation",
}
# (consequence, impact, weight) for alleles inside a gene, by allele class.
_SNV_CONSEQUENCES = (
    ("intron_variant", "MODIFIER", 5.0),
    ("missense_variant", "MODERATE", 3.0),
    ("synonymous_variant", "LOW", 3.0),
    ("3_prime_UTR_variant", "MODIFIER", 1.0),
    ("5_prime_UTR_variant", "MODIFIER", 0.5),
    ("splice_region_variant&intron_variant", "LOW", 0.7),
    ("stop_gained", "HIGH", 0.5),
    ("splice_donor_variant", "HIGH", 0.2),
)
_SV_CONSEQUENCES = {
    "DEL": ("feature_truncation", "MODIFIER"),
    "DUP": ("feature_elongation", "MODIFIER"),
    "INV": ("coding_sequence_variant", "MODIFIER"),
    "INS": ("feature_elongation", "MODIFIER"),
    "CNV": ("transcript_amplification", "HIGH"),
}
_COLUMNS = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT")
_KVNR = re.compile(r"[A-Z][0-9]{8}")


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


def kvnr_check_digit(body: str) -> str:
    """The check digit of a KVNR's first nine characters (a letter and eight digits).

    :raises ValueError: ``body`` is not a capital letter followed by eight digits.
    """
    if not _KVNR.fullmatch(body):
        raise ValueError(f"not a KVNR body: {body!r}")
    digits = f"{ord(body[0]) - ord('A') + 1:02d}{body[1:]}"
    total = 0
    for index, char in enumerate(digits):
        product = int(char) * (1 + index % 2)
        total += product - 9 if product > 9 else product
    return str(total % 10)


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
    for kind, share in _SHARES:
        count = max(1, round(records * share))
        if kind == "structural":
            kinds += [_STRUCTURAL[index % len(_STRUCTURAL)] for index in range(count)]
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
    if site.kind in _STRUCTURAL:
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

    if site.kind in _STRUCTURAL:
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
        allele = _SV_ALLELES[site.kind] if site.kind in _STRUCTURAL else alt
        if trim:
            allele = alt[1:] or "-"
        entries.append(
            f"{allele}|{consequence}|{impact}|{region.symbol}|{region.gene_id}|"
            f"Transcript|{region.transcript}|protein_coding|{number}"
        )
    return ",".join(entries)


def _consequence(rng: random.Random, kind: str, ref: str, alt: str) -> tuple[str, str]:
    if kind in _STRUCTURAL:
        return _SV_CONSEQUENCES[kind]
    if len(ref) == len(alt):
        options = _SNV_CONSEQUENCES if len(ref) == 1 else _SNV_CONSEQUENCES[:3]
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
