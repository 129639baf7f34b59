"""The SmartLicenseRegistration's life, one decorator per event.

- every watch event (found at start-up, applied, changed, or its status written): a pass, if
  the timetable in status or the change asks for one (a restart of a Ready registration with
  nothing due makes no call at all; the event of a pass's own status write asks for nothing).
  Nothing starts before kopf's finalizer is on the object (:func:`may_act`), so whatever is
  registered, a deletion can undo;
- every ``timer_interval``: a look at status and the clock; a pass only when a sync, a retry, a
  manual registration to look for, a requested sync, or a newly Ready account is due;
- deleted: ``deletionPolicy`` carried out, once, never alongside a pass (one lock per object).

One cluster is managed by one registration: :func:`registration_index` files every registration
under its cluster UUID (and under its census entry, for the gauges), and only the oldest of a
UUID (``reconcile.registration.claim_holder``) makes passes; any other is Stalled with
``ClusterClaimed``, makes no call, and deregisters nothing when deleted (it never registered).
It takes over once the holder is gone.

What a pass does is in :mod:`.registering`; what it decides is in ``reconcile.registration``.
Transient failures are written into status (``nextAttemptTime``) and retried by the timer, not
by kopf, so that one timetable governs every call; permanent ones stall the object (``Stalled``)
until its spec, labels, annotations or Secrets change. Deletion, where timers no longer run,
retries with ``TemporaryError`` and the same backoff, and gives up with a Warning rather than
leave the object (and its namespace) stuck; when a Secret the deregistration needs is gone
(deleted before the registration, or with its namespace) it gives up at once, saying what to
clean up by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf

from smartlicensing import cssm, kube
from smartlicensing.api import conditions as c
from smartlicensing.api.meta import FINALIZER, GROUP, VERSION
from smartlicensing.api.registration import (
    SmartLicenseRegistrationStatus,
)
from smartlicensing.config import OperatorSettings
from smartlicensing.handlers import census
from smartlicensing.handlers.failures import (
    cssm_failure,
    product_failure,
    secret_failure,
    unexpected_failure,
)
from smartlicensing.handlers.registering import (
    KIND,
    RegistrationPass,
    deregister,
    lookup_account,
    parsed_spec,
    parsed_status,
    registration_fingerprint,
)
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.handlers.status import raw_condition, write_status
from smartlicensing.handlers.timetable import (
    announce_outdated_sync_request,
    first_check_delay,
    requested_sync_time,
    runtime_of,
    status_for_decision,
)
from smartlicensing.product import errors as product_errors
from smartlicensing.reconcile import backoff
from smartlicensing.reconcile import registration as decide
from smartlicensing.reconcile.attempts import Due, Failure, why_due

logger = logging.getLogger(__name__)

REGISTRATIONS = (GROUP, VERSION, "smartlicenseregistrations")


def install(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Register the SmartLicenseRegistration handlers in ``registry``."""
    on: dict[str, Any] = {"registry": registry}
    first_check = first_check_delay(settings)
    # Which registrations name which cluster UUID (the oldest of each manages that cluster), and
    # the census of states for the gauges.
    kopf.index(*REGISTRATIONS, **on)(registration_index)
    # Found at start-up, applied, or changed (spec, labels, annotations, or its status written):
    # a pass only if something is due (a restart of a Ready registration costs nothing).
    kopf.on.event(*REGISTRATIONS, id="registration-event", **on)(registration_event)
    # Every timer_interval: the daily sync, retries, manual registrations, a Ready account.
    kopf.timer(
        *REGISTRATIONS,
        id="registration-timer",
        interval=settings.timer_interval,
        initial_delay=first_check,
        **on,
    )(registration_tick)
    # Only while waiting for its SmartAccount: a look every account_wait_interval, so that a
    # registration applied together with its account goes on soon after the account is Ready.
    kopf.timer(
        *REGISTRATIONS,
        id="registration-account-wait",
        interval=settings.account_wait_interval,
        when=waiting_for_account,
        **on,
    )(registration_tick)
    # Deleted: deregister and revoke (Deregister) or leave alone (Orphan), once.
    kopf.on.delete(*REGISTRATIONS, id="registration-delete", **on)(registration_deleted)


async def registration_event(
    body: kopf.Body, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any
) -> None:
    """Found at start-up (an event without a type), applied, or changed."""
    if kwargs.get("type") == "DELETED" or not may_act(meta):
        return
    runtime = runtime_of(memo)
    if _held_back(runtime, body, patch, kwargs["registration_index"]):
        return
    announce_outdated_sync_request(
        runtime, body, lambda: _fresh_status(runtime, body), quietly=kwargs.get("type") is None
    )
    # A stalled registration's Secrets are read again when what a person edits has changed
    # (a new Secret may come with a new annotation), not for the events of status writes.
    recheck = runtime.edited_since_last_look(str(meta.get("uid")), meta)
    accounts = kwargs["account_index"]
    await _pass_if_due(runtime, body, patch, accounts, recheck_stalled=recheck)


async def registration_tick(
    body: kopf.Body, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any
) -> None:
    """The cheap timer: status and the clock, and a pass only when one is due."""
    if not may_act(meta):
        return
    runtime = runtime_of(memo)
    if _held_back(runtime, body, patch, kwargs["registration_index"]):
        return
    announce_outdated_sync_request(
        runtime,
        body,
        lambda: _fresh_status(runtime, body),
    )
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
    holder = _other_holder(body, kwargs["registration_index"])
    status = SmartLicenseRegistrationStatus.model_validate(body.status or {})
    if holder is not None or decide.held_back_by_claim(status):
        managed_by = f" (managed by {holder.describe()})" if holder is not None else ""
        kopf.info(
            body,
            reason=c.DEREGISTERING,
            message=f"this registration never registered its cluster{managed_by}: nothing "
            "was deregistered or revoked",
        )
        runtime.forget(uid)
        return
    async with runtime.lock_for(uid):
        try:
            outcome = await deregister(runtime, body, kwargs["account_index"])
        except (kube.SecretNotFound, kube.SecretKeyMissing) as error:
            # Gone Secrets do not come back during a deletion (least of all a namespace's):
            # retrying would only hold the namespace in Terminating.
            _give_up_without_inputs(runtime, body, error)
            return
        except Exception as error:
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


@dataclass(frozen=True)
class ClaimedCluster:
    """A key of :func:`registration_index`: a cluster UUID, in lower case."""

    uuid: str


async def registration_index(
    namespace: str | None,
    name: str,
    meta: kopf.Meta,
    spec: kopf.Spec,
    status: kopf.Status,
    **_: Any,
) -> dict[object, object]:
    """The one index of registrations: each filed under its census entry (state and Ready
    status, :func:`.census.registration_census`) and, when it names a cluster UUID, under
    :class:`ClaimedCluster` with its claim.

    One function rather than two, since kopf runs every index function on every watch event of
    every registration. ``async`` although it awaits nothing: kopf runs a synchronous index
    function in its thread pool, a hop that costs more than the function itself.
    """
    filed: dict[object, object] = dict(census.registration_census(status))
    cluster = spec.get("cluster")
    uuid = cluster.get("uuid") if isinstance(cluster, Mapping) else None
    if isinstance(uuid, str) and uuid:
        filed[ClaimedCluster(uuid.lower())] = decide.ClusterClaim(
            created=_created(meta.get("creationTimestamp")),
            name=name,
            namespace=namespace or "",
            uid=str(meta.get("uid")),
        )
    return filed


# --- plumbing ---------------------------------------------------------------------------------


def waiting_for_account(status: kopf.Status, **_: Any) -> bool:
    """Whether the registration's Ready condition says it waits for its SmartAccount."""
    return raw_condition(status, c.READY).get("reason") == c.ACCOUNT_NOT_READY


def may_act(meta: kopf.Meta) -> bool:
    """Whether a pass may start: not being deleted, and our finalizer in place.

    kopf adds the finalizer in answer to the first event of a new object; until the event that
    shows it arrives, nothing may be registered that a deletion would then fail to undo.
    """
    if meta.get("deletionTimestamp"):
        return False
    return FINALIZER in (meta.get("finalizers") or ())


def _fresh_status(runtime: Runtime, body: kopf.Body) -> SmartLicenseRegistrationStatus:
    return SmartLicenseRegistrationStatus.model_validate(status_for_decision(runtime, body))


def _created(stamp: object) -> datetime:
    """``creationTimestamp`` as a time; a missing or odd one counts as the newest."""
    if isinstance(stamp, str):
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return datetime.max.replace(tzinfo=UTC)


def _other_holder(body: kopf.Body, claims: Mapping[Any, Any]) -> decide.ClusterClaim | None:
    """The registration that manages this one's cluster, when it is another one."""
    cluster = body.spec.get("cluster")
    uuid = cluster.get("uuid") if isinstance(cluster, Mapping) else None
    if not isinstance(uuid, str) or not uuid:
        return None
    holder = decide.claim_holder(claims.get(ClaimedCluster(uuid.lower()), ()))
    if holder is None or holder.uid == str(body.meta.get("uid")):
        return None
    return holder


def _held_back(
    runtime: Runtime, body: kopf.Body, patch: kopf.Patch, claims: Mapping[Any, Any]
) -> bool:
    """Record ``ClusterClaimed`` and say so when another registration manages the cluster."""
    holder = _other_holder(body, claims)
    if holder is None:
        return False
    uid = str(body.meta.get("uid"))
    status = parsed_status(runtime, body)
    generation = int(body.meta.get("generation") or 0)
    uuid = str(body.spec["cluster"]["uuid"])
    new = decide.claimed(status, holder, uuid, generation=generation, now=runtime.now())
    if new == status:
        return True
    if not decide.held_back_by_claim(status):
        logger.warning(
            "%s/%s: cluster %s is managed by %s; this registration does nothing",
            body.meta.get("namespace"),
            body.meta.get("name"),
            uuid,
            holder.describe(),
        )
    runtime.remember_status(uid, new)
    write_status(patch, body, body.status, new, kind=KIND, metrics=runtime.metrics)
    return True


async def _due(
    runtime: Runtime,
    body: kopf.Body,
    accounts: Mapping[Any, Any],
    *,
    recheck_stalled: bool,
) -> Due | None:
    status = parsed_status(runtime, body)
    namespace = str(body.meta.get("namespace"))
    generation = int(body.meta.get("generation") or 0)
    now = runtime.now()
    fingerprint = None
    if status.stalled_inputs is not None and recheck_stalled:
        fingerprint = await registration_fingerprint(runtime, namespace, body.spec, generation)
    spec, _ = parsed_spec(runtime, body)
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
    uid = str(body.meta.get("uid"))
    lock = runtime.lock_for(uid)
    # NB: an edit that arrives while a pass is under way is judged after that pass, which may
    # stall the object on the very inputs the edit came to fix: asked before it, the edit would
    # be used up on a status that was about to change.
    judge_later = recheck_stalled and lock.locked()
    if (
        not judge_later
        and await _due(runtime, body, accounts, recheck_stalled=recheck_stalled) is None
    ):
        return None
    async with lock:
        if uid in runtime.deleting or runtime.closing:
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
    logger.error("unexpected error while deregistering", exc_info=error)
    return unexpected_failure(error)


def _give_up_without_inputs(runtime: Runtime, body: kopf.Body, error: kube.SecretError) -> None:
    """Release the object at once, naming what may be left registered and how to undo it."""
    namespace, name = body.meta.get("namespace"), body.meta.get("name")
    cluster = body.spec.get("cluster")
    uuid = cluster.get("uuid") if isinstance(cluster, Mapping) else None
    status = SmartLicenseRegistrationStatus.model_validate(body.status or {})
    token = status.token
    revoke = (
        "; revoke its issued registration token in CSSM (Inventory > General)"
        if token is not None and token.issued
        else ""
    )
    message = (
        f"cannot deregister: {error.message}; cluster {uuid or '(unknown)'} may still be "
        "registered: deregister it in the Secure Workload UI (Smart Licensing) or remove its "
        f"product instance in CSSM{revoke}. The object is released without deregistering"
    )
    logger.warning("%s/%s: %s", namespace, name, message)
    kopf.warn(body, reason=c.DEREGISTERING, message=message)
    runtime.forget(str(body.meta.get("uid")))


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
