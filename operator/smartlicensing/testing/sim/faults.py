"""Faults a test asks for, and the shared rate limit.

A fault matches requests by path (a glob, or a regular expression) and optionally by method, and
applies to the next ``count`` matches (or until cleared), after skipping ``skip`` matches. Kinds:
``error`` (an HTTP error answer, 503 unless told), ``throttle`` (429 with ``Retry-After``),
``slow`` (answer after a real-time delay, bounded), ``drop`` (close the connection without an
answer) and ``commit`` (do the work, then answer an error instead of its result: the case where a
client cannot know whether its call took effect; with ``delay`` the answer is held that long
first, with ``drop`` the connection closes instead of answering).

The rate limit is a token bucket in real (monotonic) time, because the operator's clients wait in
real time; the clock is injectable so tests never sleep.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any, Literal

from smartlicensing.testing.sim import choices

FaultKind = Literal["error", "throttle", "slow", "drop", "commit"]
FAULT_KINDS: tuple[FaultKind, ...] = ("error", "throttle", "slow", "drop", "commit")


class FaultSpecError(ValueError):
    """A fault or rate-limit request is malformed."""


@dataclass
class Fault:
    id: int
    kind: FaultKind
    path: str | None = None
    regex: str | None = None
    method: str | None = None
    status: int = 503
    retry_after: int = 1
    delay: float = 0.0
    count: int | None = None
    skip: int = 0
    drop: bool = False
    """``commit`` only: close the connection after the work instead of answering ``status``."""
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self._pattern is not None:
            return self._pattern.search(path) is not None
        return self.path is not None and fnmatchcase(path, self.path)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "regex": self.regex,
            "method": self.method,
            "status": self.status,
            "retryAfter": self.retry_after,
            "delay": self.delay,
            "count": self.count,
            "skip": self.skip,
            "drop": self.drop,
            "hits": self.hits,
        }


def _integer(
    spec: dict[str, Any], name: str, default: int | None, low: int, high: int
) -> int | None:
    value = spec.get(name, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise FaultSpecError(f"{name} must be an integer from {low} to {high}")
    return value


class FaultTable:
    """The faults in force, in the order they were added; safe to use from any thread."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, spec: dict[str, Any]) -> Fault:
        """Add a fault from its JSON description; ``FaultSpecError`` names what is wrong."""
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise FaultSpecError(f"kind must be one of {list(FAULT_KINDS)}")
        path, regex = spec.get("path"), spec.get("regex")
        if (path is None) == (regex is None) or not isinstance(path or regex, str):
            raise FaultSpecError("give exactly one of path (a glob) or regex, as a string")
        try:
            pattern = re.compile(regex) if regex is not None else None
        except re.error as error:
            raise FaultSpecError(f"regex does not compile: {error}") from None
        method = spec.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise FaultSpecError("method must be an HTTP method name")
        default_status = {"throttle": 429, "commit": 502}.get(str(kind), 503)
        delay = spec.get("delay", 0.0)
        if not isinstance(delay, int | float) or not 0 <= delay <= choices.SLOW_ANSWER_MAX_SECONDS:
            raise FaultSpecError(
                f"delay must be a number of seconds from 0 to {choices.SLOW_ANSWER_MAX_SECONDS}"
            )
        drop = spec.get("drop", False)
        if not isinstance(drop, bool) or (drop and kind != "commit"):
            raise FaultSpecError("drop is true or false, and only for kind commit")
        fault = Fault(
            id=0,
            drop=drop,
            kind=kind,
            path=path,
            regex=regex,
            method=method.upper() if method else None,
            status=_integer(spec, "status", default_status, 400, 599) or default_status,
            retry_after=_integer(spec, "retryAfter", 1, 0, 86_400) or 0,
            delay=float(delay),
            count=_integer(spec, "count", None, 1, 1_000_000),
            skip=_integer(spec, "skip", 0, 0, 1_000_000) or 0,
            _pattern=pattern,
        )
        with self._lock:
            fault.id = self._next_id
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The fault that applies to this request, counting it as used."""
        with self._lock:
            return self._take(method, path)

    def _take(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if not fault.matches(method, path):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
            return fault
        return None

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)


class TokenBucket:
    """``rate`` requests per second with bursts of ``burst``; answers how long to wait."""

    def __init__(self, rate: float, burst: int, monotonic: Callable[[], float] = time.monotonic):
        if rate <= 0 or burst < 1:
            raise FaultSpecError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._tokens = float(burst)
        self._stamp = monotonic()

    def take(self) -> int | None:
        """None when the request may pass; else the whole seconds to put in ``Retry-After``."""
        now = self._monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return max(1, math.ceil((1 - self._tokens) / self.rate))

    def describe(self) -> dict[str, Any]:
        return {"rate": self.rate, "burst": self.burst}
