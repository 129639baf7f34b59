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
    """A thread-safe set of secret values to mask wherever they appear.

    Besides the set, an index maps the first :data:`_MIN_REGISTERED_LENGTH` characters of the
    values to the lengths values with that beginning have. Registering a value costs the same
    with ten values as with ten thousand, and masking costs one dictionary look-up per
    character of the text, plus a set look-up per length where a beginning matches, however
    many values are registered. (One regular expression of every value would be recompiled for
    each new value: its cost grows with the square of the registrations.)
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        # Beginning -> the lengths of the values with it, longest first. The tuples are
        # replaced, never changed, so a masking thread never sees one half-updated.
        self._lengths: dict[str, tuple[int, ...]] = {}
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def register(self, *values: str | None) -> None:
        with self._lock:
            for value in values:
                if value and len(value) >= _MIN_REGISTERED_LENGTH and value not in self._values:
                    key = (value[:_MIN_REGISTERED_LENGTH], len(value))
                    self._counts[key] = self._counts.get(key, 0) + 1
                    if self._counts[key] == 1:
                        lengths = {*self._lengths.get(key[0], ()), key[1]}
                        self._lengths[key[0]] = tuple(sorted(lengths, reverse=True))
                    self._values.add(value)

    def forget(self, *values: str) -> None:
        with self._lock:
            for value in values:
                if value not in self._values:
                    continue
                self._values.discard(value)
                key = (value[:_MIN_REGISTERED_LENGTH], len(value))
                self._counts[key] -= 1
                if self._counts[key] == 0:
                    del self._counts[key]
                    rest = tuple(n for n in self._lengths.get(key[0], ()) if n != key[1])
                    if rest:
                        self._lengths[key[0]] = rest
                    else:
                        self._lengths.pop(key[0], None)

    def __len__(self) -> int:
        return len(self._values)

    def mask(self, text: str) -> str:
        """``text`` with every registered value in it replaced by :data:`MASK`.

        Scans left to right; where several values start at one place, the longest wins, and
        the scan goes on after it (as a regular expression alternation would).
        """
        index, values = self._lengths, self._values
        if not index:
            return text
        width = _MIN_REGISTERED_LENGTH
        pieces: list[str] = []
        kept_from = 0
        at = 0
        last = len(text) - width
        while at <= last:
            lengths = index.get(text[at : at + width])
            if lengths is not None:
                for length in lengths:
                    if text[at : at + length] in values:
                        pieces.append(text[kept_from:at])
                        pieces.append(MASK)
                        at += length
                        kept_from = at
                        break
                else:
                    at += 1
            else:
                at += 1
        if not pieces:
            return text
        pieces.append(text[kept_from:])
        return "".join(pieces)


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
    text = registry.mask(text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
