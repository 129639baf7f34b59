"""Turning a decided status into kopf's ``patch`` and the Events a person reads.

Status is written as a JSON merge patch through kopf's ``patch`` kwarg, never by a separate
client call: kopf applies it to the status subresource after the handler, also when the handler
raises, so a failure's status is recorded together with kopf's own bookkeeping. A field the new
status no longer has is sent as ``null`` (merge-patch for "remove"); lists are replaced whole.

The conditions whose status moved in one pass are announced by one Event: it leads with the one
that matters most (``Stalled`` becoming True, then ``Ready``, then the others in the order of the
procedure), takes that condition's reason, and names every other transition of the pass with
its reason and message. A registration that becomes Ready thus says so once, with its token,
registration, authorization and compliance in the same Event, instead of five Events at the
same moment (each Event is a write to the API server, and Kubernetes itself folds bursts of
similar Events). The Event is a Warning when the object is stuck or not Ready (except when it
waits for its SmartAccount, whose own Event warns), Normal otherwise.
Messages are built from condition messages, which never hold secrets, and are masked once more
on the way out anyway.
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
#: Not Ready for a reason another object reports: a registration waiting for its SmartAccount
#: (not checked yet, or failing) says so in a Normal Event; the account's own Event is the
#: Warning when there is something to fix.
_ECHOED: Final = frozenset({c.ACCOUNT_NOT_READY})


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


def raw_condition(status: Mapping[str, Any], condition_type: str) -> Mapping[str, Any]:
    """A condition of a raw status as stored (empty when absent), read without a model: for
    functions kopf calls on every event (indexes, filters)."""
    conditions = status.get("conditions")
    if isinstance(conditions, list):
        for condition in conditions:
            if isinstance(condition, Mapping) and condition.get("type") == condition_type:
                return condition
    return {}


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
    moved = [
        condition
        for condition_type, condition in after.items()
        if _moved(before.get(condition_type), condition)
    ]
    if moved:
        _post(body, sorted(moved, key=_importance))

    ready = after.get(c.READY)
    if ready is not None:
        metrics.record_reconcile(kind, ready.reason)


#: The order in which transitions are told: what a person must act on first.
_ORDER: Final = (
    c.STALLED,
    c.READY,
    c.TOKEN_READY,
    c.REGISTERED,
    c.AUTHORIZED,
    c.COMPLIANT,
    c.RECONCILING,
)


def _importance(condition: Condition) -> tuple[int, int, str]:
    stuck = condition.type == c.STALLED and condition.status is ConditionStatus.TRUE
    rank = _ORDER.index(condition.type) if condition.type in _ORDER else len(_ORDER)
    return (0 if stuck else 1, rank, condition.type)


def _moved(previous: Condition | None, condition: Condition) -> bool:
    if previous is not None:
        return previous.status is not condition.status
    # A new condition is a transition, except Reconciling/Stalled appearing as False.
    return not (condition.type in _QUIET_WHEN_FALSE and condition.status is ConditionStatus.FALSE)


def _told(condition: Condition, *, reason: bool, said: str = "") -> str:
    """``Type is Status (Reason): message``; no message when empty or already said."""
    told = f"{condition.type} is {condition.status.value}"
    if reason:
        told = f"{told} ({condition.reason})"
    if condition.message and condition.message != said:
        told = f"{told}: {condition.message}"
    return told


def _post(body: kopf.Body, moved: list[Condition]) -> None:
    """One Event for the transitions of a pass, ``moved`` in order of importance."""
    lead, others = moved[0], moved[1:]
    message = _told(lead, reason=False)
    if others:
        also = "; ".join(_told(o, reason=True, said=lead.message) for o in others)
        message = f"{message} | also {also}"
    message = redact(message)[:_EVENT_MESSAGE_LIMIT]
    worrying = any(
        (condition.type == c.STALLED and condition.status is ConditionStatus.TRUE)
        or (
            condition.type == c.READY
            and condition.status is ConditionStatus.FALSE
            and condition.reason not in _ECHOED
        )
        for condition in moved
    )
    if worrying:
        kopf.warn(body, reason=lead.reason, message=message)
    else:
        kopf.info(body, reason=lead.reason, message=message)
