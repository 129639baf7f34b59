"""Backoff after failures: doubling to a cap, jittered, Retry-After honoured, permanent waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartlicensing.api import conditions as c
from smartlicensing.api.smartaccount import SmartAccountStatus
from smartlicensing.reconcile.backoff import (
    BackoffPolicy,
    delay,
    inputs_fingerprint,
    is_permanent,
    jitter_for,
    may_attempt,
    record_permanent_failure,
    record_success,
    record_transient_failure,
    time_until_attempt,
)

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        pytest.param(1, 30 * S, id="first"),
        pytest.param(2, 60 * S, id="second"),
        pytest.param(3, 120 * S, id="third"),
        pytest.param(7, 1920 * S, id="seventh"),
        pytest.param(8, 3600 * S, id="capped"),
        pytest.param(10_000, 3600 * S, id="long-outage-stays-capped"),
    ],
)
def test_delay_doubles_up_to_the_cap(attempts: int, expected: timedelta) -> None:
    assert delay(attempts, jitter=0.0) == expected


@given(attempts=st.integers(min_value=1, max_value=200), jitter=st.floats(0, 0.999))
def test_jitter_only_shortens_and_by_at_most_its_ratio(attempts: int, jitter: float) -> None:
    policy = BackoffPolicy(jitter_ratio=0.2)
    full = delay(attempts, 0.0, policy)

    jittered = delay(attempts, jitter, policy)

    assert full * 0.8 <= jittered <= full <= policy.cap


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: delay(0, 0.0), "delay is for failures", id="no-failure"),
        pytest.param(lambda: delay(1, 1.0), "jitter must be in", id="jitter-one"),
        pytest.param(lambda: BackoffPolicy(base=2 * S, cap=S), "0 < base <= cap", id="cap"),
        pytest.param(lambda: BackoffPolicy(jitter_ratio=1.0), "jitter_ratio", id="ratio"),
    ],
)
def test_refuses_nonsense(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_jitter_for_is_deterministic_per_object_and_attempt() -> None:
    values = {jitter_for(f"uid-{n}", 1) for n in range(200)}

    assert jitter_for("uid-1", 3) == jitter_for("uid-1", 3)
    assert jitter_for("uid-1", 3) != jitter_for("uid-1", 4)
    assert len(values) == 200
    assert all(0.0 <= v < 1.0 for v in values)
    assert min(values) < 0.1
    assert max(values) > 0.9


class TestTransientFailures:
    def test_counts_and_schedules_the_next_attempt(self) -> None:
        once = record_transient_failure(SmartAccountStatus(), now=T0, jitter=0.0)
        twice = record_transient_failure(once, now=T0 + 30 * S, jitter=0.0)

        assert (once.failed_attempts, once.next_attempt_time) == (1, T0 + 30 * S)
        assert (twice.failed_attempts, twice.next_attempt_time) == (2, T0 + 90 * S)
        assert twice.last_failure_time == T0 + 30 * S

    @pytest.mark.parametrize(
        ("retry_after", "expected"),
        [
            pytest.param(None, 30 * S, id="none"),
            pytest.param(5 * S, 30 * S, id="shorter-than-backoff"),
            pytest.param(600 * S, 600 * S, id="longer-wins"),
        ],
    )
    def test_never_earlier_than_retry_after(
        self, retry_after: timedelta | None, expected: timedelta
    ) -> None:
        after = record_transient_failure(
            SmartAccountStatus(), now=T0, jitter=0.0, retry_after=retry_after
        )

        assert after.next_attempt_time == T0 + expected

    def test_may_attempt_only_once_the_wait_is_over(self) -> None:
        after = record_transient_failure(SmartAccountStatus(), now=T0, jitter=0.0)

        assert not may_attempt(after, now=T0 + 29 * S, fingerprint="f")
        assert may_attempt(after, now=T0 + 30 * S, fingerprint="f")
        assert time_until_attempt(after, now=T0 + 10 * S) == 20 * S


class TestPermanentFailures:
    @pytest.mark.parametrize(
        ("reason", "permanent"),
        [
            pytest.param(c.INVALID_TOKEN, True, id="invalid-token"),
            pytest.param(c.UNSUPPORTED_VERSION, True, id="unsupported-version"),
            pytest.param(c.INVALID_SPEC, True, id="invalid-spec"),
            pytest.param(c.CSSM_UNAVAILABLE, False, id="cssm-unavailable"),
            pytest.param(c.RATE_LIMITED, False, id="rate-limited"),
            pytest.param(c.CLUSTER_UNREACHABLE, False, id="cluster-unreachable"),
        ],
    )
    def test_which_reasons_are_permanent(self, reason: str, permanent: bool) -> None:
        assert is_permanent(reason) is permanent

    def test_not_retried_until_spec_or_secret_changes(self) -> None:
        seen = inputs_fingerprint(3, {"token": "100", "creds": "7"})
        after = record_permanent_failure(SmartAccountStatus(), now=T0, fingerprint=seen)
        much_later = T0 + timedelta(days=30)

        assert not may_attempt(after, now=much_later, fingerprint=seen)
        assert time_until_attempt(after, now=much_later) is None
        spec_changed = inputs_fingerprint(4, {"token": "100", "creds": "7"})
        secret_changed = inputs_fingerprint(3, {"token": "101", "creds": "7"})
        assert may_attempt(after, now=T0, fingerprint=spec_changed)
        assert may_attempt(after, now=T0, fingerprint=secret_changed)

    def test_fingerprint_ignores_order_and_hides_names_and_versions(self) -> None:
        one = inputs_fingerprint(1, {"a": "1", "b": "2"})

        assert one == inputs_fingerprint(1, {"b": "2", "a": "1"})
        assert len(one) == 32
        assert "a=1" not in one

    def test_success_clears_the_record(self) -> None:
        failed = record_permanent_failure(SmartAccountStatus(), now=T0, fingerprint="x")

        cleared = record_success(failed)

        assert cleared.failed_attempts == 0
        assert cleared.stalled_inputs is None
        assert cleared.last_failure_time is None
        assert may_attempt(cleared, now=T0, fingerprint="x")
