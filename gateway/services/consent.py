"""Consent portal events in, FHIR ``Consent`` resources out.

``POST /consent/events`` (DESIGN.md §2): the signature is checked on the raw bytes before
anything is parsed; a webhook id seen before is acknowledged without a second directive
(idempotent, so a portal may retry); the body is parsed strictly (duplicate keys refused).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from gateway.auth.webhooks import verify_webhook
from gateway.domain.consent import ANY_COUNTRY, PURPOSES, Directive, DirectiveKind
from gateway.domain.json_keys import unique_keys
from gateway.domain.records import Identifier
from gateway.domain.requester import Requester
from gateway.errors import BadRequest, Unauthorized
from gateway.fhir.datatypes import Json
from gateway.profiles.identifiers import normalize_system, normalize_value, system_for
from gateway.services.audit import AuditService
from gateway.storage.consents import ConsentRepository
from gateway.storage.database import Database
from gateway.storage.patients import PatientRepository

__all__ = ["ConsentService", "parse_event"]

_FUTURE_TOLERANCE = timedelta(minutes=5)  # as the webhook-timestamp window
_CATEGORY = re.compile(r"patient-summary|genomics|research|section:[0-9]{1,8}-[0-9]")
_COUNTRY = re.compile(r"[A-Z]{2}|\*")
# Identifier systems and values are looked up and stored: no control characters (PostgreSQL
# refuses NUL) and no lone surrogates (not encodable).
_TEXT = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{1,256}")
# The replay store's key (consent_directives.webhook_id).
_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,128}")
_CATEGORY_SYSTEM = "https://gateway.example.eu/fhir/CodeSystem/consent-category"
_RECIPIENT = "https://gateway.example.eu/fhir/StructureDefinition/recipient-country"


class ConsentService:
    def __init__(
        self, database: Database, secrets: Sequence[str], audit: AuditService | None = None
    ) -> None:
        self._database = database
        self._secrets = tuple(secrets)
        self._audit = audit

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Store the event's directive; False when this webhook id was stored before.

        :raises Unauthorized: bad signature (nothing is parsed or stored);
        :raises BadRequest: a signed body that is not a valid consent event.
        """
        try:
            webhook_id = verify_webhook(body, headers, self._secrets)
        except Unauthorized:
            if self._audit is not None:  # refused signatures are security alerts
                await self._audit.record(
                    "security-alert",
                    "minor-failure",
                    agent="consent portal webhook",
                    description="consent event refused: signature, timestamp or headers",
                )
            raise
        if not _WEBHOOK_ID.fullmatch(webhook_id):
            raise BadRequest("webhook-id: printable ASCII without spaces, at most 128 characters")
        citizen, directive = parse_event(body)
        async with self._database.write() as connection:
            repo = ConsentRepository(connection)
            if await repo.seen(webhook_id):
                return False
            await repo.add(webhook_id, citizen, directive)
        return True

    async def consents(self, patient_id: str, who: Requester) -> list[Json]:
        """The patient's directives as FHIR R4 Consent resources, oldest first; the read is
        in the patient's access log."""
        async with self._database.read() as connection:
            identifiers = await PatientRepository(connection).identifiers_of(patient_id)
            found = await ConsentRepository(connection).for_citizens(identifiers)
        if not identifiers:
            return []  # no such patient: nothing read, nothing to log under that id
        directives = sorted(
            (d for group in found.values() for d in group), key=lambda d: d.recorded
        )
        if self._audit is not None:
            await self._audit.record(
                "search-type",
                "success",
                patient_id=patient_id,
                what="Consent",
                agent=who.agent,
                purpose=who.purpose,
            )
        return [_consent(d, patient_id, n) for n, d in enumerate(directives)]


def parse_event(body: bytes) -> tuple[Identifier, Directive]:
    """The citizen and directive of a consent event body. :raises BadRequest: says which field."""
    try:
        event = json.loads(body, object_pairs_hook=unique_keys)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"consent event is not JSON: {exc}") from None
    except RecursionError:
        raise BadRequest("consent event is not JSON: nested too deeply") from None
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict):
        raise BadRequest("consent event needs type, timestamp and data")
    data = event["data"]
    kind = _one_of(event.get("type"), {k.value for k in DirectiveKind}, "type")
    citizen = data.get("citizen")
    if not isinstance(citizen, dict) or not all(
        isinstance(citizen.get(k), str) and citizen[k].strip() for k in ("system", "value")
    ):
        raise BadRequest("data.citizen needs a system and a value")
    if not all(_TEXT.fullmatch(citizen[k]) for k in ("system", "value")):
        raise BadRequest("data.citizen: printable text of at most 256 characters")
    period = data.get("period")
    period = {} if period is None else period  # absent or null: no period
    if not isinstance(period, dict):
        raise BadRequest("data.period is not an object")
    try:
        directive = Directive(
            kind=DirectiveKind(kind),
            recorded=_instant(event.get("timestamp"), "timestamp"),
            purposes=_codes(data.get("purposes"), PURPOSES, "data.purposes"),
            countries=_countries(data.get("recipientCountries")),
            categories=_categories(data.get("categories")),
            start=_instant(period["start"], "data.period.start") if "start" in period else None,
            end=_instant(period["end"], "data.period.end") if "end" in period else None,
        )
    except ValueError as exc:
        raise BadRequest(f"consent event: {exc}") from None
    if directive.recorded > datetime.now(UTC) + _FUTURE_TOLERANCE:
        # The newest directive wins: one dated ahead would outrank every later decision.
        raise BadRequest("consent event: timestamp is in the future")
    return _canonical(citizen["system"], citizen["value"]), directive


def _canonical(system: str, value: str) -> Identifier:
    """The citizen's identifier spelled as stored records spell it: a revocation that names
    ``m 123 456 785`` is the citizen ``M123456785``'s all the same, not a no-op."""
    system = normalize_system(system)
    registered = system_for(system)
    return Identifier(system, normalize_value(registered.key if registered else None, value))


def _one_of(value: object, allowed: set[str], where: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise BadRequest(f"{where} must be one of {', '.join(sorted(allowed))}")
    return value


def _instant(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be an ISO-8601 date-time with a zone")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{where} must be an ISO-8601 date-time with a zone") from None
    if moment.tzinfo is None:
        raise BadRequest(f"{where} needs a time zone")
    return moment


def _strings(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{where} must be a list of strings")
    return value


def _codes(value: object, allowed: frozenset[str], where: str) -> frozenset[str]:
    codes = frozenset(_strings(value, where))
    unknown = codes - allowed
    if unknown:
        raise BadRequest(f"{where}: unknown codes {', '.join(sorted(unknown))}")
    return codes


def _countries(value: object) -> frozenset[str]:
    countries = _strings(value, "data.recipientCountries")
    if not all(_COUNTRY.fullmatch(c) for c in countries):
        raise BadRequest("data.recipientCountries: ISO 3166 alpha-2 codes or '*'")
    return frozenset(countries or [ANY_COUNTRY])


def _categories(value: object) -> frozenset[str]:
    categories = _strings(value, "data.categories")
    if not all(_CATEGORY.fullmatch(c) for c in categories):
        raise BadRequest("data.categories: patient-summary, section:<LOINC>, genomics or research")
    return frozenset(categories)


def _consent(directive: Directive, patient_id: str, index: int) -> Json:
    research = directive.kind in (DirectiveKind.RESEARCH_OPTED_IN, DirectiveKind.RESEARCH_OPTED_OUT)
    permit = directive.kind in (DirectiveKind.GRANTED, DirectiveKind.RESEARCH_OPTED_IN)
    provision: Json = {"type": "permit" if permit else "deny"}
    if directive.start or directive.end:
        provision["period"] = {
            k: v.isoformat() for k, v in (("start", directive.start), ("end", directive.end)) if v
        }
    if directive.purposes:
        provision["purpose"] = [
            {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": p}
            for p in sorted(directive.purposes)
        ]
    if directive.categories:
        provision["class"] = [
            {"system": _CATEGORY_SYSTEM, "code": c} for c in sorted(directive.categories)
        ]
    consent: Json = {
        "resourceType": "Consent",
        "id": f"{patient_id}-{index}",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "research" if research else "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient_id}"},
        "dateTime": directive.recorded.isoformat(),
        "policyRule": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "OPTIN" if permit else "OPTOUT",
                }
            ]
        },
        "provision": provision,
    }
    if ANY_COUNTRY not in directive.countries:
        consent["extension"] = [
            {"url": _RECIPIENT, "valueCode": c} for c in sorted(directive.countries)
        ]
    return consent
