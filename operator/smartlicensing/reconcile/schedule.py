"""The sync schedule: when each object next talks to CSSM, kept in its status.

Why it lives in status: kopf timers are in-memory and restart with the operator, so a schedule
held only by a timer would be lost (or rerun) on every restart. Here a timer merely asks
``is_due(status, now)``; restarts cost no CSSM call.

Why it is spread: objects applied together (a GitOps sync, a restore) would otherwise sync
together, every day, into a shared rate limit. The first ``nextSyncTime`` after a successful
registration or sync is pulled forward by ``spread * window * interval``: ``spread`` in [0, 1)
comes from the caller, ``window`` (default 0.5) bounds how far forward. The caller feeds a
golden-ratio (Weyl) sequence, ``weyl_spread(n)``, because its points fill [0, 1) evenly for any
count (each new point lands in one of the largest gaps), whereas hashes or random numbers bunch:
spreading 300 objects over half a day, the fullest 1% slot holds about 12 with hashed spreads
and 7 with this sequence, where 6 is the fair share.

Why it keeps its phase: later syncs go to ``previous nextSyncTime + n * interval`` (the smallest
n that lands after now), not to "sync time + interval", so a sync that runs late does not push
every later one back, and the spread made on day one survives. A changed interval, or a
schedule that cannot be read or makes no sense, is made afresh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from smartlicensing.api.durations import InvalidDuration, format_duration, parse_duration

#: Fraction of the interval over which first syncs are spread.
DEFAULT_WINDOW: Final = 0.5
_GOLDEN: Final = (math.sqrt(5.0) - 1.0) / 2.0


class ScheduledStatus(Protocol):
    """The status fields a schedule is kept in (SmartAccount and SmartLicenseRegistration)."""

    @property
    def next_sync_time(self) -> datetime | None: ...

    @property
    def scheduled_sync_interval(self) -> str | None: ...


@dataclass(frozen=True)
class Schedule:
    """When the next sync is due and with which interval that was computed."""

    next_sync_time: datetime
    interval: timedelta

    def status_fields(self) -> dict[str, object]:
        """The status fields (Python names) that keep this schedule."""
        return {
            "next_sync_time": self.next_sync_time,
            "scheduled_sync_interval": format_duration(self.interval),
        }


def weyl_spread(index: int) -> float:
    """The ``index``-th point of the golden-ratio sequence, in [0, 1)."""
    return (index * _GOLDEN) % 1.0


def read_schedule(status: ScheduledStatus) -> Schedule | None:
    """The schedule kept in status, or None if there is none or it cannot be read."""
    if status.next_sync_time is None or status.scheduled_sync_interval is None:
        return None
    try:
        interval = parse_duration(status.scheduled_sync_interval)
    except InvalidDuration:
        return None
    if interval <= timedelta(0):
        return None
    return Schedule(status.next_sync_time, interval)


def is_due(status: ScheduledStatus, now: datetime) -> bool:
    """Whether a sync is due: when no schedule is kept, or its time has come."""
    return status.next_sync_time is None or status.next_sync_time <= now


def time_until_due(status: ScheduledStatus, now: datetime) -> timedelta:
    """How long until the next sync is due (zero when due)."""
    if status.next_sync_time is None:
        return timedelta(0)
    return max(timedelta(0), status.next_sync_time - now)


def first_sync(
    synced_at: datetime, interval: timedelta, spread: float, window: float = DEFAULT_WINDOW
) -> datetime:
    """The first scheduled sync after ``synced_at``: one interval on, pulled forward by spread."""
    _check(interval, spread, window)
    return synced_at + interval - interval * (spread * window)


def after_sync(
    previous: Schedule | None,
    *,
    synced_at: datetime,
    interval: timedelta,
    spread: float,
    now: datetime,
    window: float = DEFAULT_WINDOW,
) -> Schedule:
    """The schedule after a successful sync at ``synced_at``.

    Keeps the phase of ``previous`` when it was made with the same interval and is plausible
    (not more than one interval beyond now); otherwise schedules afresh from ``synced_at``.
    """
    _check(interval, spread, window)
    plausible = (
        previous is not None
        and previous.interval == interval
        and previous.next_sync_time <= now + interval
    )
    if previous is None or not plausible:
        return Schedule(first_sync(synced_at, interval, spread, window), interval)

    behind = now - previous.next_sync_time
    steps = 0 if behind < timedelta(0) else behind // interval + 1
    return Schedule(previous.next_sync_time + steps * interval, interval)


def _check(interval: timedelta, spread: float, window: float) -> None:
    if interval <= timedelta(0):
        raise ValueError(f"sync interval must be positive, got {interval}")
    if not 0.0 <= spread < 1.0:
        raise ValueError(f"spread must be in [0, 1), got {spread}")
    if not 0.0 <= window <= 1.0:
        raise ValueError(f"window must be in [0, 1], got {window}")
