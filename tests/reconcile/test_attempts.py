"""The timetable in status decides when a pass is due: spec, stall, retry, request, schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smartlicensing.api.smartaccount import SmartAccountStatus
from smartlicensing.reconcile.attempts import Due, Failure, sync_requested, wait_after, why_due

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def status(**fields: object) -> SmartAccountStatus:
    base: dict[str, object] = {
        "observed_generation": 1,
        "last_sync_time": NOW - HOUR,
        "next_sync_time": NOW + HOUR,
    }
    return SmartAccountStatus.model_validate({**base, **fields})


@pytest.mark.parametrize(
    ("fields", "generation", "fingerprint", "requested", "want"),
    [
        pytest.param({}, 1, None, None, None, id="settled-nothing-due"),
        pytest.param({}, 2, None, None, Due.GENERATION, id="new-generation"),
        pytest.param({"observed_generation": None}, 1, None, None, Due.GENERATION, id="never-seen"),
        pytest.param({"next_sync_time": NOW - HOUR}, 1, None, None, Due.SCHEDULE, id="sync-due"),
        pytest.param({"next_sync_time": None}, 1, None, None, Due.SCHEDULE, id="no-schedule"),
        pytest.param({}, 1, None, NOW, Due.REQUESTED, id="renew-requested"),
        pytest.param({}, 1, None, NOW - 2 * HOUR, None, id="request-older-than-last-sync"),
        pytest.param(
            {"next_attempt_time": NOW + HOUR, "failed_attempts": 2},
            1,
            None,
            NOW,
            None,
            id="request-waits-for-backoff",
        ),
        pytest.param(
            {"next_attempt_time": NOW - HOUR, "failed_attempts": 2},
            1,
            None,
            None,
            Due.RETRY,
            id="retry-time-came",
        ),
        pytest.param(
            {"stalled_inputs": "abc", "next_sync_time": NOW - HOUR},
            1,
            None,
            None,
            None,
            id="stalled-without-fingerprint-never-due",
        ),
        pytest.param({"stalled_inputs": "abc"}, 1, "abc", NOW, None, id="stalled-same-inputs"),
        pytest.param(
            {"stalled_inputs": "abc"}, 1, "xyz", None, Due.INPUTS_CHANGED, id="stalled-new-inputs"
        ),
        pytest.param(
            {"stalled_inputs": "abc"}, 2, None, None, Due.GENERATION, id="stalled-new-spec"
        ),
    ],
)
def test_why_due(
    fields: dict[str, object],
    generation: int,
    fingerprint: str | None,
    requested: datetime | None,
    want: Due | None,
) -> None:
    got = why_due(
        status(**fields),
        generation=generation,
        now=NOW,
        fingerprint=fingerprint,
        requested_at=requested,
    )

    assert got == want


def test_a_request_from_the_future_is_answered_by_the_next_sync() -> None:
    future = NOW + timedelta(days=3)

    assert sync_requested(status(last_sync_time=NOW - HOUR), future, NOW)
    assert not sync_requested(status(last_sync_time=NOW), future, NOW)


def test_wait_after_counts_down_to_the_next_attempt() -> None:
    assert wait_after(status(next_attempt_time=NOW + HOUR), NOW) == HOUR
    assert wait_after(status(next_attempt_time=NOW - HOUR), NOW) == timedelta(0)
    assert wait_after(status(), NOW) == timedelta(0)


@pytest.mark.parametrize(
    ("failure", "permanent"),
    [
        pytest.param(Failure("InvalidToken", "x"), True, id="permanent-reason"),
        pytest.param(Failure("CSSMUnavailable", "x"), False, id="transient-reason"),
        pytest.param(Failure("CSSMUnavailable", "x", permanent=True), True, id="overridden"),
        pytest.param(Failure("InvalidToken", "x", permanent=False), False, id="issued-token"),
    ],
)
def test_failure_permanence_follows_the_reason_unless_overridden(
    failure: Failure, permanent: bool
) -> None:
    assert failure.is_permanent is permanent
