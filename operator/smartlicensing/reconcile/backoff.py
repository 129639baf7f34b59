"""Retrying after failures: how long to wait, and when not to retry at all.

CSSM is shared by every object and every operator of a Smart Account, so a failing object must
back off rather than hammer it. Failures are counted in status (``failedAttempts``), so the
backoff survives restarts like the schedule does.

Transient failures (CSSM or the cluster unreachable, 5xx, 429) wait
``min(cap, base * 2**(n-1))`` after the n-th failure, shortened by up to ``jitter_ratio`` so
that objects that failed together do not retry together, and never less than a server's
``Retry-After``. Jitter shortens rather than lengthens, so the cap stays a cap.

Permanent failures (the token is invalid, the version unsupported, the spec breaks a rule) do
not heal by waiting: retrying only spends CSSM quota. They record a fingerprint of their inputs
(the spec's generation and the versions of the Secrets they read); the next attempt waits until
that fingerprint changes, which is what a person fixing the problem does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, TypeVar

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import ReconciledStatus

StatusT = TypeVar("StatusT", bound=ReconciledStatus)

#: Reasons whose failures waiting cannot fix: only a change of spec or Secret can.
PERMANENT_REASONS: Final = frozenset(
    {
        c.INVALID_SPEC,
        c.INVALID_TOKEN,
        c.TOKEN_EXPIRED,
        c.TOKEN_REVOKED,
        c.TOKEN_EXHAUSTED,
        c.UNSUPPORTED_VERSION,
        c.CREDENTIALS_REJECTED,
        c.CLUSTER_CREDENTIALS_REJECTED,
        c.CLUSTER_MISMATCH,
        c.ALREADY_REGISTERED,
        c.INVALID_REQUEST_CODE,
    }
)


@dataclass(frozen=True)
class BackoffPolicy:
    """How transient failures are spaced."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    jitter_ratio: float = 0.2

    def __post_init__(self) -> None:
        if self.base <= timedelta(0) or self.cap < self.base:
            raise ValueError(f"backoff needs 0 < base <= cap, got {self.base} and {self.cap}")
        if not 0.0 <= self.jitter_ratio < 1.0:
            raise ValueError(f"jitter_ratio must be in [0, 1), got {self.jitter_ratio}")


DEFAULT_POLICY: Final = BackoffPolicy()


def is_permanent(reason: str) -> bool:
    """Whether a failure with this reason is not retried until its inputs change."""
    return reason in PERMANENT_REASONS


def delay(failed_attempts: int, jitter: float, policy: BackoffPolicy = DEFAULT_POLICY) -> timedelta:
    """The wait after the ``failed_attempts``-th consecutive failure; ``jitter`` in [0, 1)."""
    if failed_attempts < 1:
        raise ValueError(f"delay is for failures, got failed_attempts={failed_attempts}")
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter}")
    # Double until the cap rather than computing 2**(n-1): after a long outage n is large and
    # the product would overflow timedelta.
    full = policy.base
    for _ in range(failed_attempts - 1):
        if full >= policy.cap:
            break
        full *= 2
    full = min(full, policy.cap)
    return full * (1.0 - policy.jitter_ratio * jitter)


def jitter_for(key: str, failed_attempts: int) -> float:
    """A jitter in [0, 1) derived from an object's key (e.g. its uid) and the attempt number.

    Deterministic, so a restart recomputes the same wait; different per object, so objects
    that failed together spread out.
    """
    digest = hashlib.sha256(f"{key}/{failed_attempts}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def inputs_fingerprint(generation: int, secret_versions: Mapping[str, str]) -> str:
    """A digest of what a permanent failure depended on: spec generation and Secret versions.

    ``secret_versions`` maps a Secret's name to its ``resourceVersion`` (absent Secrets may be
    given as an empty string). Only versions are hashed, never Secret contents.
    """
    versions = (f"{name}={secret_versions[name]}" for name in sorted(secret_versions))
    parts = [str(generation), *versions]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def record_transient_failure(
    status: StatusT,
    *,
    now: datetime,
    jitter: float,
    retry_after: timedelta | None = None,
    policy: BackoffPolicy = DEFAULT_POLICY,
) -> StatusT:
    """Status after a transient failure: one more attempt counted, the next one scheduled."""
    attempts = status.failed_attempts + 1
    wait = delay(attempts, jitter, policy)
    if retry_after is not None and retry_after > wait:
        wait = retry_after
    return status.model_copy(
        update={
            "failed_attempts": attempts,
            "last_failure_time": now,
            "next_attempt_time": now + wait,
            "stalled_inputs": None,
        }
    )


def record_permanent_failure(status: StatusT, *, now: datetime, fingerprint: str) -> StatusT:
    """Status after a permanent failure: no retry until the inputs' fingerprint changes."""
    return status.model_copy(
        update={
            "failed_attempts": status.failed_attempts + 1,
            "last_failure_time": now,
            "next_attempt_time": None,
            "stalled_inputs": fingerprint,
        }
    )


def record_success(status: StatusT) -> StatusT:
    """Status after a success: the failure record cleared."""
    return status.model_copy(
        update={
            "failed_attempts": 0,
            "last_failure_time": None,
            "next_attempt_time": None,
            "stalled_inputs": None,
        }
    )


def may_attempt(status: ReconciledStatus, *, now: datetime, fingerprint: str) -> bool:
    """Whether an attempt may be made now, given the failure record in status.

    After a permanent failure: only once ``fingerprint`` (of the current inputs) differs from
    the one recorded. After a transient failure: once ``nextAttemptTime`` has come.
    """
    if status.stalled_inputs is not None:
        return status.stalled_inputs != fingerprint
    return status.next_attempt_time is None or status.next_attempt_time <= now


def time_until_attempt(status: ReconciledStatus, *, now: datetime) -> timedelta | None:
    """How long until a transient failure's next attempt; None when blocked by a permanent one."""
    if status.stalled_inputs is not None:
        return None
    if status.next_attempt_time is None:
        return timedelta(0)
    return max(timedelta(0), status.next_attempt_time - now)
