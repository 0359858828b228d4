"""Genomics Reporting STU3 builders, checked against the official profiles and examples.

Every resource the builders make parses with ``fhir.resources.R4B``, passes the official R4 JSON
schema and the error-level constraints of its STU3 profile (``tests/support/fhir_validation.py``).
That harness does not check slicing, so :func:`slice_errors` here reads the profile snapshot
itself: every component must fall into exactly one named slice, within that slice's cardinality,
with a value of the type and pattern the slice allows; the two category slices likewise. The
``sequence-phase-relationship`` StructureDefinition is not in the shared folder: its parent
(``finding``) is checked instead and the profile's own rules (code, value set, derivedFrom) are
asserted explicitly. The shape is compared with the official examples in
``conformance/fhir-examples/genomics-reporting/``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pysam
import pytest

from gateway.domain.assemblies import canonical_chromosome, refseq_accession
from gateway.domain.genomics import (
    AllelicState,
    CalledAllele,
    Interval,
    PhaseRelation,
    SourceClass,
    StructuralDetail,
)
from gateway.fhir.genomics import (
    GENOMIC_REPORT,
    SEQUENCE_PHASE_RELATIONSHIP,
    VARIANT,
    genomic_report,
    phase_relationship,
    structural_change_type,
    variant_observation,
)
from tests.conftest import require_shared
from tests.support import fhir_validation as fv

Json = dict[str, Any]
LOINC = "http://loinc.org"
SUBJECT = {"reference": "urn:uuid:6f1c1f6e-25c4-4d5e-8f0e-0d6a8f3c2b11"}
FINDING = "http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/finding"
EXAMPLES = ("conformance", "fhir-examples", "genomics-reporting")

SNV = CalledAllele(
    chromosome="1",
    assembly="GRCh37",
    refseq="NC_000001.10",
    start=86852620,
    end=86852621,
    reference="A",
    alternate="G",
    allelic_state=AllelicState.HETEROZYGOUS,
    variant_id="rs3766355;MERGED_42",
    allele_frequency=Decimal("0.6"),
    read_depth=21,
    genes=("ODF2L", "CLCA2"),
)
# The official VariantExample: 0-based start 39723965 on NC_000017.11, ATTGAGGGAAAACACAT > T.
DELETION = CalledAllele(
    "17",
    "GRCh38",
    "NC_000017.11",
    39723965,
    39723982,
    "ATTGAGGGAAAACACAT",
    "T",
    AllelicState.HOMOZYGOUS,
)
# <DEL> at POS 10477130 END 10477585, CIPOS/CIEND -140,140 (vcf_structural_variants.vcf).
IMPRECISE_DEL = CalledAllele(
    "1",
    "GRCh37",
    "NC_000001.10",
    10477129,
    10477585,
    "C",
    "<DEL>",
    AllelicState.HETEROZYGOUS,
    structural=StructuralDetail(
        "DEL", inner=Interval(10477269, 10477445), outer=Interval(10476989, 10477725), copy_number=1
    ),
)
PRECISE_DUP = CalledAllele(
    "1",
    "GRCh38",
    "NC_000001.11",
    808161,
    808578,
    "N",
    "<DUP:TANDEM>",
    AllelicState.HETEROZYGOUS,
    structural=StructuralDetail("DUP:TANDEM", copy_number=3),
)
BREAKEND = CalledAllele(
    "2",
    "GRCh38",
    "NC_000002.12",
    321681,
    321682,
    "G",
    "G]17:198982]",
    AllelicState.HETEROZYGOUS,
    structural=StructuralDetail("BND"),
)
HEMIZYGOUS = replace(
    SNV,
    chromosome="X",
    refseq="NC_000023.10",
    allelic_state=AllelicState.HEMIZYGOUS,
    variant_id=None,
    allele_frequency=None,
    read_depth=None,
    genes=(),
)
ALLELES = {
    "snv": SNV,
    "deletion": DELETION,
    "imprecise-del": IMPRECISE_DEL,
    "precise-dup": PRECISE_DUP,
    "breakend": BREAKEND,
    "hemizygous": HEMIZYGOUS,
}


def variant(allele: CalledAllele, source: SourceClass = SourceClass.GERMLINE) -> Json:
    return variant_observation(allele, "variant-1", SUBJECT, source)


def components(resource: Json) -> dict[str, list[Json]]:
    found: dict[str, list[Json]] = {}
    for component in resource.get("component", []):
        found.setdefault(component["code"]["coding"][0]["code"], []).append(component)
    return found


def only(resource: Json, code: str) -> Json:
    (component,) = components(resource)[code]
    return component


# --- slicing against the official snapshots ----------------------------------------------------


@cache
def structure(url: str) -> Json:
    name = url.rsplit("/", 1)[1]
    path = fv.profiles_folder(require_shared()) / f"genomics-3.0.0--StructureDefinition-{name}.json"
    definition: Json = json.loads(path.read_text())
    return definition


def slice_errors(resource: Json, profile: str) -> list[str]:
    """What the slicing of ``profile`` rejects in ``resource`` (empty when it conforms)."""
    elements = {e["id"]: e for e in structure(profile)["snapshot"]["element"]}
    base = resource["resourceType"]
    errors = _category_errors(resource, elements, base)
    code = elements[f"{base}.code"].get("patternCodeableConcept")
    if code is not None and not matches(resource["code"], code):
        errors.append(f"code {resource['code']} does not match {code}")
    if f"{base}.component" in elements:
        errors += _component_errors(resource.get("component", []), elements, base)
    return errors


def _category_errors(resource: Json, elements: dict[str, Json], base: str) -> list[str]:
    errors = []
    for slice_id, element in elements.items():
        if slice_id.startswith(f"{base}.category:") and slice_id.count(".") == 1:
            pattern = elements[f"{slice_id}.coding"]["patternCoding"]
            count = sum(matches(c.get("coding"), [pattern]) for c in resource["category"])
            if not element["min"] <= count <= _max(element):
                errors.append(f"{slice_id}: {count} categories match {pattern}")
    return errors


def _component_errors(items: list[Json], elements: dict[str, Json], base: str) -> list[str]:
    slices = {
        sid.split(":", 1)[1]: elements[f"{sid}.code"]["patternCodeableConcept"]
        for sid in elements
        if sid.startswith(f"{base}.component:") and sid.count(".") == 1
    }
    errors, counts = [], Counter[str]()
    for item in items:
        names = [name for name, pattern in slices.items() if matches(item["code"], pattern)]
        if len(names) != 1:
            errors.append(f"component {item['code']} is in slices {names}, not exactly one")
            continue
        counts[names[0]] += 1
        errors += _value_errors(item, f"{base}.component:{names[0]}", elements)
    for name in slices:
        element = elements[f"{base}.component:{name}"]
        if not element["min"] <= counts[name] <= _max(element):
            errors.append(f"component:{name}: {counts[name]} outside its cardinality")
    return errors


def _value_errors(item: Json, slice_id: str, elements: dict[str, Json]) -> list[str]:
    value = elements[f"{slice_id}.value[x]"]
    keys = [key for key in item if key.startswith("value")]
    allowed = {"value" + t["code"][0].upper() + t["code"][1:] for t in value["type"]}
    if len(keys) > 1 or (value["min"] == 1 and not keys) or not set(keys) <= allowed:
        return [f"{slice_id}: value {keys} where {sorted(allowed)} (min {value['min']})"]
    system = elements.get(f"{slice_id}.value[x].system", {}).get("patternUri")
    if system is not None and keys and item[keys[0]].get("system") != system:
        return [f"{slice_id}: system {item[keys[0]].get('system')} is not {system}"]
    return []


def matches(value: object, pattern: object) -> bool:
    """FHIR pattern semantics: everything in the pattern is in the value (lists: some item)."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and matches(value[key], item) for key, item in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(
            any(matches(item, wanted) for item in value) for wanted in pattern
        )
    return value == pattern


def _max(element: Json) -> float:
    return float("inf") if element["max"] == "*" else int(element["max"])


# --- every output is valid ---------------------------------------------------------------------


def every_resource() -> Iterator[tuple[str, Json, str]]:
    for name, allele in ALLELES.items():
        yield name, variant(allele), VARIANT
    yield "somatic", variant(SNV, SourceClass.SOMATIC), VARIANT
    for relation in PhaseRelation:
        phase = phase_relationship("urn:uuid:a", "urn:uuid:b", relation, "phase-1", SUBJECT)
        yield relation.value, phase, FINDING
    report = genomic_report("report-1", SUBJECT, ["urn:uuid:a"], "2024-05-01T10:00:00+02:00")
    yield "report", report, GENOMIC_REPORT


CASES = list(every_resource())


@pytest.mark.parametrize(("resource", "profile"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_output_is_valid(resource: Json, profile: str) -> None:
    assert fv.parse_with_fhir_resources(resource) == []
    assert fv.validate_resource(resource) == []
    assert fv.check_constraints(resource, profile) == []
    assert slice_errors(resource, profile) == []


def test_a_bundle_of_them_passes_the_harness() -> None:
    resources = [c[1] for c in CASES]
    entries = [
        {"fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n:012d}", "resource": r}
        for n, r in enumerate(resources)
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    assert fv.validate_bundle(bundle) == []
    assert fv.check_bundle(bundle, {"DiagnosticReport": GENOMIC_REPORT}) == []
    assert fv.parse_with_fhir_resources(bundle) == []
    # The one profile the harness has no StructureDefinition for; covered by explicit tests.
    assert fv.unchecked_profiles(bundle) == [SEQUENCE_PHASE_RELATIONSHIP]


def test_the_slice_checker_rejects_what_the_profile_forbids() -> None:
    # Guards the guard: without these, slice_errors could pass everything.
    twice = variant(SNV)
    twice["component"] = [*twice["component"], only(twice, "69547-8")]
    assert any("ref-allele" in e for e in slice_errors(twice, VARIANT))
    wrong_type = variant(SNV)
    wrong_type["component"] = [{**only(wrong_type, "69551-0"), "valueInteger": 1}]
    assert slice_errors(wrong_type, VARIANT)
    no_ge = {**variant(SNV), "category": variant(SNV)["category"][:1]}
    assert any("geCategory" in e for e in slice_errors(no_ge, VARIANT))


# --- the variant Observation -------------------------------------------------------------------


def test_a_single_nucleotide_variant_has_exact_components() -> None:
    observation = variant(SNV)
    assert observation["meta"] == {"profile": [VARIANT]}
    assert observation["status"] == "final"
    assert observation["id"] == "variant-1"
    assert observation["subject"] == SUBJECT
    assert code_of(observation["code"]) == (LOINC, "69548-6")
    found = components(observation)
    values = {code: value_of(items[0]) for code, items in found.items()}
    assert values == {
        "48013-7": {
            "valueCodeableConcept": coding("http://www.ncbi.nlm.nih.gov/refseq", "NC_000001.10")
        },
        "62374-4": {"valueCodeableConcept": coding(LOINC, "LA14029-5", "GRCh37")},
        "92822-6": {
            "valueCodeableConcept": coding(LOINC, "LA30100-4", "0-based interval counting")
        },
        "81254-5": {"valueRange": {"low": {"value": 86852620}, "high": {"value": 86852621}}},
        "69547-8": {"valueString": "A"},
        "69551-0": {"valueString": "G"},
        "48019-4": {
            "valueCodeableConcept": coding("http://www.sequenceontology.org", "SO:0001483", "SNV")
        },
        "53034-5": {"valueCodeableConcept": coding(LOINC, "LA6706-1", "Heterozygous")},
        "48002-0": {"valueCodeableConcept": coding(LOINC, "LA6683-2", "Germline")},
        "81258-6": {
            "valueQuantity": {"value": 0.6, "system": "http://unitsofmeasure.org", "code": "1"}
        },
        "82121-5": {
            "valueQuantity": {"value": 21, "system": "http://unitsofmeasure.org", "code": "1"}
        },
        "48018-6": {"valueCodeableConcept": {"text": "ODF2L"}},
        "81252-9": {
            "valueCodeableConcept": coding("http://www.ncbi.nlm.nih.gov/projects/SNP", "rs3766355")
        },
    }
    # One gene-studied per gene; only the rs number of a multi-valued ID becomes a dbSNP code.
    assert [c["valueCodeableConcept"]["text"] for c in found["48018-6"]] == ["ODF2L", "CLCA2"]
    assert len(found["81252-9"]) == 1


def code_of(concept: Json) -> tuple[str, str]:
    (first,) = concept["coding"]
    return first["system"], first["code"]


def value_of(component: Json) -> Json:
    return {key: value for key, value in component.items() if key != "code"}


def coding(system: str, code: str, display: str | None = None) -> Json:
    return {
        "coding": [{"system": system, "code": code} | ({"display": display} if display else {})]
    }


@pytest.mark.parametrize(
    ("reference", "alternate", "so"),
    [
        ("A", "G", "SO:0001483"),  # SNV
        ("AC", "GT", "SO:1000002"),  # substitution of more than one base (MNV)
        ("ATT", "A", "SO:0000159"),  # deletion, VCF-anchored on the left
        ("TTA", "A", "SO:0000159"),  # deletion anchored on the right
        ("A", "ATG", "SO:0000667"),  # insertion
        ("ATG", "C", "SO:1000032"),  # delins
    ],
)
def test_the_change_type_follows_ref_and_alt(reference: str, alternate: str, so: str) -> None:
    allele = replace(SNV, reference=reference, alternate=alternate, end=SNV.start + len(reference))
    assert only(variant(allele), "48019-4")["valueCodeableConcept"]["coding"][0]["code"] == so


@pytest.mark.parametrize("state", list(AllelicState))
def test_every_allelic_state_is_coded(state: AllelicState) -> None:
    value = only(variant(replace(SNV, allelic_state=state)), "53034-5")["valueCodeableConcept"]
    assert value["coding"][0]["code"] == state.value
    assert value["coding"][0]["system"] == LOINC


def test_source_class_and_optional_parts() -> None:
    somatic = only(variant(SNV, SourceClass.SOMATIC), "48002-0")["valueCodeableConcept"]
    assert somatic == coding(LOINC, "LA6684-0", "Somatic")
    bare = variant_observation(HEMIZYGOUS, "v", None, SourceClass.GERMLINE)
    assert "subject" not in bare
    assert not {"81258-6", "82121-5", "48018-6", "81252-9", "82155-3"} & set(components(bare))
    unknown_assembly = variant(replace(SNV, assembly="NCBI36"))
    assert "62374-4" not in components(unknown_assembly)


def test_each_call_returns_its_own_resource_and_component_list() -> None:
    first, second = variant(SNV), variant(SNV)
    assert first == second
    assert first is not second
    assert first["component"] is not second["component"]


# --- coordinates round-trip to the VCF ---------------------------------------------------------


def simple_records(path: Path, limit: int) -> list[pysam.VariantRecord]:
    with pysam.VariantFile(str(path)) as vcf:
        records = []
        for record in vcf:
            alts = record.alts or ()
            if alts and all(set(a) <= set("ACGT") for a in alts):
                records.append(record)
            if len(records) == limit:
                return records
    return records


def test_coordinates_round_trip_to_the_vcf(shared: Path) -> None:
    records = simple_records(shared / "conformance" / "vcf-examples" / "HG00404_b37.vcf", 200)
    assert len(records) == 200
    for record in records:
        chromosome = canonical_chromosome(record.chrom, "GRCh37")
        refseq = refseq_accession(chromosome, "GRCh37")
        assert refseq is not None
        for alt in record.alts or ():
            allele = CalledAllele(
                chromosome,
                "GRCh37",
                refseq,
                record.start,
                record.stop,
                record.ref or "",
                alt,
                AllelicState.HETEROZYGOUS,
            )
            observation = variant(allele)
            span = only(observation, "81254-5")["valueRange"]
            # 0-based half-open: POS = low + 1, and the interval covers REF exactly.
            assert span["low"]["value"] + 1 == record.pos
            assert span["high"]["value"] - span["low"]["value"] == len(record.ref or "")
            assert only(observation, "69547-8")["valueString"] == record.ref
            assert only(observation, "69551-0")["valueString"] == alt
            sequence = only(observation, "48013-7")["valueCodeableConcept"]
            assert code_of(sequence) == ("http://www.ncbi.nlm.nih.gov/refseq", refseq)


# --- structural variants -----------------------------------------------------------------------


def test_an_imprecise_structural_variant_has_inner_and_outer_not_exact() -> None:
    observation = variant(IMPRECISE_DEL)
    found = components(observation)
    inner = found["81302-2"][0]["valueRange"]
    outer = found["81301-4"][0]["valueRange"]
    assert inner == {"low": {"value": 10477269}, "high": {"value": 10477445}}
    assert outer == {"low": {"value": 10476989}, "high": {"value": 10477725}}
    assert "81254-5" not in found  # CIPOS/CIEND say the boundaries are not exact
    # No alt-allele for a symbolic ALT, as in the IG's ExampleGermlineDEL; the type says it.
    assert "69551-0" not in found
    assert only(observation, "69547-8")["valueString"] == "C"
    assert found["48019-4"][0]["valueCodeableConcept"] == coding(
        "http://www.sequenceontology.org", "SO:0000159", "deletion"
    )
    assert found["82155-3"][0]["valueQuantity"] == {
        "value": 1,
        "system": "http://unitsofmeasure.org",
        "code": "1",
    }


def test_a_precise_structural_variant_keeps_exact_start_end() -> None:
    found = components(variant(PRECISE_DUP))
    assert found["81254-5"][0]["valueRange"] == {
        "low": {"value": 808161},
        "high": {"value": 808578},
    }
    assert not {"81302-2", "81301-4", "69551-0"} & set(found)
    so = found["48019-4"][0]["valueCodeableConcept"]["coding"][0]
    assert (so["code"], so["display"]) == ("SO:1000035", "duplication")
    assert found["82155-3"][0]["valueQuantity"]["value"] == 3


def test_a_breakend_claims_no_change_type() -> None:
    # A BND is one side of a rearrangement of unknown kind: no SO term is claimed for it.
    found = components(variant(BREAKEND))
    assert "48019-4" not in found
    assert "81254-5" in found


def test_a_symbolic_allele_without_structural_detail_claims_no_sequence() -> None:
    for alternate in ("<DEL>", "G]17:198982]"):
        found = components(variant(replace(BREAKEND, alternate=alternate, structural=None)))
        assert not {"69551-0", "48019-4"} & set(found)
        assert "81254-5" in found


def test_half_known_intervals_keep_the_known_bound() -> None:
    detail = StructuralDetail("DEL", inner=Interval(None, 500), outer=Interval(None, None))
    found = components(variant(replace(IMPRECISE_DEL, structural=detail)))
    assert found["81302-2"][0]["valueRange"] == {"high": {"value": 500}}
    assert "81301-4" not in found


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("DEL", "DEL"),
        ("<DUP:TANDEM>", "DUP"),
        ("DEL:ME:ALU", "DEL"),
        ("cnv", "CNV"),
        ("BND", "BND"),
    ],
)
def test_structural_change_type(name: str, base: str) -> None:
    assert structural_change_type(name) == base


@pytest.mark.parametrize(
    ("kind", "so"),
    [("INS", "SO:0000667"), ("INV", "SO:1000036"), ("CNV", "SO:0001019"), ("DEL", "SO:0000159")],
)
def test_every_structural_type_has_its_sequence_ontology_term(kind: str, so: str) -> None:
    allele = replace(PRECISE_DUP, alternate=f"<{kind}>", structural=StructuralDetail(kind))
    assert only(variant(allele), "48019-4")["valueCodeableConcept"]["coding"][0]["code"] == so


# --- phase relationship and report -------------------------------------------------------------


@pytest.mark.parametrize("relation", list(PhaseRelation))
def test_phase_relationship_shape(relation: PhaseRelation) -> None:
    phase = phase_relationship("urn:uuid:a", "urn:uuid:b", relation, "phase-1", SUBJECT)
    assert phase["meta"] == {"profile": [SEQUENCE_PHASE_RELATIONSHIP]}
    assert code_of(phase["code"]) == (LOINC, "82120-7")
    assert phase["valueCodeableConcept"] == coding(
        "http://terminology.hl7.org/CodeSystem/sequence-phase-relationship-cs",
        relation.value,
        relation.value,
    )
    assert phase["valueCodeableConcept"]["coding"][0]["code"] in {"Cis", "Trans"}
    assert phase["derivedFrom"] == [{"reference": "urn:uuid:a"}, {"reference": "urn:uuid:b"}]
    assert phase["subject"] == SUBJECT
    assert phase["category"] == variant(SNV)["category"]


def test_genomic_report_shape() -> None:
    urls = ["urn:uuid:a", "urn:uuid:b", "urn:uuid:c"]
    report = genomic_report(
        "report-1", SUBJECT, iter(urls), "2024-05-01T10:00:00+02:00", conclusion="3 variants"
    )
    assert report["meta"] == {"profile": [GENOMIC_REPORT]}
    assert code_of(report["code"]) == (LOINC, "51969-4")
    assert report["category"] == [coding("http://terminology.hl7.org/CodeSystem/v2-0074", "GE")]
    assert (report["status"], report["issued"]) == ("final", "2024-05-01T10:00:00+02:00")
    assert report["result"] == [{"reference": url} for url in urls]
    assert report["conclusion"] == "3 variants"
    empty = genomic_report("report-2", None, [], "2024-05-01T10:00:00Z")
    assert not {"result", "subject", "conclusion"} & set(empty)  # FHIR forbids empty arrays
    assert fv.parse_with_fhir_resources(empty) == []


# --- the official examples as shape reference --------------------------------------------------


def official_variants(shared: Path) -> list[Json]:
    found = []
    for path in sorted(shared.joinpath(*EXAMPLES).glob("*.json")):
        document = json.loads(path.read_text())
        entries = [e["resource"] for e in document.get("entry", [])] or [document]
        found += [r for r in entries if VARIANT in r.get("meta", {}).get("profile", [])]
    return found


def test_fixed_values_equal_the_official_examples(shared: Path) -> None:
    example = json.loads(shared.joinpath(*EXAMPLES, "Observation-VariantExample.json").read_text())
    ours = variant(DELETION)
    assert ours["category"] == example["category"]
    assert ours["valueCodeableConcept"] == example["valueCodeableConcept"]
    assert ours["code"]["coding"][0]["code"] == example["code"]["coding"][0]["code"]
    theirs = {code: without_display(value_of(c[0])) for code, c in components(example).items()}
    mine = {code: without_display(value_of(c[0])) for code, c in components(ours).items()}
    # The same deletion: same sequence, alleles, coordinate
    # system and start; the example leaves out `high`, which we give.
    for code in ("48013-7", "69547-8", "69551-0", "92822-6"):
        assert mine[code] == theirs[code]
    assert mine["81254-5"]["valueRange"]["low"] == theirs["81254-5"]["valueRange"]["low"]


def without_display(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_display(v) for k, v in value.items() if k != "display"}
    if isinstance(value, list):
        return [without_display(item) for item in value]
    return value


def test_component_codes_and_value_shapes_match_the_official_variants(shared: Path) -> None:
    examples = official_variants(shared)
    assert len(examples) >= 15
    seen: dict[str, set[tuple[str, str | None]]] = {}
    for example in examples:
        for code, items in components(example).items():
            seen.setdefault(code, set()).update(_shape(item) for item in items)
    ours = [variant(allele) for allele in ALLELES.values()]
    our_codes = {code for resource in ours for code in components(resource)}
    # Everything we emit is a code the official variants use, in the form they use it.
    assert our_codes <= set(seen)
    for resource in ours:
        for code, items in components(resource).items():
            for item in items:
                key, system = _shape(item)
                # gene-studied as text has no system: only its value type can be compared.
                known = seen[code] if system else {(k, None) for k, _ in seen[code]}
                assert (key, system) in known, (code, key, system)
    # The official VCF-style example's components are all there for a comparable allele.
    vcf_like = next(e for e in examples if e["id"] == "variant-with-molec-consequences")
    expected = set(components(vcf_like)) - {"81252-9", "92821-8"}  # HGVS as id; population AF
    assert expected <= set(components(variant(SNV)))


def _shape(component: Json) -> tuple[str, str | None]:
    key = next(k for k in component if k.startswith("value"))
    value = component[key]
    codings = value.get("coding", []) if isinstance(value, dict) else []
    system = (
        codings[0]["system"]
        if codings
        else value.get("system")
        if isinstance(value, dict)
        else None
    )
    return key, system
