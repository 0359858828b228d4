"""FHIR R4 ``AuditEvent`` records in the shape of IHE Basic Audit Log Patterns (BALP)."""

from __future__ import annotations

from gateway.fhir.datatypes import Json

__all__ = ["audit_event"]

_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_INTERACTION = "http://hl7.org/fhir/restful-interaction"
_SECURITY_ALERT = ("http://dicom.nema.org/resources/ontology/DCM", "110113", "Security Alert")
# BALP AuditIUAgetAccessToken: a token issued is a User Authentication event, IHE ITI-71.
_AUTHENTICATION = ("http://dicom.nema.org/resources/ontology/DCM", "110114", "User Authentication")
_TOKEN_SUBTYPE = {
    "system": "urn:ihe:event-type-code",
    "code": "ITI-71",
    "display": "Get Access Token",
}
_PURPOSE = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_OUTCOMES = {"success": "0", "minor-failure": "4", "serious-failure": "8"}


def audit_event(
    *,
    resource_id: str,
    interaction: str,
    recorded: str,
    outcome: str,
    agent: str,
    observer: str,
    what: str | None = None,
    patient: str | None = None,
    purpose: str | None = None,
    description: str | None = None,
) -> Json:
    """One access as an AuditEvent.

    ``interaction`` is a FHIR restful interaction (``read``, ``search-type``, ``create``,
    ``operation``), ``token`` (an access token issued) or ``security-alert``; ``outcome``
    is ``success``, ``minor-failure`` (a refusal) or ``serious-failure``; ``patient`` a
    ``Patient/{id}`` reference.
    """
    alert = interaction == "security-alert"
    token = interaction == "token"
    event: Json = {
        "resourceType": "AuditEvent",
        "id": resource_id,
        "type": _coding(_SECURITY_ALERT)
        if alert
        else _coding(_AUTHENTICATION)
        if token
        else {"system": _EVENT_TYPE, "code": "rest", "display": "Restful Operation"},
        "action": "C"
        if interaction == "create"
        else "E"
        if alert or token or interaction == "operation"
        else "R",
        "recorded": recorded,
        "outcome": _OUTCOMES[outcome],
        "agent": [_agent(agent, purpose)],
        "source": {"observer": {"display": observer}},
    }
    if token:
        event["subtype"] = [_TOKEN_SUBTYPE]
    elif not alert:
        event["subtype"] = [{"system": _INTERACTION, "code": interaction}]
    if description:
        event["outcomeDesc"] = description
    entities = []
    if patient:
        entities.append(
            {
                "what": {"reference": patient},
                "role": {"system": _ROLE, "code": "1", "display": "Patient"},
            }
        )
    if what and what != patient:
        entities.append({"what": {"reference": what}, "role": {"system": _ROLE, "code": "4"}})
    if entities:
        event["entity"] = entities
    return event


def _coding(code: tuple[str, str, str]) -> Json:
    return {"system": code[0], "code": code[1], "display": code[2]}


def _agent(who: str, purpose: str | None) -> Json:
    agent: Json = {"who": {"display": who}, "requestor": True}
    if purpose:
        agent["purposeOfUse"] = [{"coding": [{"system": _PURPOSE, "code": purpose}]}]
    return agent
