"""Conditions keep Kubernetes semantics; Ready summarises; Reconciling/Stalled follow kstatus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import Condition, ConditionStatus
from smartlicensing.reconcile.conditions import (
    Progress,
    find,
    is_true,
    ordered,
    set_condition,
    set_progress,
    summarize_ready,
)

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
TRUE, FALSE, UNKNOWN = ConditionStatus.TRUE, ConditionStatus.FALSE, ConditionStatus.UNKNOWN


def cond(
    kind: str, status: ConditionStatus, reason: str = "Because", message: str = ""
) -> Condition:
    return Condition(
        type=kind,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=T0,
        observed_generation=1,
    )


class TestSetCondition:
    def test_adds_a_missing_condition_with_now_as_transition(self) -> None:
        result = set_condition([], c.REGISTERED, True, c.REGISTERED_REASON, generation=3, now=T1)

        assert result == [
            Condition(
                type=c.REGISTERED,
                status=TRUE,
                reason=c.REGISTERED_REASON,
                message="",
                last_transition_time=T1,
                observed_generation=3,
            )
        ]

    def test_same_status_keeps_transition_time_but_takes_new_reason_and_generation(self) -> None:
        before = [cond(c.REGISTERED, TRUE, c.REGISTERING)]

        (after,) = set_condition(
            before, c.REGISTERED, TRUE, c.REGISTERED_REASON, "done", generation=2, now=T1
        )

        assert after.last_transition_time == T0
        assert (after.reason, after.message, after.observed_generation) == (
            c.REGISTERED_REASON,
            "done",
            2,
        )

    @pytest.mark.parametrize(
        ("old", "new"),
        [
            pytest.param(TRUE, FALSE, id="true-to-false"),
            pytest.param(FALSE, TRUE, id="false-to-true"),
            pytest.param(UNKNOWN, TRUE, id="unknown-to-true"),
        ],
    )
    def test_status_change_moves_transition_time(
        self, old: ConditionStatus, new: ConditionStatus
    ) -> None:
        (after,) = set_condition([cond(c.READY, old)], c.READY, new, "X", generation=1, now=T1)

        assert after.last_transition_time == T1
        assert after.status is new

    def test_replaces_in_place_and_leaves_others_alone(self) -> None:
        before = [cond(c.READY, FALSE), cond(c.REGISTERED, FALSE), cond(c.STALLED, FALSE)]

        after = set_condition(before, c.REGISTERED, TRUE, "Yes", generation=1, now=T1)

        assert [x.type for x in after] == [c.READY, c.REGISTERED, c.STALLED]
        assert after[0] == before[0]
        assert after[2] == before[2]
        assert before[1].status is FALSE, "the input list was mutated"

    @given(st.lists(st.sampled_from([TRUE, FALSE, UNKNOWN]), min_size=1, max_size=20))
    def test_transition_time_is_the_time_of_the_last_status_change(
        self, statuses: list[ConditionStatus]
    ) -> None:
        conditions: list[Condition] = []
        expected = T0
        for step, status in enumerate(statuses):
            now = T0 + timedelta(minutes=step)
            current = find(conditions, c.READY)
            if current is None or current.status is not status:
                expected = now
            conditions = set_condition(conditions, c.READY, status, "R", generation=1, now=now)

        assert len(conditions) == 1
        assert conditions[0].last_transition_time == expected


class TestReadySummary:
    REQUIRED = (c.TOKEN_READY, c.REGISTERED, c.AUTHORIZED)

    @pytest.mark.parametrize(
        ("conditions", "status", "reason", "message"),
        [
            pytest.param(
                [cond(c.TOKEN_READY, TRUE), cond(c.REGISTERED, TRUE), cond(c.AUTHORIZED, TRUE)],
                TRUE,
                c.REGISTERED_REASON,
                "",
                id="all-true",
            ),
            pytest.param(
                [
                    cond(c.TOKEN_READY, TRUE),
                    cond(c.REGISTERED, UNKNOWN, c.REGISTERING),
                    cond(c.AUTHORIZED, FALSE, c.EVALUATION, "evaluation: 80 days left"),
                ],
                FALSE,
                c.EVALUATION,
                "evaluation: 80 days left",
                id="false-beats-unknown",
            ),
            pytest.param(
                [cond(c.TOKEN_READY, TRUE), cond(c.REGISTERED, UNKNOWN, c.REGISTERING, "wait")],
                UNKNOWN,
                c.REGISTERING,
                "wait",
                id="unknown-repeats-reason",
            ),
            pytest.param(
                [cond(c.TOKEN_READY, TRUE), cond(c.REGISTERED, TRUE)],
                UNKNOWN,
                c.SYNCING,
                "Authorized is not known yet",
                id="missing-is-unknown",
            ),
            pytest.param(
                [
                    cond(c.TOKEN_READY, TRUE),
                    cond(c.REGISTERED, TRUE),
                    cond(c.AUTHORIZED, TRUE),
                    cond(c.STALLED, TRUE, c.INVALID_TOKEN, "token is malformed"),
                ],
                FALSE,
                c.INVALID_TOKEN,
                "token is malformed",
                id="stalled-wins",
            ),
        ],
    )
    def test_ready_takes_the_first_culprit(
        self, conditions: list[Condition], status: ConditionStatus, reason: str, message: str
    ) -> None:
        result = summarize_ready(
            conditions,
            self.REQUIRED,
            ready_reason=c.REGISTERED_REASON,
            generation=4,
            now=T1,
        )

        ready = find(result, c.READY)
        assert ready is not None
        assert (ready.status, ready.reason, ready.message) == (status, reason, message)
        assert ready.observed_generation == 4


class TestProgress:
    @pytest.mark.parametrize(
        ("progress", "reconciling", "stalled"),
        [
            pytest.param(Progress.RECONCILING, TRUE, FALSE, id="reconciling"),
            pytest.param(Progress.STALLED, FALSE, TRUE, id="stalled"),
            pytest.param(Progress.SETTLED, FALSE, FALSE, id="settled"),
        ],
    )
    def test_at_most_one_of_reconciling_and_stalled_is_true(
        self, progress: Progress, reconciling: ConditionStatus, stalled: ConditionStatus
    ) -> None:
        before = [cond(c.RECONCILING, TRUE), cond(c.STALLED, TRUE)]

        after = set_progress(before, progress, "Why", "details", generation=2, now=T1)

        assert (find(after, c.RECONCILING), find(after, c.STALLED)) != (None, None)
        assert is_true(after, c.RECONCILING) is (reconciling is TRUE)
        assert is_true(after, c.STALLED) is (stalled is TRUE)
        for condition in after:
            assert condition.observed_generation == 2
            assert condition.message == ("details" if condition.status is TRUE else "")

    def test_ordered_follows_the_kind_and_keeps_strangers_last(self) -> None:
        shuffled = [cond("Custom", TRUE), cond(c.STALLED, FALSE), cond(c.READY, TRUE)]

        result = ordered(shuffled, c.REGISTRATION_CONDITIONS)

        assert [x.type for x in result] == [c.READY, c.STALLED, "Custom"]
