"""OperationOutcome: how the FHIR and national routes report warnings and errors."""

from __future__ import annotations

from collections.abc import Iterable

from gateway.fhir.datatypes import Json

__all__ = ["IssueCode", "error_outcome", "issue_code_for", "warnings_outcome"]

IssueCode = str

# HTTP status -> FHIR issue type (http://hl7.org/fhir/issue-type).
_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-costly",
    422: "business-rule",
    429: "throttled",
    503: "transient",
    502: "transient",
    504: "timeout",
}


def issue_code_for(status: int) -> IssueCode:
    return _CODES.get(status, "exception")


def error_outcome(status: int, message: str, location: str | None = None) -> Json:
    """An OperationOutcome with one error issue; ``location`` says where in the input."""
    issue: Json = {"severity": "error", "code": issue_code_for(status), "diagnostics": message}
    if location:
        issue["location"] = [location]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def warnings_outcome(warnings: Iterable[tuple[str, str]], summary: str) -> Json:
    """An OperationOutcome for an accepted request: one ``information`` issue with ``summary``,
    then one ``warning`` per (location, message)."""
    issues: list[Json] = [
        {"severity": "information", "code": "informational", "diagnostics": summary}
    ]
    issues += [
        {
            "severity": "warning",
            "code": "informational",
            "diagnostics": f"{location}: {message}",
            "location": [location],
        }
        for location, message in warnings
    ]
    return {"resourceType": "OperationOutcome", "issue": issues}
