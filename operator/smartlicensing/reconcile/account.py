"""A SmartAccount's status, decided from what one sync with CSSM found.

A sync proves the credentials and the virtual account (``Ready``) and reads the license table,
from which ``Compliant`` follows; it is the one place license usage is read, so registrations
judge their own compliance from the table kept here (through :class:`AccountView`) instead of
each asking CSSM.

What a failure does to status depends on whether waiting can heal it: a transient one (CSSM
unreachable, rate limited) keeps the last license table and ``Compliant`` as they were, since
they are still the best knowledge there is, and schedules the next attempt; a permanent one
(credentials refused, an invalid spec) sets ``Stalled`` and waits for the inputs to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from smartlicensing.api import conditions as c
from smartlicensing.api.durations import parse_duration
from smartlicensing.api.meta import ConditionStatus
from smartlicensing.api.smartaccount import License, SmartAccountSpec, SmartAccountStatus
from smartlicensing.reconcile import backoff, schedule
from smartlicensing.reconcile.attempts import Failure
from smartlicensing.reconcile.compliance import assess_account
from smartlicensing.reconcile.conditions import (
    Progress,
    find,
    ordered,
    set_condition,
    set_progress,
)


@dataclass(frozen=True)
class AccountView:
    """What a registration needs to know of its SmartAccount, without asking CSSM.

    Built from the account's spec and status (the operator keeps one per account in an index).
    ``ready`` means Ready is True *for the current generation*: an account whose spec was just
    edited is not trusted until the operator has checked it again.
    """

    namespace: str
    name: str
    generation: int
    ready: bool
    reason: str
    message: str
    spec: SmartAccountSpec | None
    licenses: tuple[License, ...] = ()

    @property
    def where(self) -> str:
        """``<smart account>/<virtual account>`` for messages."""
        if self.spec is None:
            return f"SmartAccount {self.name}"
        return f"{self.spec.smart_account}/{self.spec.virtual_account}"


def account_view(
    namespace: str,
    name: str,
    generation: int,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
) -> AccountView:
    """The view of an account from its raw spec and status, as the API server holds them."""
    try:
        parsed: SmartAccountSpec | None = SmartAccountSpec.model_validate(spec)
    except ValidationError:
        parsed = None
    try:
        observed = SmartAccountStatus.model_validate(status or {})
    except ValidationError:
        observed = SmartAccountStatus()
    ready = find(observed.conditions, c.READY)
    current = (
        ready is not None
        and ready.status is ConditionStatus.TRUE
        and observed.observed_generation == generation
        and ready.observed_generation == generation
    )
    if parsed is None:
        reason, message = c.INVALID_SPEC, "the SmartAccount's spec is invalid"
    elif ready is None or observed.observed_generation != generation:
        reason, message = c.SYNCING, "the SmartAccount has not been checked at CSSM yet"
    else:
        reason, message = ready.reason, ready.message
    return AccountView(
        namespace=namespace,
        name=name,
        generation=generation,
        ready=current and parsed is not None,
        reason=reason,
        message=message,
        spec=parsed,
        licenses=tuple(observed.licenses),
    )


def synced(
    status: SmartAccountStatus,
    *,
    spec: SmartAccountSpec,
    generation: int,
    licenses: Sequence[License],
    now: datetime,
    spread: float,
    window: float = schedule.DEFAULT_WINDOW,
) -> SmartAccountStatus:
    """Status after a successful sync: Ready, the license table, Compliant, the next sync."""
    conditions = set_condition(
        status.conditions,
        c.READY,
        True,
        c.CONNECTED,
        f"virtual account {spec.virtual_account} of {spec.smart_account} is reachable",
        generation=generation,
        now=now,
    )
    compliance = assess_account(licenses)
    conditions = set_condition(
        conditions,
        c.COMPLIANT,
        compliance.status,
        compliance.reason,
        compliance.message,
        generation=generation,
        now=now,
    )
    conditions = set_progress(
        conditions, Progress.SETTLED, c.SUCCEEDED, generation=generation, now=now
    )
    next_sync = schedule.after_sync(
        schedule.read_schedule(status),
        synced_at=now,
        interval=parse_duration(spec.sync_interval),
        spread=spread,
        now=now,
        window=window,
    )
    updated = status.model_copy(
        update={
            "observed_generation": generation,
            "conditions": ordered(conditions, c.SMART_ACCOUNT_CONDITIONS),
            "licenses": list(licenses),
            "last_sync_time": now,
            **next_sync.status_fields(),
        }
    )
    return backoff.record_success(updated)


def failed(
    status: SmartAccountStatus,
    failure: Failure,
    *,
    generation: int,
    now: datetime,
    jitter: float,
    fingerprint: str,
) -> SmartAccountStatus:
    """Status after a failed sync: Ready False with the failure's reason, the retry recorded."""
    if failure.is_permanent:
        recorded = backoff.record_permanent_failure(status, now=now, fingerprint=fingerprint)
        progress, message = Progress.STALLED, failure.message
    else:
        recorded = backoff.record_transient_failure(
            status, now=now, jitter=jitter, retry_after=failure.retry_after
        )
        progress = Progress.RECONCILING
        assert recorded.next_attempt_time is not None
        message = f"{failure.message}; next attempt at {recorded.next_attempt_time.isoformat()}"

    conditions = set_condition(
        status.conditions,
        c.READY,
        False,
        failure.reason,
        message,
        generation=generation,
        now=now,
    )
    if find(conditions, c.COMPLIANT) is None:
        conditions = set_condition(
            conditions,
            c.COMPLIANT,
            ConditionStatus.UNKNOWN,
            c.NO_LICENSE_DATA,
            "the license table has not been read yet",
            generation=generation,
            now=now,
        )
    conditions = set_progress(
        conditions,
        progress,
        failure.reason if progress is Progress.STALLED else c.RETRYING,
        message,
        generation=generation,
        now=now,
    )
    return recorded.model_copy(
        update={
            "observed_generation": generation,
            "conditions": ordered(conditions, c.SMART_ACCOUNT_CONDITIONS),
        }
    )
