"""IPS documents from synthetic records, checked by tools that share no code with the builder.

Every document passes the official R4 JSON schema and a parse with fhir.resources R4B
(``tests/support/fhir_validation.py``), and its Bundle, Composition and Patient pass the
error-level constraints of the official IPS 2.0.0 ``Bundle-uv-ips``, ``Composition-uv-ips`` and
``Patient-uv-ips`` profiles: the only StructureDefinitions the harness has. The profiles the
other entries claim (Organization, Condition, Observation, ...) are not checked against their
constraints; ``test_profiles_the_harness_cannot_check_are_listed`` names them. Some of their
rules are covered by explicit tests here; the document's shape is compared with the official
examples.
"""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.records import (
    ICD10,
    LOINC,
    SNOMED,
    UCUM,
    Component,
    Concept,
    DateValue,
    HumanName,
    Observation,
    PatientRecord,
    Procedure,
    Quantity,
    Section,
)
from gateway.fhir.canonical import (
    ALCOHOL_USE,
    BUNDLE,
    COMPOSITION,
    DEVICE,
    PATIENT,
    TOBACCO_USE,
    VITAL_SIGNS,
)
from gateway.fhir.ips import build_document
from gateway.fhir.sections import SECTIONS
from tests.fhir import records
from tests.support import fhir_validation as fv

DOCUMENT_ID = "5c7a6f5e-3c1b-4f8e-9a43-1f0d2b6c9e11"
TIMESTAMP = "2024-05-01T10:00:00+02:00"
XHTML_DIV = "{http://www.w3.org/1999/xhtml}div"
DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
REQUIRED = ["11450-4", "48765-2", "10160-0", "47519-4", "46264-8"]  # IPS 3 + EU PS 2
ORDER = [s.value for s in Section]  # the issue's order

Resource = dict[str, Any]


def build(record: PatientRecord, **changes: str) -> Resource:
    arguments = {"document_id": DOCUMENT_ID, "timestamp": TIMESTAMP, "country": "DE", **changes}
    return build_document(
        record,
        document_id=arguments["document_id"],
        timestamp=arguments["timestamp"],
        country=arguments["country"],
    )


@pytest.fixture(scope="module", params=sorted(records.RECORDS))
def document(request: pytest.FixtureRequest) -> Resource:
    return build(records.RECORDS[request.param]())


@pytest.fixture(scope="session")
def profiles(shared: Path) -> Path:
    return fv.profiles_folder(shared)


@pytest.fixture(scope="session")
def examples(shared: Path) -> Path:
    return shared / "conformance" / "fhir-examples" / "ips"


def resources(bundle: Resource) -> list[Resource]:
    return [entry["resource"] for entry in bundle["entry"]]


def composition(bundle: Resource) -> Resource:
    first: Resource = bundle["entry"][0]["resource"]
    return first


def sections(bundle: Resource) -> dict[str, Resource]:
    return {s["code"]["coding"][0]["code"]: s for s in composition(bundle)["section"]}


def by_url(bundle: Resource) -> dict[str, Resource]:
    return {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}


def section_resources(bundle: Resource, code: str) -> list[Resource]:
    found = by_url(bundle)
    return [found[e["reference"]] for e in sections(bundle)[code].get("entry", [])]


def references(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


# --- independent validation -------------------------------------------------------------------


def test_every_resource_passes_the_r4_schema(document):
    assert fv.validate_bundle(document) == []


def test_no_ips_constraint_is_violated(document, profiles):
    assert fv.check_bundle(document, fv.IPS_PROFILES, profiles) == []


def test_parses_with_fhir_resources_r4b(document):
    assert fv.parse_with_fhir_resources(document) == []


def test_profiles_the_harness_cannot_check_are_listed(profiles):
    # The gap, made visible: these claimed profiles have no StructureDefinition in the harness,
    # so `check_bundle` does not run their constraints. Adding one shrinks this list.
    document = build(records.full_record())
    assert fv.unchecked_profiles(document, profiles) == sorted(
        {
            "http://hl7.org/fhir/StructureDefinition/vitalsigns",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/AllergyIntolerance-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Condition-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Device-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/DeviceUseStatement-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Immunization-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/MedicationStatement-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Observation-alcoholuse-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Observation-pregnancy-outcome-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Observation-pregnancy-status-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/"
            "Observation-results-laboratory-pathology-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Observation-tobaccouse-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Organization-uv-ips",
            "http://hl7.org/fhir/uv/ips/StructureDefinition/Procedure-uv-ips",
        }
    )
    checked = {BUNDLE, COMPOSITION, PATIENT}
    assert not checked & set(fv.unchecked_profiles(document, profiles))


def test_the_checks_see_a_broken_document(profiles):
    # The constraints really run on our output: break it the way the profiles forbid.
    broken = build(records.minimal_record())
    del composition(broken)["section"][0]["emptyReason"]
    broken["entry"].reverse()
    errors = fv.check_bundle(broken, fv.IPS_PROFILES, profiles)
    assert any(error.startswith("bdl-11") for error in errors)
    assert any("ips-comp-1" in error for error in errors)


# --- document shape ---------------------------------------------------------------------------


def test_bundle_is_an_ips_document(document):
    assert document["meta"]["profile"] == [BUNDLE]
    assert document["type"] == "document"
    assert document["id"] == DOCUMENT_ID
    assert document["identifier"] == {
        "system": "urn:ietf:rfc:3986",
        "value": f"urn:uuid:{DOCUMENT_ID}",
    }
    assert document["timestamp"] == TIMESTAMP


def test_composition_comes_first_with_what_ips_requires(document):
    first = composition(document)
    assert first["resourceType"] == "Composition"
    assert [r["resourceType"] for r in resources(document)].count("Composition") == 1
    assert first["meta"]["profile"] == [COMPOSITION]
    assert first["type"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "60591-5",
        "display": "Patient summary Document",
    }
    assert first["status"] == "final"
    assert first["date"] == TIMESTAMP
    assert first["title"]
    assert first["author"]
    patient = by_url(document)[first["subject"]["reference"]]
    assert patient["resourceType"] == "Patient"
    assert patient["meta"]["profile"] == [PATIENT]


def test_every_entry_has_a_unique_urn_uuid_full_url(document):
    urls = [entry["fullUrl"] for entry in document["entry"]]
    assert len(set(urls)) == len(urls)
    for entry in document["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"


def test_every_reference_resolves_inside_the_bundle(document):
    urls = set(by_url(document))
    found = list(references(document))
    assert found
    assert set(found) <= urls


def test_every_resource_is_referenced_from_the_composition_tree(document):
    # Nothing dangles: each entry is the subject, an author, a section entry or pointed at.
    referenced = set(references(document))
    assert {e["fullUrl"] for e in document["entry"][1:]} <= referenced


def test_sections_come_in_the_issues_order(document):
    codes = list(sections(document))
    assert codes == sorted(codes, key=ORDER.index)
    assert set(REQUIRED) <= set(codes)


def test_full_record_fills_every_section():
    document = build(records.full_record())
    assert list(sections(document)) == ORDER
    for code, section in sections(document).items():
        assert "emptyReason" not in section
        if code != Section.ADVANCE_DIRECTIVES:  # free text only, for now
            assert section["entry"]


def test_minimal_record_has_required_sections_with_empty_reason():
    document = build(records.minimal_record())
    assert list(sections(document)) == REQUIRED
    for section in sections(document).values():
        assert "entry" not in section
        assert section["emptyReason"]["coding"] == [
            {
                "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                "code": "unavailable",
                "display": "Unavailable",
            }
        ]
        assert section["text"]["status"] == "generated"
    assert [r["resourceType"] for r in resources(document)] == [
        "Composition",
        "Patient",
        "Organization",
    ]


def test_same_record_gives_the_same_document():
    first = json.dumps(build(records.full_record()))
    assert json.dumps(build(records.full_record())) == first
    other = build(records.full_record(), document_id="0f8fad5b-d9cb-469f-a165-70867728950e")
    assert not {e["fullUrl"] for e in other["entry"]} & set(by_url(json.loads(first)))


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("document_id", "not-a-uuid"),
        ("timestamp", "2024-05-01T10:00:00"),  # an instant needs a zone
        ("timestamp", "2024-05-01"),
        ("country", "de"),
        ("country", "DEU"),
    ],
)
def test_malformed_arguments_are_refused(argument, value):
    with pytest.raises(ValueError, match=argument.split("_")[0]):
        build(records.minimal_record(), **{argument: value})


# --- resources --------------------------------------------------------------------------------


def test_each_entry_claims_a_profile_its_section_slice_allows(profiles):
    document = build(records.full_record())
    allowed = slice_profiles(profiles)
    for code in sections(document):
        for resource in section_resources(document, code):
            assert resource["meta"]["profile"][0] in allowed[code], (code, resource["id"])
    devices = [r for r in resources(document) if r["resourceType"] == "Device"]
    assert [d["meta"]["profile"] for d in devices] == [[DEVICE]]


def test_social_history_without_an_ips_profile_claims_none():
    record = records.full_record()
    other = Observation(Concept(text="Beruf: Lehrerin"), "Lehrerin")
    document = build(PatientRecord(record.patient, social_history=(other,)))
    (observation,) = section_resources(document, "29762-2")
    assert "meta" not in observation
    assert observation["category"][0]["coding"][0]["code"] == "social-history"


def claimed(resource: Resource) -> list[str]:
    profiles: list[str] = resource.get("meta", {}).get("profile", [])
    return profiles


WEIGHT = Concept.of(LOINC, "29463-7", "Body weight")


@pytest.mark.parametrize(
    "vital",
    [
        Observation(WEIGHT, Quantity(Decimal("91.5"), "kg"), effective="2024-04"),
        Observation(WEIGHT, Quantity(Decimal("91.5"), "kg"), effective="2024-04-10"),
        Observation(WEIGHT, Quantity(Decimal("91.5"), "kg", UCUM, "kg"), effective="2024-04"),
        Observation(WEIGHT, Quantity(Decimal("91.5"), "kg", UCUM, "kg")),
        Observation(
            WEIGHT, Quantity(Decimal("91.5"), "kg", "urn:oid:1.2.3", "kg"), effective="2024-04-10"
        ),
        Observation(
            Concept.of(LOINC, "85354-9", "Blood pressure panel"),
            effective="2024-04-10",
            components=(
                Component(
                    Concept.of(LOINC, "8480-6", "Systolic blood pressure"),
                    Quantity(Decimal("142"), "mmHg"),
                ),
            ),
        ),
    ],
    ids=["month-no-code", "no-code", "month", "no-date", "not-ucum", "component-no-code"],
)
def test_vital_sign_that_breaks_vitalsigns_claims_no_profile(vital):
    document = build(PatientRecord(records.full_record().patient, vital_signs=(vital,)))
    (observation,) = section_resources(document, "8716-3")
    assert claimed(observation) == []
    assert observation["category"][0]["coding"][0]["code"] == "vital-signs"


def test_vital_sign_with_ucum_value_and_day_claims_vitalsigns():
    vital = Observation(WEIGHT, Quantity(Decimal("91.5"), "kg", UCUM, "kg"), effective="2024-04-10")
    document = build(PatientRecord(records.full_record().patient, vital_signs=(vital,)))
    (observation,) = section_resources(document, "8716-3")
    assert claimed(observation) == [VITAL_SIGNS]
    for resource in section_resources(build(records.full_record()), "8716-3"):
        assert claimed(resource) == [VITAL_SIGNS]


def test_vital_signs_carry_the_vital_signs_category():
    # The vitalsigns profile requires category vital-signs (VSCat): losing it breaks the profile.
    for resource in section_resources(build(records.full_record()), "8716-3"):
        assert {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "vital-signs",
        } in resource["category"][0]["coding"]


def test_allergy_carries_its_clinical_status():
    (allergy,) = section_resources(build(records.full_record()), "48765-2")
    assert allergy["clinicalStatus"]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
            "code": "active",
        }
    ]


TOBACCO = Concept.of(LOINC, "72166-2", "Tobacco smoking status")
ALCOHOL = Concept.of(LOINC, "74013-4", "Alcoholic drinks per day")


def test_single_entry_social_history_profiles_go_to_the_latest_entry_only():
    never = Concept.of(LOINC, "LA18978-9", "Never smoker")
    drinks = Quantity(Decimal("1"), "/d", UCUM, "/d")
    social = (
        Observation(TOBACCO, never, effective="2020-01-01"),
        Observation(ALCOHOL, drinks, effective="2023-05-01T10:00:00+02:00"),
        Observation(TOBACCO, never, effective="2022-10-20T23:30:00-02:00"),  # latest: 21st UTC
        Observation(TOBACCO, never, effective="2022-10-21T00:30:00+02:00"),  # 20th 22:30 UTC
        Observation(ALCOHOL, drinks, effective="2023-05-01T08:00:00Z"),  # same instant: tie
        Observation(TOBACCO, never),
    )
    document = build(PatientRecord(records.full_record().patient, social_history=social))
    found = [claimed(r) for r in section_resources(document, "29762-2")]
    assert found == [[], [ALCOHOL_USE], [TOBACCO_USE], [], [], []]


def test_unmapped_national_code_is_kept_with_its_text():
    document = build(records.unmapped_record())
    coded, text_only = section_resources(document, "11450-4")
    assert coded["code"] == {
        "coding": [
            {
                "system": records.ICD10_GM,
                "code": "E11.90",
                "display": "Diabetes mellitus, Typ 2, ohne Komplikationen",
            }
        ],
        "text": records.UNMAPPED_TEXT,
    }
    assert text_only["code"] == {"text": "Rückenschmerzen, nicht kodiert"}
    assert records.UNMAPPED_TEXT in sections(document)["11450-4"]["text"]["div"]


def test_national_and_eu_codings_sit_side_by_side():
    (condition,) = section_resources(build(records.full_record()), "11450-4")
    systems = [coding["system"] for coding in condition["code"]["coding"]]
    assert systems == [records.ICD10_GM, ICD10, SNOMED]
    assert condition["code"]["text"] == "Bluthochdruck"


def test_missing_required_dates_are_data_absent():
    document = build(records.sparse_record())
    absent = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}
    patient = by_url(document)[composition(document)["subject"]["reference"]]
    assert patient["_birthDate"] == absent
    assert "birthDate" not in patient
    (statement,) = section_resources(document, "10160-0")
    assert statement["_effectiveDateTime"] == absent
    (procedure,) = section_resources(document, "47519-4")
    assert procedure["_performedDateTime"] == absent
    (device_use,) = section_resources(document, "46264-8")
    assert device_use["_timingDateTime"] == absent
    (immunization,) = section_resources(document, "11369-6")
    assert immunization["occurrenceString"] == "unknown"
    (result,) = section_resources(document, "30954-2")
    assert result["_effectiveDateTime"] == absent
    assert result["dataAbsentReason"]["coding"][0]["code"] == "unknown"
    (pressure,) = section_resources(document, "8716-3")
    assert "dataAbsentReason" not in pressure  # its components say what is missing
    assert pressure["component"][0]["dataAbsentReason"]["coding"][0]["code"] == "unknown"


def test_results_name_the_author_as_performer_and_values_are_numbers():
    document = build(records.full_record())
    author = composition(document)["author"][0]
    hba1c, blood_group = section_resources(document, "30954-2")
    assert hba1c["performer"] == [author]
    assert hba1c["category"][0]["coding"][0]["code"] == "laboratory"
    assert hba1c["valueQuantity"]["value"] == 7.5
    assert blood_group["valueCodeableConcept"]["coding"][0]["code"] == "278149003"
    _, pressure = section_resources(document, "8716-3")
    assert pressure["component"][0]["valueQuantity"]["value"] == 142
    assert isinstance(pressure["component"][0]["valueQuantity"]["value"], int)
    _, births = section_resources(document, "10162-6")
    assert births["valueInteger"] == 2


def test_gateway_is_author_and_custodian_when_the_record_names_none():
    document = build(records.minimal_record(), country="NL")
    first = composition(document)
    assert first["author"] == [first["custodian"]]
    gateway = by_url(document)[first["custodian"]["reference"]]
    assert gateway["resourceType"] == "Organization"
    assert gateway["address"] == [{"country": "NL"}]


def test_record_author_custodian_language_and_source_date():
    document = build(records.full_record())
    first = composition(document)
    author = by_url(document)[first["author"][0]["reference"]]
    custodian = by_url(document)[first["custodian"]["reference"]]
    assert author["name"] == "Hausarztpraxis Testperson"
    assert custodian["name"] == "Testkrankenhaus Berlin"
    assert document["language"] == first["language"] == "de-DE"
    assert first["event"][0]["period"] == {"end": "2024-04-30T09:00:00+02:00"}


# --- narratives -------------------------------------------------------------------------------


def test_every_narrative_is_well_formed_xhtml(document):
    # The Composition's own narrative and every section's.
    first = composition(document)
    for text in (first["text"], *(section["text"] for section in first["section"])):
        assert text["status"] == "generated"
        root = xhtml(text["div"])
        assert root.tag == XHTML_DIV
        assert "".join(root.itertext()).strip()
        assert not root.findall(".//{http://www.w3.org/1999/xhtml}b")


def test_composition_narrative_escapes_the_patient_name():
    document = build(records.hostile_record())
    div = composition(document)["text"]["div"]
    assert "<b>" not in div
    assert "&lt;b&gt;Bold&lt;/b&gt; Testperson" in div
    assert "<b>Bold</b> Testperson" in "".join(xhtml(div).itertext())


def test_narratives_escape_the_record_text():
    document = build(records.hostile_record())
    found = sections(document)
    problems = found["11450-4"]["text"]["div"]
    assert not any("<script" in s["text"]["div"] for s in found.values())
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;quoted&#x27;" in problems
    shown = "".join(xhtml(problems).itertext())
    assert records.HOSTILE.replace("\x07", "\ufffd") in shown  # XML forbids control characters
    assert "Nüsse &amp; &lt;Erdnüsse&gt;" in found["48765-2"]["text"]["div"]
    notes = "".join(xhtml(found["10160-0"]["text"]["div"]).itertext())
    assert records.HOSTILE.replace("\x07", "\ufffd") in notes
    # Only the narrative is escaped: the coded data keep the source text as it came.
    (condition,) = section_resources(document, "11450-4")
    assert condition["code"]["text"] == records.HOSTILE


def test_notes_add_to_a_section_or_make_one():
    found = sections(build(records.full_record()))
    assert "gut eingestellt" in found["11450-4"]["text"]["div"]
    directives = found["42348-3"]
    assert "Patientenverfügung" in directives["text"]["div"]
    assert "no information" not in directives["text"]["div"]


# --- the official examples --------------------------------------------------------------------


def test_sections_match_the_official_all_sections_example(examples):
    official = json.loads((examples / "Bundle-bundle-ips-all-sections.json").read_text())
    official_sections = sections(official)
    ours = build(records.full_record())
    for code, section in sections(ours).items():
        theirs = official_sections[code]
        assert section["code"]["coding"] == theirs["code"]["coding"], code
        assert section["title"] == theirs["title"], code
        if code == Section.ADVANCE_DIRECTIVES:
            continue  # ours is free text; theirs is a Consent
        our_types = {r["resourceType"] for r in section_resources(ours, code)}
        their_types = {ref["reference"].split("/")[0] for ref in theirs["entry"]}
        assert our_types == their_types, code


def test_every_section_title_is_the_official_examples(examples):
    # All thirteen titles, compared with the all-sections example: a changed title fails here.
    official = json.loads((examples / "Bundle-bundle-ips-all-sections.json").read_text())
    titles = {code: section["title"] for code, section in sections(official).items()}
    assert {spec.section.value: spec.title for spec in SECTIONS} == {
        spec.section.value: titles[spec.section.value] for spec in SECTIONS
    }
    assert len(SECTIONS) == len(Section)
    ours = sections(build(records.full_record()))
    assert {code: section["title"] for code, section in ours.items()} == {
        code: titles[code] for code in ours
    }


def test_empty_sections_match_the_official_no_information_example(examples):
    name = "Bundle-bundle-no-info-required-sections.json"
    official = sections(json.loads((examples / name).read_text()))
    ours = sections(build(records.minimal_record()))
    for code in ("11450-4", "48765-2", "10160-0"):
        assert ours[code]["emptyReason"] == official[code]["emptyReason"]
        assert ours[code]["code"] == official[code]["code"]
        assert set(ours[code]) == set(official[code])


def test_document_has_the_official_examples_top_level_shape(examples):
    official = json.loads((examples / "Bundle-IPS-examples-Bundle-01.json").read_text())
    ours = build(records.full_record())
    assert set(ours) == set(official)
    # What the official example has and ours lacks: optional elements the record cannot fill.
    assert set(composition(official)) - set(composition(ours)) == {
        "identifier",
        "attester",
        "relatesTo",
    }
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in official["entry"])


def test_checks_leave_the_document_unchanged(profiles):
    document = build(records.full_record())
    before = copy.deepcopy(document)
    fv.validate_bundle(document)
    fv.check_bundle(document, fv.IPS_PROFILES, profiles)
    fv.parse_with_fhir_resources(document)
    assert document == before


# --- helpers ----------------------------------------------------------------------------------


def slice_profiles(profiles: Path) -> dict[str, set[str]]:
    """Section LOINC code -> profiles its entry slices target, from Composition-uv-ips."""
    path = profiles / "ips-2.0.0--StructureDefinition-Composition-uv-ips.json"
    elements = json.loads(path.read_text())["snapshot"]["element"]
    codes: dict[str, str] = {}
    targets: dict[str, set[str]] = defaultdict(set)
    for element in elements:
        parts = element["id"].split(".")
        if len(parts) != 3 or not parts[1].startswith("section:"):
            continue
        if parts[2] == "code":
            codes[parts[1]] = element["patternCodeableConcept"]["coding"][0]["code"]
        elif parts[2].startswith("entry:"):
            for kind in element["type"]:
                targets[parts[1]].update(kind.get("targetProfile", []))
    return {code: targets[name] for name, code in codes.items()}


def xhtml(div: str) -> ET.Element:
    # Our own output, no DTD or entity declarations: nothing for an XML bomb to use.
    return ET.fromstring(div)  # noqa: S314 (the builder's output, not outside input)


def test_comparators_ranges_name_uses_periods_and_dates_reach_the_document():
    base = records.full_record()
    official = HumanName("Testperson", ("Erika",), use="official")
    maiden = HumanName("Beispiel", use="maiden")
    patient = replace(base.patient, names=(official, maiden))
    crp = Observation(
        Concept.of(LOINC, "1988-5", "C reactive protein"),
        Quantity(Decimal("0.5"), "mg/L", UCUM, "mg/L", comparator="<"),
        effective="2024-04-10",
        reference_range="<5 mg/L",
    )
    edd = Observation(Concept.of(LOINC, "11778-8"), DateValue("2024-12-01"), effective="2024-05-01")
    radiotherapy = Procedure(
        Concept(text="Radiotherapie Brust links, 50 Gy in 25 Fraktionen"),
        date="2023-08-14",
        end="2023-09-18",
    )
    record = replace(
        base, patient=patient, results=(crp,), pregnancy=(edd,), procedures=(radiotherapy,)
    )
    document = build(record)
    assert fv.document_errors(document) == []
    (result,) = section_resources(document, "30954-2")
    assert result["valueQuantity"]["comparator"] == "<"
    assert result["referenceRange"] == [{"text": "<5 mg/L"}]
    (due,) = section_resources(document, "10162-6")
    assert due["valueDateTime"] == "2024-12-01"
    assert claimed(due) == [
        "http://hl7.org/fhir/uv/ips/StructureDefinition/Observation-pregnancy-edd-uv-ips"
    ]
    (done,) = section_resources(document, "47519-4")
    assert done["performedPeriod"] == {"start": "2023-08-14", "end": "2023-09-18"}
    person = next(
        e["resource"] for e in document["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert [n.get("use") for n in person["name"]] == ["official", "maiden"]
    narrative = composition(document)["section"]
    shown = json.dumps(narrative)
    assert "&lt;0.5 mg/L" in shown
    assert "2023-08-14" in shown
    assert "2023-09-18" in shown


def test_a_procedure_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="procedure ends before it starts"):
        Procedure(Concept(text="x"), date="2023-09-18", end="2023-08-14")
