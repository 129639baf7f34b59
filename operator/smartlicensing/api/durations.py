"""Go-style duration strings (``24h``, ``90m``, ``1h30m``), the way Kubernetes users write them.

Kubernetes manifests spell intervals the way Go's ``time.ParseDuration`` reads them, and CEL's
``duration()`` (which the CRD rules use) accepts the same spelling, so one pattern serves the
schema, the cluster-side rules and this parser. Only non-negative durations are accepted: an
interval that runs backwards has no meaning for a sync schedule.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, Field

#: Schema pattern of a Go-style duration: one or more number+unit pairs, largest unit first
#: is customary but, as in Go, not required.
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(h|ms|m|s|us|ns))+$"

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|ns)")
_WHOLE = re.compile(DURATION_PATTERN)
_UNIT_SECONDS: dict[str, float] = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "ns": 1e-9,
}


class InvalidDuration(ValueError):
    """A string that is not a Go-style duration."""

    def __init__(self, text: str) -> None:
        super().__init__(
            f"{text!r} is not a duration: write a number and a unit, e.g. 24h, 90m or 1h30m "
            "(units: h, m, s, ms, us, ns)"
        )
        self.text = text


def parse_duration(text: str) -> timedelta:
    """Parse ``24h``, ``90m``, ``1h30m``, ``1.5h``, ``500ms`` into a ``timedelta``."""
    if not _WHOLE.fullmatch(text):
        raise InvalidDuration(text)
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Write a ``timedelta`` as the shortest whole-second Go-style duration (``1h30m``)."""
    total = int(value.total_seconds())
    if total < 0:
        raise ValueError(f"negative duration {value} cannot be written as a Go-style duration")
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    parts.append(f"{seconds}s" if seconds or not (hours or minutes) else "")
    return "".join(parts)


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


def _at_least(minimum: str) -> AfterValidator:
    floor = parse_duration(minimum)

    def check(text: str) -> str:
        if parse_duration(text) < floor:
            raise ValueError(f"{text!r} is shorter than the minimum of {minimum}")
        return text

    return AfterValidator(check)


#: A Go-style duration string, kept as written so that status and spec round-trip unchanged.
Duration = Annotated[
    str, Field(max_length=64, pattern=DURATION_PATTERN), AfterValidator(_check_duration)
]

#: The shortest sync interval accepted: CSSM is shared, and a faster cadence only spends quota.
MINIMUM_SYNC_INTERVAL = "1m"

#: A sync interval: a duration of at least one minute.
SyncInterval = Annotated[Duration, _at_least(MINIMUM_SYNC_INTERVAL)]
