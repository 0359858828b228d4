"""The gateway's own coded errors.

Services and adapters raise these; only the edges (``gateway.api`` and ``gateway.cli``)
turn them into HTTP answers (Beacon error, OperationOutcome, problem document) or exit codes.

    GatewayError
     ├── BadRequest              400  the caller's input is malformed
     │    ├── BadBeaconQuery          a Beacon query the spec does not allow
     │    ├── IngestError             a file that cannot be ingested (names the line/record)
     │    ├── RecordError             a national record that cannot be read (names where)
     │    │    └── RecordRejected 422  readable, but breaks a rule (no identifier, bad check)
     │    └── TooLarge           413  a request body over the limit
     ├── Unauthorized            401  no or a bad credential (token, webhook signature)
     ├── NotFound                404
     ├── Conflict                409
     ├── Forbidden               403
     ├── TooManyRequests         429
     ├── Unavailable             503  a dependency (database, keys) is not ready
     └── Misconfigured           500  the gateway's own configuration is unusable (profiles)
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""

    code: str = "gateway_error"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(GatewayError):
    code = "bad_request"
    status = 400


class BadBeaconQuery(BadRequest):
    code = "bad_beacon_query"


class IngestError(BadRequest):
    """A file cannot be ingested; the message says what and where (line, record, sample)."""

    code = "ingest_error"


class RecordError(BadRequest):
    """A national record cannot be read: malformed XML, HL7 or CSV, a forbidden DTD, a wrong
    encoding. ``location`` says where (a line, an HL7 segment and field, an XPath, a column);
    the message says what, never quoting patient data."""

    code = "invalid_record"

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.location = location
        self.detail = message


class RecordRejected(RecordError):
    """A readable record that breaks a rule: no patient identifier, no birth date, an
    impossible date, an identifier that fails a check the profile makes mandatory."""

    code = "record_rejected"
    status = 422


class TooLarge(BadRequest):
    code = "too_large"
    status = 413


class Unauthorized(GatewayError):
    code = "unauthorized"
    status = 401


class NotFound(GatewayError):
    code = "not_found"
    status = 404


class Conflict(GatewayError):
    code = "conflict"
    status = 409


class Forbidden(GatewayError):
    code = "forbidden"
    status = 403


class TooManyRequests(GatewayError):
    code = "too_many_requests"
    status = 429


class Unavailable(GatewayError):
    code = "unavailable"
    status = 503


class Misconfigured(GatewayError):
    """The operator's configuration cannot be used (a broken profile, a missing folder)."""

    code = "misconfigured"
    status = 500
