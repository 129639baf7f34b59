"""Request signing of the Secure Workload OpenAPI, used by the ``api`` driver's contract.

A request is authenticated by an HMAC-SHA256 over five lines (method, path with query, body
checksum, content type, timestamp), keyed with the first 40 bytes of the API secret. The same
function signs on the client side and verifies on the server side, so the two cannot drift.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

CONTENT_TYPE = "application/json"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S+0000"
SECRET_LENGTH = 40
"""Secure Workload secrets are used through their first 40 bytes; shorter ones cannot sign."""

_METHODS_WITH_CHECKSUM = frozenset({"POST", "PUT", "DELETE"})


class SigningKeyTooShort(ValueError):
    """The API secret has fewer than the 40 bytes the signing scheme needs."""


def body_checksum(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def format_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def signature(
    secret: str,
    *,
    method: str,
    path: str,
    checksum: str,
    content_type: str,
    timestamp: str,
) -> str:
    """The base64 HMAC-SHA256 of the string to sign. ``path`` includes the query string."""
    key = secret.encode()
    if len(key) < SECRET_LENGTH:
        raise SigningKeyTooShort(
            f"an API secret must have at least {SECRET_LENGTH} bytes to sign requests"
        )
    message = f"{method.upper()}\n{path}\n{checksum}\n{content_type}\n{timestamp}\n"
    digest = hmac.new(key[:SECRET_LENGTH], message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_headers(
    key_id: str,
    secret: str,
    *,
    method: str,
    path: str,
    body: bytes = b"",
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers that authenticate one request."""
    timestamp = format_timestamp(now or datetime.now(UTC))
    method = method.upper()
    checksum = body_checksum(body) if body and method in _METHODS_WITH_CHECKSUM else ""
    headers = {
        "Id": key_id,
        "Timestamp": timestamp,
        "Content-Type": CONTENT_TYPE,
        "Authorization": signature(
            secret,
            method=method,
            path=path,
            checksum=checksum,
            content_type=CONTENT_TYPE,
            timestamp=timestamp,
        ),
    }
    if checksum:
        headers["X-Tetration-Cksum"] = checksum
    return headers


def verify(secret: str, *, method: str, path: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether ``headers`` carry a valid signature (and checksum) of this request.

    ``headers`` must be case-insensitive, as HTTP headers are. The timestamp's freshness is the
    caller's decision.
    """
    checksum = headers.get("X-Tetration-Cksum", "")
    if checksum and not hmac.compare_digest(checksum, body_checksum(body)):
        return False
    if body and not checksum and method.upper() in _METHODS_WITH_CHECKSUM:
        return False
    try:
        expected = signature(
            secret,
            method=method,
            path=path,
            checksum=checksum,
            content_type=headers.get("Content-Type", ""),
            timestamp=headers.get("Timestamp", ""),
        )
    except SigningKeyTooShort:
        return False
    return hmac.compare_digest(expected, headers.get("Authorization", ""))
