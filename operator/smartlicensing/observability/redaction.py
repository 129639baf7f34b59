"""What counts as a secret in text, and how it is masked.

Two nets, because either alone leaks:

- values registered at run time (:func:`register_secret`): every client secret, registration
  token and code the operator reads or receives is registered before it is used, so it is
  masked wherever it turns up, whatever the surrounding text looks like;
- patterns for the shapes a secret has even before anybody registered it: bearer headers,
  ``client_secret=...`` / ``"client_secret": "..."``, registration ``token`` fields, the
  ``<specificPLR>`` authorization-code XML and return codes.

Masking is a plain substitution, done on the final text of a log record (message, arguments,
exception and all), in exception text built by the clients, and nowhere else.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"

_MIN_REGISTERED_LENGTH = 6
"""Shorter values would mask ordinary words; no real secret of ours is this short."""

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    (
        re.compile(
            r"(?i)\b(client_secret|api_secret|access_token|token|authorizationCode|"
            r"confirmationCode|returnCode)(\s*=\s*)[^&\s,;]+"
        ),
        rf"\1\2{MASK}",
    ),
    (
        re.compile(
            r"(?i)(['\"](?:client_secret|api_secret|access_token|token|authorizationCode|"
            r"confirmationCode|returnCode)['\"]\s*:\s*)(['\"])(?:(?!\2).)*\2"
        ),
        rf"\1\2{MASK}\2",
    ),
    (re.compile(r"(?is)<specificPLR>.*?</specificPLR>"), f"<specificPLR>{MASK}</specificPLR>"),
    # Return codes: eight or more groups of six base58-looking characters joined by dashes.
    (re.compile(r"\b(?:[1-9A-HJ-NP-Za-km-z]{6}-){7,}[1-9A-HJ-NP-Za-km-z]{1,6}\b"), MASK),
)


class SecretRegistry:
    """A thread-safe set of secret values to mask wherever they appear."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._compiled: re.Pattern[str] | None = None

    def register(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= _MIN_REGISTERED_LENGTH and value not in self._values:
                    self._values.add(value)
                    self._compiled = None

    def forget(self, *values: str) -> None:
        with self._lock:
            self._values.difference_update(values)
            self._compiled = None

    def __len__(self) -> int:
        return len(self._values)

    def pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._compiled is None and self._values:
                # Longest first, so a secret containing another is masked whole.
                ordered = sorted(self._values, key=len, reverse=True)
                self._compiled = re.compile("|".join(re.escape(value) for value in ordered))
            return self._compiled


SECRETS = SecretRegistry()
"""The process-wide registry the log filter and the clients consult."""


def register_secret(*values: str | None) -> None:
    """Mask these values from now on, in every log line and client error of this process."""
    SECRETS.register(*values)


def redact(text: str, extra: Iterable[str | None] = (), registry: SecretRegistry = SECRETS) -> str:
    """``text`` with registered values, ``extra`` values and secret-shaped substrings masked."""
    for value in extra:
        if value and len(value) >= _MIN_REGISTERED_LENGTH:
            text = text.replace(value, MASK)
    compiled = registry.pattern()
    if compiled is not None:
        text = compiled.sub(MASK, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
