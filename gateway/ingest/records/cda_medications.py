"""Medications and immunizations: eHDSI ``substanceAdministration`` entries.

The medicine is the ``consumable/manufacturedProduct/manufacturedMaterial``: its own ``code``
(a product code, when coded), the ATC class of ``pharm:asSpecializedKind`` (eHDSI writes the
class of a combination or a product there), and, for a single-ingredient product with neither,
the ``pharm:ingredient`` substance (ATC). Its ``name`` is the brand. The ``pharm:`` namespace
differs between eHDSI and epSOS documents; the profile lists the ones it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from lxml import etree

from gateway.domain.records import Concept, Immunization, MedicationUse
from gateway.ingest.records.cda_values import (
    absent,
    bare,
    concept,
    interval,
    mapped,
    null_flavor,
    written_quantity,
)
from gateway.ingest.records.cda_xml import (
    XSI_TYPE,
    Context,
    Element,
    child,
    first,
    local_name,
    nodes,
    path,
    plain_text,
    rejecting,
    text_of,
)

__all__ = ["immunizations", "medications"]

_MATERIAL = path("h:consumable/h:manufacturedProduct/h:manufacturedMaterial")
_TIMINGS = ("PIVL_TS", "EIVL_TS", "SXPR_TS")


@cache
def _pharm_paths(namespaces: tuple[str, ...]) -> tuple[etree.XPath, etree.XPath]:
    """(class codes, active ingredient substances) in any of the medication namespaces."""
    prefixes = {f"m{n}": namespace for n, namespace in enumerate(namespaces)}
    classes = " | ".join(
        f"{m}:asSpecializedKind/{m}:generalizedMaterialKind/{m}:code" for m in prefixes
    )
    # eHDSI names the substance pharm:ingredientSubstance; epSOS nests another ingredient.
    substances = " | ".join(
        f"{m}:ingredient[@classCode='ACTI']/{m}:ingredientSubstance"
        f" | {m}:ingredient[@classCode='ACTI']/{m}:ingredient"
        for m in prefixes
    )
    return (
        etree.XPath(classes, namespaces=prefixes),
        etree.XPath(substances, namespaces=prefixes),
    )


def medications(ctx: Context, statements: Sequence[Element], target: str) -> list[MedicationUse]:
    return list(filter(None, (_medication(ctx, s, target) for s in statements)))


def _medication(ctx: Context, statement: Element, target: str) -> MedicationUse | None:
    if local_name(statement) != "substanceAdministration":
        ctx.warn(statement, f"entry <{local_name(statement)}> is not a medication: not read")
        return None
    start, end = interval(ctx, _period(statement))
    medication = _medicine(ctx, statement, target, dated=start is not None or end is not None)
    if medication is None:
        ctx.warn(statement, "a medication without a coded or named medicine: not read")
        return None
    statuses = ctx.mapping.statuses.medication
    status = mapped(ctx, child(statement, "statusCode"), statuses, "medication status")
    dosage = ctx.referenced_text(child(statement, "text")) or _dosage(statement)
    route = concept(ctx, child(statement, "routeCode"))
    return rejecting(
        statement,
        lambda: MedicationUse(medication, status or "unknown", start, end, dosage, route),
    )


def _medicine(ctx: Context, statement: Element, target: str, *, dated: bool) -> Concept | None:
    material = first(_MATERIAL, statement)
    if material is None:
        return None if dated else absent(ctx, target, null_flavor(statement), statement)
    classes, substances = _pharm_paths(ctx.mapping.medication_namespaces)
    coded = child(material, "code")
    parts = [concept(ctx, coded), *(concept(ctx, c) for c in nodes(classes, material))]
    if not any(p and p.codings for p in parts):
        ingredients = nodes(substances, material)
        if len(ingredients) == 1:  # a single substance names the medicine
            parts.append(_substance(ctx, ingredients[0]))
    codings = tuple(dict.fromkeys(c for p in parts if p for c in p.codings))
    brand = _text(child(material, "name"))
    text = (parts[0].text if parts[0] else None) or brand
    text = text or next((p.text for p in parts if p and p.text), None)
    if codings or text is not None:
        return rejecting(material, lambda: Concept(codings, text))
    if dated or not bare(material):  # a medicine the reader cannot name is still a medicine
        return None
    return absent(ctx, target, null_flavor(coded, material, statement), statement)


def _substance(ctx: Context, substance: Element) -> Concept | None:
    coded = next((c for c in substance if local_name(c) == "code"), None)
    named = next((c for c in substance if local_name(c) == "name"), None)
    found = concept(ctx, coded)
    name = _text(named)
    if found is None:
        return Concept(text=name) if name else None
    return found if found.text or name is None else Concept(found.codings, name)


def _text(element: Element | None) -> str | None:
    return text_of(element) if element is not None else None


def _period(statement: Element) -> Element | None:
    """The effectiveTime that is the period of use, not the dosing frequency."""
    return next(
        (
            e
            for e in statement
            if local_name(e) == "effectiveTime"
            and (e.get(XSI_TYPE) or "").rpartition(":")[2] not in _TIMINGS
        ),
        None,
    )


def _dosage(statement: Element) -> str | None:
    """The structured dose and frequency, written out, for an entry whose narrative gives none."""
    dose = child(statement, "doseQuantity")
    amount = _amount(dose) if dose is not None else None
    timing = [_timing(e) for e in statement if local_name(e) == "effectiveTime"]
    return plain_text(" ".join(filter(None, (amount, *timing))))


def _amount(dose: Element) -> str | None:
    if dose.get("value"):
        return written_quantity(dose)
    low, high = child(dose, "low"), child(dose, "high")
    shown = [written_quantity(e) for e in (low, high) if e is not None and e.get("value")]
    return "–".join(filter(None, shown)) or None


def _timing(element: Element) -> str | None:
    kind = (element.get(XSI_TYPE) or "").rpartition(":")[2]
    if kind == "PIVL_TS":
        period = child(element, "period")
        shown = written_quantity(period) if period is not None else None
        return f"every {shown}" if shown else None
    if kind == "EIVL_TS":
        event = child(element, "event")
        if event is not None:
            return plain_text(event.get("displayName")) or plain_text(event.get("code"))
    return None


def immunizations(ctx: Context, statements: Sequence[Element], target: str) -> list[Immunization]:
    return list(filter(None, (_immunization(ctx, s, target) for s in statements)))


def _immunization(ctx: Context, statement: Element, target: str) -> Immunization | None:
    if local_name(statement) != "substanceAdministration":
        ctx.warn(statement, f"entry <{local_name(statement)}> is not an immunization: not read")
        return None
    date, _ = interval(ctx, _period(statement))
    material = first(_MATERIAL, statement)
    vaccine = _vaccine(ctx, statement, material, target, dated=date is not None)
    if vaccine is None:
        ctx.warn(statement, "an immunization without a coded or named vaccine: not read")
        return None
    statuses = ctx.mapping.statuses.immunization
    status = mapped(ctx, child(statement, "statusCode"), statuses, "immunization status")
    if statement.get("negationInd") == "true":
        status = "not-done"
    lot = _text(child(material, "lotNumberText")) if material is not None else None
    # An administration (moodCode EVN) the source gives no status for took place.
    return rejecting(statement, lambda: Immunization(vaccine, date, status or "completed", lot))


def _vaccine(
    ctx: Context, statement: Element, material: Element | None, target: str, *, dated: bool
) -> Concept | None:
    coded = child(material, "code") if material is not None else None
    found = concept(ctx, coded)
    if found is None and material is not None:
        brand = _text(child(material, "name"))
        found = Concept(text=brand) if brand else None
    if found is not None or dated or not bare(material):
        return found
    return absent(ctx, target, null_flavor(coded, material, statement), statement)
