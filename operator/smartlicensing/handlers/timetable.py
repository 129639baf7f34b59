"""Reading the timetable of an object: its freshest status and the "sync now" annotation.

kopf applies a handler's status patch after the handler returns, so a timer that fires while
another handler of the same object is still working sees the status from before that work. The
runtime therefore remembers the last status the operator decided for each object, and decisions
are made from that when it exists; the object's own status is the truth after a restart.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import kopf

from smartlicensing.api.meta import SYNC_REQUESTED_AT
from smartlicensing.config import OperatorSettings
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.reconcile import schedule

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
