"""Conditions with Kubernetes semantics, the ``Ready`` summary and kstatus progress.

Kubernetes tools read conditions by rules this module keeps in one place:

- A condition is replaced by type, never duplicated; ``lastTransitionTime`` moves only when
  ``status`` moves, so "Ready since" stays true across a thousand identical writes.
- Every condition carries the ``observedGeneration`` it was computed from.
- ``Ready`` summarises the kind's other conditions: True only when all of them are True and
  nothing is Stalled; otherwise it repeats the reason and message of the first one that is not.
- ``Reconciling`` and ``Stalled`` follow kstatus: they are "abnormal-true", and at most one of
  them is True. Both are kept in the list (False when not applicable) so that the columns and
  health checks that look for them always find them.

Functions return new lists and never mutate what they are given.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import Condition, ConditionStatus


def find(conditions: Sequence[Condition], condition_type: str) -> Condition | None:
    """The condition of this type, if present."""
    return next((cond for cond in conditions if cond.type == condition_type), None)


def is_true(conditions: Sequence[Condition], condition_type: str) -> bool:
    """Whether the condition of this type is present and True."""
    found = find(conditions, condition_type)
    return found is not None and found.status is ConditionStatus.TRUE


def set_condition(
    conditions: Sequence[Condition],
    condition_type: str,
    status: ConditionStatus | bool,
    reason: str,
    message: str = "",
    *,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Set one condition, keeping its place in the list and its transition time if unchanged."""
    if isinstance(status, bool):
        status = ConditionStatus.TRUE if status else ConditionStatus.FALSE
    previous = find(conditions, condition_type)
    updated = Condition(
        type=condition_type,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=(
            now
            if previous is None or previous.status is not status
            else previous.last_transition_time
        ),
        observed_generation=generation,
    )
    if previous is None:
        return [*conditions, updated]
    return [updated if cond.type == condition_type else cond for cond in conditions]


def summarize_ready(
    conditions: Sequence[Condition],
    required: Sequence[str],
    *,
    ready_reason: str,
    ready_message: str = "",
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Set ``Ready`` from the ``required`` condition types and ``Stalled``.

    Ready is True (with ``ready_reason``) when every required condition is True and Stalled is
    not. Otherwise it takes the reason and message of the first culprit: Stalled if True, then
    the first required condition that is False, then the first that is Unknown or absent.
    """
    stalled = find(conditions, c.STALLED)
    if stalled is not None and stalled.status is ConditionStatus.TRUE:
        return set_condition(
            conditions,
            c.READY,
            ConditionStatus.FALSE,
            stalled.reason,
            stalled.message,
            generation=generation,
            now=now,
        )

    present = [(name, find(conditions, name)) for name in required]
    false = [cond for _, cond in present if cond and cond.status is ConditionStatus.FALSE]
    if false:
        culprit = false[0]
        return set_condition(
            conditions,
            c.READY,
            ConditionStatus.FALSE,
            culprit.reason,
            culprit.message,
            generation=generation,
            now=now,
        )
    for name, cond in present:
        if cond is None:
            return set_condition(
                conditions,
                c.READY,
                ConditionStatus.UNKNOWN,
                c.SYNCING,
                f"{name} is not known yet",
                generation=generation,
                now=now,
            )
        if cond.status is ConditionStatus.UNKNOWN:
            return set_condition(
                conditions,
                c.READY,
                ConditionStatus.UNKNOWN,
                cond.reason,
                cond.message,
                generation=generation,
                now=now,
            )
    return set_condition(
        conditions,
        c.READY,
        ConditionStatus.TRUE,
        ready_reason,
        ready_message,
        generation=generation,
        now=now,
    )


class Progress(enum.Enum):
    """The kstatus view of an object: working on it, stuck, or done."""

    RECONCILING = "Reconciling"
    STALLED = "Stalled"
    SETTLED = "Settled"


def set_progress(
    conditions: Sequence[Condition],
    progress: Progress,
    reason: str,
    message: str = "",
    *,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Set ``Reconciling`` and ``Stalled`` so that at most one is True (kstatus).

    ``reason`` and ``message`` go on the condition that is True; when settled both are False
    with ``reason`` (typically ``Succeeded``).
    """
    reconciling = progress is Progress.RECONCILING
    stalled = progress is Progress.STALLED
    updated = set_condition(
        conditions,
        c.RECONCILING,
        reconciling,
        reason,
        message if reconciling else "",
        generation=generation,
        now=now,
    )
    return set_condition(
        updated,
        c.STALLED,
        stalled,
        reason,
        message if stalled else "",
        generation=generation,
        now=now,
    )


def ordered(conditions: Sequence[Condition], order: Sequence[str]) -> list[Condition]:
    """The conditions in the kind's documented order; unknown types keep their place at the end."""
    rank = {name: index for index, name in enumerate(order)}
    return sorted(conditions, key=lambda cond: rank.get(cond.type, len(rank)))
