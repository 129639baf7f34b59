"""Reading the timetable of an object: its freshest status and the "sync now" annotation.

kopf applies a handler's status patch after the handler returns, so a timer that fires while
another handler of the same object is still working sees the status from before that work. The
runtime therefore remembers the last status the operator decided for each object, and decisions
are made from that when it exists; the object's own status is the truth after a restart.

A ``sync-requested-at`` time that is not later than ``lastSyncTime`` asks for nothing; so that
it is not ignored in silence, each such value is answered once (an INFO line and a Normal
Event), not on every timer tick or watch event; values present at start-up are only noted.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import SYNC_REQUESTED_AT
from smartlicensing.config import OperatorSettings
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.reconcile import schedule
from smartlicensing.reconcile.attempts import TimetabledStatus, sync_requested

logger = logging.getLogger(__name__)


def first_check_delay(settings: OperatorSettings) -> Callable[..., float]:
    """kopf's ``initial_delay`` for a timer: the first checks after a start, spread evenly.

    Timers of objects found together would otherwise tick together forever; a golden-ratio
    sequence spreads them over ``first_check_spread`` seconds whatever their number.
    """
    spread = itertools.count(1)

    def delay(**_: Any) -> float:
        return settings.first_check_spread * schedule.weyl_spread(next(spread))

    return delay


def runtime_of(memo: kopf.Memo) -> Runtime:
    """The runtime the startup handler put into kopf's memo."""
    runtime = memo.get("runtime")
    if not isinstance(runtime, Runtime):
        raise kopf.PermanentError("the operator's runtime is missing from memo (startup failed)")
    return runtime


def status_for_decision(runtime: Runtime, body: kopf.Body) -> Mapping[str, Any]:
    """The object's status as last decided by this process, else as the API server has it."""
    remembered = runtime.remembered_status(str(body.meta.get("uid")))
    return remembered if remembered is not None else body.status


def requested_sync_time(body: kopf.Body) -> datetime | None:
    """The time in the ``sync-requested-at`` annotation; None when absent or unreadable."""
    value = body.meta.annotations.get(SYNC_REQUESTED_AT)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        logger.warning(
            "%s/%s: annotation %s is not an RFC 3339 time; ignored",
            body.meta.get("namespace"),
            body.meta.get("name"),
            SYNC_REQUESTED_AT,
        )
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def announce_outdated_sync_request(
    runtime: Runtime,
    body: kopf.Body,
    status_of: Callable[[], TimetabledStatus],
    *,
    quietly: bool = False,
) -> None:
    """Say so, once per value, when ``sync-requested-at`` is no later than the last sync.

    ``status_of`` gives the freshest status (read only when there is a new value to judge).
    ``quietly`` (at start-up) only notes the value: a request answered before a restart is
    also older than the last sync, and was not ignored.
    """
    uid = str(body.meta.get("uid"))
    value = body.meta.annotations.get(SYNC_REQUESTED_AT)
    if not value:
        runtime.sync_requests_seen.pop(uid, None)
        return
    if runtime.sync_requests_seen.get(uid) == value:
        return
    runtime.sync_requests_seen[uid] = value
    if quietly:
        return
    requested = requested_sync_time(body)
    status = status_of()
    last_sync_time = status.last_sync_time
    if requested is None or last_sync_time is None:
        return
    if sync_requested(status, requested, runtime.now()):
        return
    message = (
        f"sync requested at {value} is not later than the last sync at "
        f"{last_sync_time.isoformat()}, so nothing was done; set {SYNC_REQUESTED_AT} to the "
        "current time to sync again"
    )
    logger.info("%s/%s: %s", body.meta.get("namespace"), body.meta.get("name"), message)
    kopf.info(body, reason=c.SYNC_REQUEST_OUTDATED, message=message)
