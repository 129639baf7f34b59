"""When an object is worth a call outside Kubernetes, and how a failed call is written down.

Both SmartAccount and SmartLicenseRegistration keep their whole timetable in status: the next
scheduled sync (``nextSyncTime``), the next attempt after a failure (``nextAttemptTime``), and
the fingerprint of the inputs a permanent failure was seen with (``stalledInputs``). A cheap
timer asks :func:`why_due` with nothing but status, the object's generation and the clock, so a
restart of the operator makes no call that the timetable does not ask for.

The order of the questions matters. A new generation always earns a pass (a person changed the
spec; a permanent failure may be cured). A permanent failure then blocks everything until its
inputs change, because retrying it only spends CSSM quota. A transient failure blocks until its
``nextAttemptTime``, whatever the schedule or a sync request says, so that a "Renew
Authorization" click during an outage does not defeat the backoff. Only then do a sync request
(the ``smartlicensing.dev/sync-requested-at`` annotation) and the schedule count.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from smartlicensing.reconcile import backoff


class TimetabledStatus(Protocol):
    """The status fields the timetable is read from (both kinds that sync have them)."""

    @property
    def observed_generation(self) -> int | None: ...

    @property
    def stalled_inputs(self) -> str | None: ...

    @property
    def next_attempt_time(self) -> datetime | None: ...

    @property
    def next_sync_time(self) -> datetime | None: ...

    @property
    def last_sync_time(self) -> datetime | None: ...


class Due(enum.StrEnum):
    """Why a pass that may call CSSM or the cluster is made now."""

    GENERATION = "GenerationChanged"
    ACCOUNT_READY = "AccountReady"
    ACCOUNT_CHANGED = "AccountChanged"
    CLAIM_RELEASED = "ClaimReleased"
    INPUTS_CHANGED = "InputsChanged"
    RETRY = "RetryDue"
    REQUESTED = "SyncRequested"
    SCHEDULE = "SyncDue"


@dataclass(frozen=True)
class Failure:
    """A failed pass: the condition reason, a message for people, and how to retry.

    ``permanent`` defaults to what :func:`backoff.is_permanent` says of the reason; a caller
    overrides it where the same reason heals by waiting in one place and not in another.
    ``retry_after`` is a server's ``Retry-After``; the backoff never waits less.
    ``condition`` is the condition type the failure concerns (e.g. ``TokenReady``), if any.
    """

    reason: str
    message: str
    permanent: bool | None = None
    retry_after: timedelta | None = None
    condition: str | None = None

    @property
    def is_permanent(self) -> bool:
        return backoff.is_permanent(self.reason) if self.permanent is None else self.permanent


def sync_requested(status: TimetabledStatus, requested_at: datetime | None, now: datetime) -> bool:
    """Whether the "Renew Authorization" annotation asks for a sync not yet made.

    A request is answered by the first successful sync after it; a request stamped in the
    future (a skewed clock) counts as made now, so it cannot keep asking forever.
    """
    if requested_at is None:
        return False
    requested_at = min(requested_at, now)
    return status.last_sync_time is None or requested_at > status.last_sync_time


def why_due(
    status: TimetabledStatus,
    *,
    generation: int,
    now: datetime,
    fingerprint: str | None = None,
    requested_at: datetime | None = None,
) -> Due | None:
    """Why a pass is due now, or None when the timetable in status asks for nothing.

    ``fingerprint`` is the current inputs' digest (:func:`backoff.inputs_fingerprint`); it is
    only needed for an object stalled by a permanent failure, and without it such an object is
    never due (the caller computes it only when it can afford the Secret reads).
    """
    if status.observed_generation != generation:
        return Due.GENERATION
    if status.stalled_inputs is not None:
        if fingerprint is not None and fingerprint != status.stalled_inputs:
            return Due.INPUTS_CHANGED
        return None
    if status.next_attempt_time is not None:
        return Due.RETRY if status.next_attempt_time <= now else None
    if sync_requested(status, requested_at, now):
        return Due.REQUESTED
    if status.next_sync_time is None or status.next_sync_time <= now:
        return Due.SCHEDULE
    return None


def wait_after(status: TimetabledStatus, now: datetime) -> timedelta:
    """How long until the recorded next attempt (zero when it has come or none is recorded)."""
    if status.next_attempt_time is None:
        return timedelta(0)
    return max(timedelta(0), status.next_attempt_time - now)
