"""Failures of the local Kubernetes API, as the ``Status`` objects a real API server sends.

Every refusal is one :class:`StatusError` carrying the HTTP code, the machine-readable reason and
the message a Kubernetes client would show; the server turns it into a ``kind: Status`` body. The
reasons are the ones ``k8s.io/apimachinery`` defines, so clients that branch on them (kopf treats
422 on a JSON patch as "conflict, retry" and a 410 watch ERROR as "re-list") behave as they would
against a real cluster.
"""

from __future__ import annotations

from typing import Any

REASON_NOT_FOUND = "NotFound"
REASON_ALREADY_EXISTS = "AlreadyExists"
REASON_CONFLICT = "Conflict"
REASON_INVALID = "Invalid"
REASON_BAD_REQUEST = "BadRequest"
REASON_METHOD_NOT_ALLOWED = "MethodNotAllowed"
REASON_UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"
REASON_NOT_ACCEPTABLE = "NotAcceptable"
REASON_EXPIRED = "Expired"
REASON_FORBIDDEN = "Forbidden"
REASON_REQUEST_ENTITY_TOO_LARGE = "RequestEntityTooLarge"

CAUSE_INVALID = "FieldValueInvalid"
CAUSE_REQUIRED = "FieldValueRequired"
CAUSE_NOT_SUPPORTED = "FieldValueNotSupported"
CAUSE_TYPE_INVALID = "FieldValueTypeInvalid"
CAUSE_DUPLICATE = "FieldValueDuplicate"
CAUSE_TOO_LONG = "FieldValueTooLong"
CAUSE_TOO_MANY = "FieldValueTooMany"
CAUSE_FORBIDDEN = "FieldValueForbidden"


class FieldError:
    """One cause of an ``Invalid`` answer: which field, why, and the text a person reads."""

    __slots__ = ("field", "message", "reason")

    def __init__(self, reason: str, field: str, message: str) -> None:
        self.reason = reason
        self.field = field
        self.message = message

    def __repr__(self) -> str:
        return f"FieldError({self.reason!r}, {self.field!r}, {self.message!r})"

    def render(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_cause(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


class StatusError(Exception):
    """A request the local API refuses; ``status()`` is the body a real API server would send."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> StatusError:
    return StatusError(
        404,
        REASON_NOT_FOUND,
        f'{_qualified(plural, group)} "{name}" not found',
        details={"name": name, "group": group, "kind": plural},
    )


def already_exists(plural: str, group: str, name: str) -> StatusError:
    return StatusError(
        409,
        REASON_ALREADY_EXISTS,
        f'{_qualified(plural, group)} "{name}" already exists',
        details={"name": name, "group": group, "kind": plural},
    )


def conflict(plural: str, group: str, name: str, why: str) -> StatusError:
    return StatusError(
        409,
        REASON_CONFLICT,
        f'Operation cannot be fulfilled on {_qualified(plural, group)} "{name}": {why}',
        details={"name": name, "group": group, "kind": plural},
    )


STALE_OBJECT = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def invalid(kind: str, group: str, name: str, causes: list[FieldError]) -> StatusError:
    """The 422 answer for an object that fails validation, worded like Kubernetes."""
    rendered = [cause.render() for cause in causes]
    summary = rendered[0] if len(rendered) == 1 else "[" + ", ".join(rendered) + "]"
    qualified_kind = f"{kind}.{group}" if group else kind
    return StatusError(
        422,
        REASON_INVALID,
        f'{qualified_kind} "{name}" is invalid: {summary}',
        details={
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [cause.as_cause() for cause in causes],
        },
    )


def bad_request(message: str) -> StatusError:
    return StatusError(400, REASON_BAD_REQUEST, message)


def gone(requested: str, oldest: int) -> StatusError:
    return StatusError(410, REASON_EXPIRED, f"too old resource version: {requested} ({oldest})")


def json_type_name(value: Any) -> str:
    """The JSON type of a decoded value, as Kubernetes names it in validation messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
