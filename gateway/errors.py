"""The gateway's own coded errors.

Services and adapters raise these; only the edges (``gateway.api`` and ``gateway.cli``)
turn them into HTTP answers (Beacon error, OperationOutcome, problem document) or exit codes.

    GatewayError
     ├── BadRequest              400  the caller's input is malformed
     │    ├── BadBeaconQuery          a Beacon query the spec does not allow
     │    ├── IngestError             a file that cannot be ingested (names the line/record)
     │    ├── RecordError             a national record that cannot be read (names where)
     │    │    └── RecordRejected 422  readable, but breaks a rule (no identifier, bad check)
     │    ├── TooLarge           413  a request body over the limit
     │    ├── UriTooLong         414  a request target (path and query) over the limit
     │    ├── HeadersTooLarge    431  request headers over the limit
     │    └── RequestTimeout     408  a body that did not arrive in time (a slow client)
     ├── Unauthorized            401  no or a bad credential (token, webhook signature)
     ├── OAuthError          400/401  a token request refused (RFC 6749 §5.2 error codes)
     ├── NotFound                404
     ├── Conflict                409
     ├── Forbidden               403
     ├── TooManyRequests         429
     ├── Unavailable             503  a dependency (database, keys) is not ready
     ├── PeerFailed              502  a peer gateway is unreachable or answered nonsense
     │    └── PeerTimeout        504  a peer gateway did not answer in time
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

    @property
    def headers(self) -> dict[str, str]:
        """Response headers the edge must send with this error."""
        return {}


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


class UriTooLong(BadRequest):
    code = "uri_too_long"
    status = 414


class HeadersTooLarge(BadRequest):
    code = "headers_too_large"
    status = 431


class RequestTimeout(BadRequest):
    code = "request_timeout"
    status = 408

    @property
    def headers(self) -> dict[str, str]:
        # The rest of the body may still be on its way: the connection cannot be reused.
        return {"Connection": "close"}


class _Challenged(GatewayError):
    """An error whose answer carries ``challenge`` as ``WWW-Authenticate`` (RFC 6750 §3)."""

    def __init__(self, message: str, challenge: str | None = None) -> None:
        super().__init__(message)
        self.challenge = challenge

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge} if self.challenge else {}


class Unauthorized(_Challenged):
    code = "unauthorized"
    status = 401


class OAuthError(GatewayError):
    """A refused token request. ``error`` is the RFC 6749 §5.2 code (``invalid_client``,
    ``invalid_grant``, ``invalid_scope``...); the edge answers in that format."""

    code = "oauth_error"

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.status = 401 if error == "invalid_client" else 400


class NotFound(GatewayError):
    code = "not_found"
    status = 404


class Conflict(GatewayError):
    code = "conflict"
    status = 409


class Forbidden(_Challenged):
    code = "forbidden"
    status = 403


class TooManyRequests(GatewayError):
    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class Unavailable(GatewayError):
    code = "unavailable"
    status = 503


class PeerFailed(GatewayError):
    """A peer gateway could not be reached, refused this gateway, or answered nonsense."""

    code = "bad_gateway"
    status = 502


class PeerTimeout(PeerFailed):
    """A peer gateway did not answer within the time allowed."""

    code = "gateway_timeout"
    status = 504


class Misconfigured(GatewayError):
    """The operator's configuration cannot be used (a broken profile, a missing folder)."""

    code = "misconfigured"
    status = 500
