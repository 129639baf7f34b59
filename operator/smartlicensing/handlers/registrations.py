"""The SmartLicenseRegistration's life, one decorator per event.

- created, changed, or found at start-up: a pass, if the timetable in status or the change asks
  for one (a restart of a Ready registration with nothing due makes no call at all);
- every ``timer_interval``: a look at status and the clock; a pass only when a sync, a retry, a
  manual registration to look for, a requested sync, or a newly Ready account is due;
- deleted: ``deletionPolicy`` carried out, once, never alongside a pass (one lock per object).

What a pass does is in :mod:`.registering`; what it decides is in ``reconcile.registration``.
Transient failures are written into status (``nextAttemptTime``) and retried by the timer, not
by kopf, so that one timetable governs every call; permanent ones stop kopf with
``PermanentError`` until the inputs change. Deletion, where timers no longer run, retries with
``TemporaryError`` and the same backoff, and gives up with a Warning rather than leave the object
(and its namespace) stuck.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import kopf

from smartlicensing import cssm, kube
from smartlicensing.api import conditions as c
from smartlicensing.api.meta import GROUP, VERSION
from smartlicensing.api.registration import (
    SmartLicenseRegistrationSpec,
    SmartLicenseRegistrationStatus,
)
from smartlicensing.config import OperatorSettings
from smartlicensing.handlers.failures import (
    HANDLED,
    cssm_failure,
    product_failure,
    secret_failure,
)
from smartlicensing.handlers.registering import (
    RegistrationPass,
    deregister,
    lookup_account,
    registration_fingerprint,
)
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.handlers.timetable import (
    requested_sync_time,
    runtime_of,
    status_for_decision,
)
from smartlicensing.product import errors as product_errors
from smartlicensing.reconcile import backoff, schedule
from smartlicensing.reconcile import registration as decide
from smartlicensing.reconcile.attempts import Due, Failure, why_due
from smartlicensing.reconcile.validation import parse_spec

logger = logging.getLogger(__name__)

REGISTRATIONS = (GROUP, VERSION, "smartlicenseregistrations")


def install(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Register the SmartLicenseRegistration handlers in ``registry``."""
    on: dict[str, Any] = {"registry": registry}
    spread = itertools.count(1)

    def first_check(**_: Any) -> float:
        return settings.first_check_spread * schedule.weyl_spread(next(spread))

    kopf.on.resume(*REGISTRATIONS, id="registration-resume", **on)(registration_changed)
    kopf.on.create(*REGISTRATIONS, id="registration-create", **on)(registration_changed)
    kopf.on.update(*REGISTRATIONS, id="registration-update", **on)(registration_changed)
    kopf.timer(
        *REGISTRATIONS,
        id="registration-timer",
        interval=settings.timer_interval,
        initial_delay=first_check,
        **on,
    )(registration_tick)
    kopf.on.delete(*REGISTRATIONS, id="registration-delete", **on)(registration_deleted)


async def registration_changed(
    body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any
) -> None:
    """Created, changed, or found at start-up."""
    runtime = runtime_of(memo)
    accounts = kwargs["account_index"]
    failure = await _pass_if_due(runtime, body, patch, accounts, recheck_stalled=True)
    if failure is not None and failure.is_permanent:
        raise kopf.PermanentError(failure.message)


async def registration_tick(
    body: kopf.Body, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any
) -> None:
    """The cheap timer: status and the clock, and a pass only when one is due."""
    if meta.get("deletionTimestamp"):
        return
    runtime = runtime_of(memo)
    recheck = runtime.stalled_recheck_due(str(meta.get("uid")))
    accounts = kwargs["account_index"]
    await _pass_if_due(runtime, body, patch, accounts, recheck_stalled=recheck)


async def registration_deleted(
    body: kopf.Body, meta: kopf.Meta, memo: kopf.Memo, retry: int, **kwargs: Any
) -> None:
    """``deletionPolicy``: Deregister (and revoke an issued token) or Orphan."""
    runtime = runtime_of(memo)
    uid = str(meta.get("uid"))
    runtime.deleting.add(uid)
    async with runtime.lock_for(uid):
        try:
            outcome = await deregister(runtime, body, kwargs["account_index"])
        except HANDLED as error:
            _retry_or_give_up(runtime, body, error, retry)
            return
    if outcome.deregistered or outcome.revoked:
        done = [
            "the cluster was deregistered" if outcome.deregistered else "",
            "the issued token was revoked" if outcome.revoked else "",
        ]
        message = "; ".join(part for part in done if part)
        if outcome.note:
            message = f"{message}; {outcome.note}"
        kopf.info(body, reason=c.DEREGISTERING, message=message)
    elif outcome.note:
        kopf.info(body, reason=c.DEREGISTERING, message=outcome.note)
    runtime.forget(uid)


# --- plumbing ---------------------------------------------------------------------------------


async def _due(
    runtime: Runtime,
    body: kopf.Body,
    accounts: Mapping[Any, Any],
    *,
    recheck_stalled: bool,
) -> Due | None:
    uid = str(body.meta.get("uid"))
    # Without a resourceVersion (a body built by hand) nothing is reused.
    version: object = body.meta.get("resourceVersion") or object()
    remembered = runtime.remembered_status(uid)
    status = runtime.parsed(
        uid,
        "status",
        remembered if remembered is not None else version,
        lambda: SmartLicenseRegistrationStatus.model_validate(status_for_decision(runtime, body)),
    )
    namespace = str(body.meta.get("namespace"))
    generation = int(body.meta.get("generation") or 0)
    now = runtime.now()
    fingerprint = None
    if status.stalled_inputs is not None and recheck_stalled:
        fingerprint = await registration_fingerprint(runtime, namespace, body.spec, generation)
    spec, _ = runtime.parsed(
        uid, "spec", version, lambda: parse_spec(SmartLicenseRegistrationSpec, body.spec)
    )
    if spec is None:
        return why_due(status, generation=generation, now=now, fingerprint=fingerprint)
    return decide.registration_due(
        spec,
        status,
        generation=generation,
        now=now,
        account=lookup_account(accounts, namespace, spec),
        requested_at=requested_sync_time(body),
        fingerprint=fingerprint,
    )


async def _pass_if_due(
    runtime: Runtime,
    body: kopf.Body,
    patch: kopf.Patch,
    accounts: Mapping[Any, Any],
    *,
    recheck_stalled: bool,
) -> Failure | None:
    if await _due(runtime, body, accounts, recheck_stalled=recheck_stalled) is None:
        return None
    uid = str(body.meta.get("uid"))
    async with runtime.lock_for(uid):
        if uid in runtime.deleting:
            return None
        # Asked again under the lock: the pass that held it may have done the work already.
        due = await _due(runtime, body, accounts, recheck_stalled=True)
        if due is None:
            return None
        return await RegistrationPass(runtime, body, patch, accounts, due).run()


def _failure_of(error: Exception) -> Failure:
    if isinstance(error, cssm.CSSMError):
        return cssm_failure(error)
    if isinstance(error, product_errors.ProductError):
        return product_failure(error, token_issued=True)
    if isinstance(error, kube.SecretError):
        return secret_failure(error, reason=c.CREDENTIALS_SECRET_MISSING)
    raise error


def _retry_or_give_up(runtime: Runtime, body: kopf.Body, error: Exception, retry: int) -> None:
    failure = _failure_of(error)
    message = failure.message
    attempts = retry + 1
    if failure.is_permanent or attempts >= runtime.settings.deletion_attempts:
        kopf.warn(
            body,
            reason=failure.reason,
            message=f"deregistration failed after {attempts} attempt(s) ({message}); the object "
            "is released anyway: check the cluster and CSSM and deregister by hand if needed",
        )
        runtime.forget(str(body.meta.get("uid")))
        return
    settings = runtime.settings
    policy = backoff.BackoffPolicy(
        base=timedelta(seconds=settings.deletion_retry_base),
        cap=timedelta(seconds=max(settings.deletion_retry_cap, settings.deletion_retry_base)),
    )
    wait = backoff.delay(attempts, backoff.jitter_for(str(body.meta.get("uid")), attempts), policy)
    raise kopf.TemporaryError(f"deregistration failed: {message}", delay=wait.total_seconds())
