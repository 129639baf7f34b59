"""The SmartAccount's life: checked at CSSM on every change, synced on its schedule.

A sync is three CSSM calls (the accounts the client sees, the virtual accounts, the license
table) plus the OAuth token when the cached one has run out. It proves the credentials and the
virtual account (``Ready``) and reads the license table that every registration of the account
judges its compliance by; the registrations learn all of it from :func:`account_index` and never
ask CSSM for it themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from smartlicensing import cssm, kube
from smartlicensing.api import conditions as c
from smartlicensing.api.meta import GROUP, VERSION
from smartlicensing.api.smartaccount import (
    License,
    LicenseStatus,
    SmartAccountSpec,
    SmartAccountStatus,
)
from smartlicensing.config import OperatorSettings
from smartlicensing.handlers.failures import cssm_failure, secret_failure, unexpected_failure
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.handlers.status import write_status
from smartlicensing.handlers.timetable import (
    announce_outdated_sync_request,
    first_check_delay,
    requested_sync_time,
    runtime_of,
    status_for_decision,
)
from smartlicensing.reconcile import account as decide
from smartlicensing.reconcile import backoff
from smartlicensing.reconcile.account import AccountView
from smartlicensing.reconcile.attempts import Due, Failure, why_due
from smartlicensing.reconcile.validation import describe, parse_spec

logger = logging.getLogger(__name__)

SMART_ACCOUNTS = (GROUP, VERSION, "smartaccounts")
KIND = "SmartAccount"


def install(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Register the SmartAccount handlers in ``registry``."""
    on: dict[str, Any] = {"registry": registry}
    first_check = first_check_delay(settings)
    # What registrations know of their account, without a call: Ready, server, license table.
    kopf.index(*SMART_ACCOUNTS, **on)(account_index)
    # Found at start-up, applied, or changed: a sync if status or the change asks for one.
    kopf.on.event(*SMART_ACCOUNTS, id="account-event", **on)(account_event)
    # Every timer_interval: the daily sync and retries, by the timetable in status.
    kopf.timer(
        *SMART_ACCOUNTS,
        id="account-timer",
        interval=settings.timer_interval,
        initial_delay=first_check,
        **on,
    )(account_tick)
    # Deleted: nothing at CSSM is the account's; its client is closed.
    kopf.on.delete(*SMART_ACCOUNTS, id="account-delete", optional=True, **on)(account_deleted)


# --- the handlers -------------------------------------------------------------------------------


def account_index(
    namespace: str | None,
    name: str,
    meta: kopf.Meta,
    spec: kopf.Spec,
    status: kopf.Status,
    **_: Any,
) -> dict[tuple[str, str], AccountView]:
    """Every SmartAccount as its registrations see it: ready or not, server, license table."""
    generation = int(meta.get("generation") or 0)
    where = namespace or ""
    return {(where, name): decide.account_view(where, name, generation, spec, status)}


async def account_event(
    body: kopf.Body, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo, **kwargs: Any
) -> None:
    """Found at start-up (an event without a type), applied, or changed: sync now if the
    timetable or the change asks."""
    if kwargs.get("type") == "DELETED" or meta.get("deletionTimestamp"):
        return
    runtime = runtime_of(memo)
    announce_outdated_sync_request(
        runtime, body, lambda: _fresh_status(runtime, body), quietly=kwargs.get("type") is None
    )
    recheck = runtime.edited_since_last_look(str(meta.get("uid")), meta)
    if await _due(runtime, body, recheck_stalled=recheck) is None:
        return
    await _sync_under_lock(runtime, body, patch)


async def account_tick(
    body: kopf.Body, meta: kopf.Meta, patch: kopf.Patch, memo: kopf.Memo, **_: Any
) -> None:
    """The cheap timer: read status and the clock; sync only when the timetable says so."""
    if meta.get("deletionTimestamp"):
        return
    runtime = runtime_of(memo)
    announce_outdated_sync_request(runtime, body, lambda: _fresh_status(runtime, body))
    uid = str(meta.get("uid"))
    if await _due(runtime, body, recheck_stalled=runtime.stalled_recheck_due(uid)) is None:
        return
    await _sync_under_lock(runtime, body, patch)


async def account_deleted(
    namespace: str | None, name: str, meta: kopf.Meta, memo: kopf.Memo, **_: Any
) -> None:
    """Nothing at CSSM belongs to a SmartAccount; only its client is closed."""
    runtime = runtime_of(memo)
    await runtime.drop_client(namespace or "", name)
    runtime.forget(str(meta.get("uid")))


# --- one sync -------------------------------------------------------------------------------


def _fresh_status(runtime: Runtime, body: kopf.Body) -> SmartAccountStatus:
    return SmartAccountStatus.model_validate(status_for_decision(runtime, body))


async def _due(runtime: Runtime, body: kopf.Body, *, recheck_stalled: bool) -> Due | None:
    status = SmartAccountStatus.model_validate(status_for_decision(runtime, body))
    generation = int(body.meta.get("generation") or 0)
    fingerprint = None
    if status.stalled_inputs is not None and recheck_stalled:
        fingerprint = await _fingerprint(runtime, body, generation)
    return why_due(
        status,
        generation=generation,
        now=runtime.now(),
        fingerprint=fingerprint,
        requested_at=requested_sync_time(body),
    )


async def _fingerprint(runtime: Runtime, body: kopf.Body, generation: int) -> str:
    spec, _ = parse_spec(SmartAccountSpec, body.spec)
    names: list[str] = []
    if spec is not None:
        names.append(spec.credentials_secret_ref.name)
        if spec.server.ca_bundle_secret_ref is not None:
            names.append(spec.server.ca_bundle_secret_ref.name)
    namespace = str(body.meta.get("namespace"))
    return backoff.inputs_fingerprint(generation, await runtime.secret_versions(namespace, names))


async def _sync_under_lock(runtime: Runtime, body: kopf.Body, patch: kopf.Patch) -> Failure | None:
    uid = str(body.meta.get("uid"))
    async with runtime.lock_for(uid):
        if runtime.closing:
            return None
        # Decided again under the lock: a pass that held it may have done the work already.
        if await _due(runtime, body, recheck_stalled=True) is None:
            return None
        return await sync_account(runtime, body, patch)


def _license(line: cssm.models.License) -> License:
    return License(
        name=line.name,
        quantity=max(line.quantity, 0),
        in_use=max(line.in_use, 0),
        available=max(line.available, 0),
        reserved=max(line.reserved, 0),
        status=LicenseStatus.IN_COMPLIANCE if line.compliant else LicenseStatus.OUT_OF_COMPLIANCE,
    )


async def sync_account(runtime: Runtime, body: kopf.Body, patch: kopf.Patch) -> Failure | None:
    """Check the account at CSSM and read its license table; write status; the failure if any."""
    namespace, name = str(body.meta.get("namespace")), str(body.meta.get("name"))
    uid = str(body.meta.get("uid"))
    generation = int(body.meta.get("generation") or 0)
    old: Mapping[str, Any] = body.status
    status = SmartAccountStatus.model_validate(status_for_decision(runtime, body))
    now = runtime.now()

    spec, problems = parse_spec(SmartAccountSpec, body.spec)
    failure: Failure | None
    if spec is None:
        await runtime.drop_client(namespace, name)
        failure = Failure(c.INVALID_SPEC, describe(problems), permanent=True)
    else:
        try:
            # The account's own sync always reads its Secrets anew (it is where a rotation of
            # the credentials is meant to show); registrations share reads under way.
            client, _ = await runtime.cssm_client(namespace, name, spec, fresh=True)
            await client.check_access()
            lines = await client.licenses()
        except kube.SecretError as error:
            reason = (
                c.CA_BUNDLE_MISSING
                if spec.server.ca_bundle_secret_ref is not None
                and error.name == spec.server.ca_bundle_secret_ref.name
                else c.CREDENTIALS_SECRET_MISSING
            )
            failure = secret_failure(error, reason=reason)
        except cssm.CSSMError as error:
            failure = cssm_failure(error)
        except Exception as error:
            logger.exception("SmartAccount %s/%s: unexpected error in a sync", namespace, name)
            failure = unexpected_failure(error)
        else:
            failure = None
            new = decide.synced(
                status,
                spec=spec,
                generation=generation,
                licenses=[_license(line) for line in lines],
                now=now,
                spread=runtime.next_spread(),
                window=runtime.settings.schedule_window,
            )

    if failure is not None:
        new = decide.failed(
            status,
            failure,
            generation=generation,
            now=now,
            jitter=backoff.jitter_for(uid, status.failed_attempts + 1),
            fingerprint=await _fingerprint(runtime, body, generation),
        )
        log = logger.warning if failure.is_permanent else logger.info
        log("SmartAccount %s/%s: %s: %s", namespace, name, failure.reason, failure.message)
    else:
        logger.info("SmartAccount %s/%s synced with CSSM", namespace, name)

    runtime.remember_status(uid, new)
    write_status(patch, body, old, new, kind=KIND, metrics=runtime.metrics)
    return failure
