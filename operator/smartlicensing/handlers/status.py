"""Turning a decided status into kopf's ``patch`` and the Events a person reads.

Status is written as a JSON merge patch through kopf's ``patch`` kwarg, never by a separate
client call: kopf applies it to the status subresource after the handler, also when the handler
raises, so a failure's status is recorded together with kopf's own bookkeeping. A field the new
status no longer has is sent as ``null`` (merge-patch for "remove"); lists are replaced whole.

Every condition whose status moved gets one Event, a Warning when the object is stuck or not
Ready, Normal otherwise. Messages are built from condition messages, which never hold secrets,
and are masked once more on the way out anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Final

import kopf
from pydantic import BaseModel

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import Condition, ConditionStatus
from smartlicensing.observability.metrics import Metrics
from smartlicensing.observability.redaction import redact

logger = logging.getLogger(__name__)

_EVENT_MESSAGE_LIMIT: Final = 1000
_QUIET_WHEN_FALSE: Final = frozenset({c.RECONCILING, c.STALLED})


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch that turns ``old`` into ``new`` (nulls for removed keys)."""
    patch: dict[str, Any] = {}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif value != before:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch


def dump(status: BaseModel) -> dict[str, Any]:
    """A status model as the API server stores it: camelCase, no nulls, no empty lists."""
    raw = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    return {key: value for key, value in raw.items() if value != []}


def _conditions(raw: Mapping[str, Any]) -> dict[str, Condition]:
    found: dict[str, Condition] = {}
    for item in raw.get("conditions") or []:
        try:
            condition = Condition.model_validate(item)
        except ValueError:
            continue
        found[condition.type] = condition
    return found


def write_status(
    patch: kopf.Patch,
    body: kopf.Body,
    old: Mapping[str, Any],
    new: BaseModel,
    *,
    kind: str,
    metrics: Metrics,
) -> None:
    """Put ``new`` into ``patch`` and post an Event for every condition that moved."""
    new_raw = dump(new)
    changes = merge_patch(old, new_raw)
    if changes:
        patch.status.update(changes)

    before, after = _conditions(old), _conditions(new_raw)
    for condition_type, condition in after.items():
        previous = before.get(condition_type)
        if previous is not None and previous.status is condition.status:
            continue
        if (
            previous is None
            and condition_type in _QUIET_WHEN_FALSE
            and condition.status is ConditionStatus.FALSE
        ):
            continue
        _post(body, condition)

    ready = after.get(c.READY)
    if ready is not None:
        metrics.record_reconcile(kind, ready.reason)


def _post(body: kopf.Body, condition: Condition) -> None:
    message = redact(f"{condition.type} is {condition.status.value}: {condition.message}")
    message = message[:_EVENT_MESSAGE_LIMIT]
    worrying = (condition.type == c.STALLED and condition.status is ConditionStatus.TRUE) or (
        condition.type == c.READY and condition.status is ConditionStatus.FALSE
    )
    if worrying:
        kopf.warn(body, reason=condition.reason, message=message)
    else:
        kopf.info(body, reason=condition.reason, message=message)
