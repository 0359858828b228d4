"""What a national FHIR input holds: one Patient, or a Bundle of the Patient and its resources;
and how references between them resolve (FHIR R4 bundle.html "Resolving references in Bundles").

A reference is matched the way servers write them: the entry's ``fullUrl`` (``urn:uuid:``,
absolute URL), a relative ``Type/id``, or the ``Type/id`` tail of an absolute URL, each without
``/_history/<version>``; ``#id`` names a resource contained in the one that refers to it. A
reference to the patient may also be an identifier (``subject.identifier``) the Patient has;
an absolute one must be the Patient's own ``fullUrl`` (another host's ``Patient/<id>`` is
someone else, whatever the id).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gateway.errors import RecordError, RecordRejected
from gateway.ingest.records.fhir_tree import Node

__all__ = ["BUNDLE_TYPES", "Contents", "Entry", "contents_of"]

# Bundles that carry resources as they are; a history or a transaction-response does not say
# what the record is now.
BUNDLE_TYPES = frozenset({"document", "collection", "transaction", "batch", "searchset"})


@dataclass(frozen=True, slots=True)
class Entry:
    resource: Node
    full_url: str | None = None

    @property
    def resource_type(self) -> str:
        return str(self.resource.data["resourceType"])

    def aliases(self) -> frozenset[str]:
        """The strings a reference to this resource may be written as."""
        found = set()
        if self.full_url is not None:
            url = _unversioned(self.full_url)
            found.add(url)
            tail = _tail(url)
            if tail is not None:
                found.add(tail)
        resource_id = self.resource.text("id")
        if resource_id is not None:
            found.add(f"{self.resource_type}/{resource_id}")
        return frozenset(found)


class Contents:
    """The input's resources; ``patient`` is the one Patient, ``entries`` all the others."""

    def __init__(self, patient: Entry, entries: list[Entry]) -> None:
        self.patient = patient
        self.entries = entries
        self._patient_keys = patient.aliases()
        self._index: dict[str, Node] = {}
        for entry in entries:
            for key in entry.aliases():
                self._index.setdefault(key, entry.resource)

    def resolve(self, reference: Node | None, holder: Node) -> Node | None:
        """The resource ``reference`` points at, within the input; None if it is not there."""
        target = reference.text("reference") if reference is not None else None
        if target is None:
            return None
        if target.startswith("#"):
            return next((c for c in holder.all("contained") if c.text("id") == target[1:]), None)
        url = _unversioned(target)
        return self._index.get(url) or self._index.get(_tail(url) or url)

    def is_patient(self, reference: Node) -> bool:
        """Whether ``reference`` points at the input's Patient."""
        target = reference.text("reference")
        if target is not None:
            url = _unversioned(target)
            if url in self._patient_keys:
                return True
            # An absolute URL names a resource of that server: only the Patient's own fullUrl
            # is it. Another host's Patient/<same id> is someone else.
            return not _absolute(url) and _tail(url) in self._patient_keys
        identifier = reference.get("identifier")
        if identifier is None:
            return False
        wanted = (identifier.text("system"), identifier.text("value"))
        return wanted[1] is not None and wanted in set(_identifiers(self.patient.resource))


def contents_of(root: Node) -> Contents:
    """The Patient and the other resources of a Patient or a Bundle.

    :raises RecordError: for a resource that is neither, a Bundle type that is not read, or an
        entry whose resource has no type.
    :raises RecordRejected: for a Bundle with no Patient, or with two different ones.
    """
    kind = root.data.get("resourceType")
    if kind == "Patient":
        return Contents(Entry(root), [])
    if kind != "Bundle":
        raise RecordError("the input is neither a FHIR Patient nor a Bundle", root.path)
    if root.text("type") not in BUNDLE_TYPES:
        kinds = ", ".join(sorted(BUNDLE_TYPES))
        raise RecordError(f"a Bundle is read when its type is one of {kinds}", root.at("type"))
    entries = list(_entries(root))
    patients = [e for e in entries if e.resource_type == "Patient"]
    if not patients:
        raise RecordRejected("the Bundle holds no Patient", root.at("entry"))
    first = patients[0]
    for other in patients[1:]:
        if not other.aliases() & first.aliases():
            raise RecordRejected(
                "the Bundle holds a second, different Patient", other.resource.path
            )
    return Contents(first, [e for e in entries if e.resource_type != "Patient"])


def _entries(bundle: Node) -> Iterator[Entry]:
    for entry in bundle.all("entry"):
        resource = entry.get("resource")
        if resource is None:  # a transaction's DELETE, a search's outcome-only entry
            continue
        if not isinstance(resource.data.get("resourceType"), str):
            raise RecordError("a resource without a resourceType", resource.path)
        yield Entry(resource, entry.text("fullUrl"))


def _identifiers(patient: Node) -> Iterator[tuple[str | None, str | None]]:
    for identifier in patient.all("identifier"):
        yield identifier.text("system"), identifier.text("value")


def _absolute(url: str) -> bool:
    return "://" in url or url.startswith("urn:")


def _unversioned(url: str) -> str:
    head, marker, _ = url.partition("/_history/")
    return head if marker else url


def _tail(url: str) -> str | None:
    """``Type/id`` at the end of a RESTful URL or relative reference, if it ends so."""
    parts = url.rstrip("/").rsplit("/", 2)
    if len(parts) < 2 or not parts[-2][:1].isupper() or not parts[-1]:
        return None
    return f"{parts[-2]}/{parts[-1]}"
