"""FHIR R4 ``AuditEvent`` records in the shape of IHE Basic Audit Log Patterns (BALP)."""

from __future__ import annotations

from gateway.fhir.datatypes import Json

__all__ = ["audit_event"]

_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_INTERACTION = "http://hl7.org/fhir/restful-interaction"
_SECURITY_ALERT = ("http://dicom.nema.org/resources/ontology/DCM", "110113", "Security Alert")
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
    ``operation``) or ``security-alert``; ``outcome`` is ``success``, ``minor-failure`` (a
    refusal) or ``serious-failure``; ``patient`` a ``Patient/{id}`` reference.
    """
    alert = interaction == "security-alert"
    event: Json = {
        "resourceType": "AuditEvent",
        "id": resource_id,
        "type": (
            {
                "system": _SECURITY_ALERT[0],
                "code": _SECURITY_ALERT[1],
                "display": _SECURITY_ALERT[2],
            }
            if alert
            else {"system": _EVENT_TYPE, "code": "rest", "display": "Restful Operation"}
        ),
        "action": "C"
        if interaction == "create"
        else "E"
        if alert or interaction == "operation"
        else "R",
        "recorded": recorded,
        "outcome": _OUTCOMES[outcome],
        "agent": [_agent(agent, purpose)],
        "source": {"observer": {"display": observer}},
    }
    if not alert:
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


def _agent(who: str, purpose: str | None) -> Json:
    agent: Json = {"who": {"display": who}, "requestor": True}
    if purpose:
        agent["purposeOfUse"] = [{"coding": [{"system": _PURPOSE, "code": purpose}]}]
    return agent
