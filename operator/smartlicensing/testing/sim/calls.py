"""The call log: what reached the simulator, in order, with every secret masked.

Tests assert on it ("exactly one reserve call", "no call before Retry-After"), so it records each
request's method, path, status, simulator time and, for cluster calls, the cluster. Secrets never
enter it: JSON and form fields named like secrets are masked by name, bearer and HMAC
``Authorization`` headers are masked, and any value the world knows to be secret (client secrets,
registration tokens, codes, API secrets) is masked wherever else it might appear.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from smartlicensing.testing.sim import choices

MASK = "***"
SECRET_FIELDS = frozenset(
    {
        "token",
        "tokens",
        "client_secret",
        "clientSecret",
        "access_token",
        "authorizationCode",
        "confirmationCode",
        "returnCode",
        "api_secret",
        "apiSecret",
        "password",
    }
)
_LOGGED_HEADERS = ("content-type", "id", "timestamp", "authorization", "retry-after")


def mask_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if k in SECRET_FIELDS else mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    return value


def mask_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


_FIELD_NAMES = "|".join(sorted(SECRET_FIELDS, key=len, reverse=True))
_JSON_SECRET = re.compile(rf'("(?:{_FIELD_NAMES})"\s*:\s*)"(?:[^"\\]|\\.)*"?')
_FORM_SECRET = re.compile(rf"(?:(?<=[&?\s])|^)((?:{_FIELD_NAMES})=)[^&\s]*")


def mask_body(body: bytes, content_type: str, secrets: Iterable[str]) -> str:
    """The body as logged: secret fields masked whatever the content type claims.

    A client may send JSON as ``text/plain``, or a body that does not parse; secret-named fields
    are then masked by pattern, because the value may be a secret the world does not know (a
    wrong or real client secret).
    """
    if not body:
        return ""
    text = body.decode("utf-8", errors="replace")
    try:
        text = json.dumps(mask_value(json.loads(text)), separators=(",", ":"))
    except ValueError:
        if "form" in content_type:
            pairs = [(k, MASK if k in SECRET_FIELDS else v) for k, v in parse_qsl(text)]
            text = urlencode(pairs, safe="*")
        text = _JSON_SECRET.sub(rf'\1"{MASK}"', text)
        text = _FORM_SECRET.sub(rf"\1{MASK}", unquote(text))
    return mask_text(text, secrets)[: choices.BODY_LOG_LIMIT]


def mask_query(query: str, secrets: Iterable[str]) -> str:
    if not query:
        return ""
    pairs = [(k, MASK if k in SECRET_FIELDS else v) for k, v in parse_qsl(query, True)]
    return mask_text(urlencode(pairs, safe="*"), secrets)


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    logged = {}
    for name in _LOGGED_HEADERS:
        if name in headers:
            value = headers[name]
            if name == "authorization":
                scheme = value.split(" ", 1)[0] if " " in value else ""
                value = f"{scheme} {MASK}".strip()
            logged[name] = value
    return logged


class CallLog:
    """A bounded, ordered record of calls; ``seq`` keeps counting across resets.

    Safe to read from a test's thread while the server thread records.
    """

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=choices.CALL_LOG_LIMIT)
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)
        return entry

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._entries if e["seq"] > since]

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """How many calls match an exact method and a path glob."""
        return sum(
            1
            for e in self.entries()
            if (method is None or e["method"] == method.upper())
            and (path is None or fnmatchcase(e["path"], path))
        )
