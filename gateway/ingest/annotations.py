"""Gene symbols from functional annotations in INFO: Ensembl VEP ``CSQ`` and SnpEff ``ANN``.

Both tools describe their field layout in the header Description (VEP: ``... Format:
Allele|Consequence|IMPACT|SYMBOL|Gene|...``; SnpEff, following the VCF ANN specification
v1.0: ``Functional annotations: 'Allele | Annotation | ... | Gene_Name | ...'``). Each
comma-separated annotation belongs to one ALT allele; a variant's genes are the symbols of the
annotations of its own ALT.

Intergenic annotations name no gene here: the variant lies in neither flanking gene (VEP gives
``intergenic_variant`` no SYMBOL for the same reason), and SnpEff's ``GENE1-GENE2`` form cannot
be split reliably because symbols contain hyphens themselves (``HLA-A``, ``NKX2-1``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

ANNOTATION_KEYS = ("CSQ", "ANN")

_GENE_FIELDS = ("SYMBOL", "Gene_Name")
_CONSEQUENCE_FIELDS = ("Consequence", "Annotation")


@dataclass(frozen=True, slots=True)
class AnnotationLayout:
    """Where the fields the gateway reads sit in one INFO annotation key's entries."""

    key: str
    allele: int
    gene: int
    consequence: int | None = None
    allele_num: int | None = None


def layout_from_description(key: str, description: str) -> AnnotationLayout | None:
    """The layout a header Description declares, or None when it names no allele or gene."""
    names = _field_names(description)
    allele = names.get("allele")
    gene = next((names[f.lower()] for f in _GENE_FIELDS if f.lower() in names), None)
    if allele is None or gene is None:
        return None
    consequence = next((names[f.lower()] for f in _CONSEQUENCE_FIELDS if f.lower() in names), None)
    return AnnotationLayout(key, allele, gene, consequence, names.get("allele_num"))


def _field_names(description: str) -> dict[str, int]:
    # VEP puts the layout after "Format:", SnpEff after the first colon, in single quotes.
    marker = description.find("Format:")
    text = description[marker + 7 :] if marker >= 0 else description.partition(":")[2]
    fields = [field.strip(" '\"") for field in text.split("|")]
    return {name.lower(): index for index, name in enumerate(fields) if name}


def genes_by_alt(
    layouts: Sequence[AnnotationLayout],
    info: Mapping[str, str],
    reference: str,
    alternates: Sequence[str],
) -> list[tuple[str, ...]]:
    """Sorted gene symbols for each ALT (same order as ``alternates``)."""
    genes: list[set[str]] = [set() for _ in alternates]
    matcher = _AlleleMatcher(reference, alternates)
    for layout in layouts:
        value = info.get(layout.key)
        if not value:
            continue
        for entry in value.split(","):
            _add_entry(layout, entry.split("|"), matcher, genes)
    return [tuple(sorted(symbols)) for symbols in genes]


def _add_entry(
    layout: AnnotationLayout, fields: list[str], matcher: _AlleleMatcher, genes: list[set[str]]
) -> None:
    symbol = _field(fields, layout.gene)
    if not symbol or symbol == "." or _is_intergenic(_field(fields, layout.consequence)):
        return
    alt = matcher.index(_field(fields, layout.allele), _field(fields, layout.allele_num))
    if alt is not None:
        genes[alt].add(unquote(symbol) if "%" in symbol else symbol)


def _field(fields: list[str], index: int | None) -> str:
    return fields[index].strip() if index is not None and index < len(fields) else ""


def _is_intergenic(consequence: str) -> bool:
    return "intergenic" in consequence


class _AlleleMatcher:
    """Maps an annotation's allele to a 0-based ALT index.

    Tries, in order: VEP's ALLELE_NUM, the single ALT, the ALT as written, VEP's trimmed form
    (the first base shared by every allele removed, ``-`` for an empty allele), and a
    symbolic allele without its brackets.
    """

    def __init__(self, reference: str, alternates: Sequence[str]) -> None:
        self._count = len(alternates)
        self._by_name: dict[str, int] = {}
        trimmed = _vep_alleles(reference, alternates)
        # Reverse so that, on a clash, the earlier (as-written) spelling of a lower ALT wins.
        for index in reversed(range(self._count)):
            alt = alternates[index]
            for name in (alt.strip("<>"), trimmed[index], alt):
                self._by_name[name.upper()] = index

    def index(self, allele: str, allele_num: str) -> int | None:
        if allele_num.isdigit():
            number = int(allele_num)
            return number - 1 if 1 <= number <= self._count else None
        if self._count == 1:
            return 0
        return self._by_name.get(allele.upper())


def _vep_alleles(reference: str, alternates: Sequence[str]) -> list[str]:
    alleles = [reference, *alternates]
    if reference and all(a and a[0] == reference[0] and not a.startswith("<") for a in alleles):
        return [alt[1:] or "-" for alt in alternates]
    return list(alternates)
