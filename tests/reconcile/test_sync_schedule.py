"""The sync schedule: spread at first, phase kept later, rebuilt when it cannot be trusted."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartlicensing.api.registration import SmartLicenseRegistrationStatus
from smartlicensing.reconcile.schedule import (
    Schedule,
    after_sync,
    first_sync,
    is_due,
    read_schedule,
    time_until_due,
    weyl_spread,
)

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def status(
    next_sync: datetime | None, interval: str | None = "24h"
) -> SmartLicenseRegistrationStatus:
    return SmartLicenseRegistrationStatus(
        next_sync_time=next_sync, scheduled_sync_interval=interval
    )


class TestFirstSync:
    @pytest.mark.parametrize(
        ("spread", "window", "expected"),
        [
            pytest.param(0.0, 0.5, T0 + DAY, id="no-spread"),
            pytest.param(0.5, 0.5, T0 + timedelta(hours=18), id="half-spread"),
            pytest.param(0.999, 0.5, T0 + DAY - DAY * 0.4995, id="almost-full-window"),
            pytest.param(0.5, 0.2, T0 + DAY - DAY * 0.1, id="narrow-window"),
        ],
    )
    def test_pulls_forward_by_spread_times_window(
        self, spread: float, window: float, expected: datetime
    ) -> None:
        assert first_sync(T0, DAY, spread, window) == expected

    @pytest.mark.parametrize(
        ("interval", "spread", "window", "message"),
        [
            pytest.param(timedelta(0), 0.1, 0.5, "interval must be positive", id="zero-interval"),
            pytest.param(DAY, 1.0, 0.5, "spread must be in", id="spread-one"),
            pytest.param(DAY, -0.1, 0.5, "spread must be in", id="negative-spread"),
            pytest.param(DAY, 0.1, 1.5, "window must be in", id="window-over-one"),
        ],
    )
    def test_refuses_nonsense(
        self, interval: timedelta, spread: float, window: float, message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            first_sync(T0, interval, spread, window)

    def test_300_objects_created_together_spread_evenly(self) -> None:
        times = [first_sync(T0, DAY, weyl_spread(index)) for index in range(300)]

        slots = Counter(int((t - T0) / DAY * 100) for t in times)

        assert max(slots.values()) <= 9, f"a 1% slot holds {max(slots.values())} of 300"
        assert min(times) > T0 + DAY / 2
        assert max(times) <= T0 + DAY


class TestAfterSync:
    def test_without_a_schedule_starts_one(self) -> None:
        result = after_sync(None, synced_at=T0, interval=DAY, spread=0.5, now=T0)

        assert result == Schedule(T0 + timedelta(hours=18), DAY)

    @pytest.mark.parametrize(
        ("late_by", "expected"),
        [
            pytest.param(timedelta(0), T0 + DAY, id="on-time"),
            pytest.param(timedelta(hours=3), T0 + DAY, id="late-keeps-phase"),
            pytest.param(timedelta(hours=50), T0 + 3 * DAY, id="missed-two-skips-ahead"),
        ],
    )
    def test_keeps_the_phase_of_the_previous_schedule(
        self, late_by: timedelta, expected: datetime
    ) -> None:
        previous = Schedule(T0, DAY)
        now = T0 + late_by

        result = after_sync(previous, synced_at=now, interval=DAY, spread=0.9, now=now)

        assert result == Schedule(expected, DAY)

    def test_an_early_sync_keeps_the_slot_it_did_not_reach(self) -> None:
        previous = Schedule(T0 + timedelta(hours=5), DAY)

        result = after_sync(previous, synced_at=T0, interval=DAY, spread=0.3, now=T0)

        assert result == previous

    @pytest.mark.parametrize(
        "previous",
        [
            pytest.param(Schedule(T0, timedelta(hours=12)), id="interval-changed"),
            pytest.param(Schedule(T0 + 3 * DAY, DAY), id="too-far-in-the-future"),
        ],
    )
    def test_reschedules_when_the_old_schedule_cannot_be_trusted(self, previous: Schedule) -> None:
        result = after_sync(previous, synced_at=T0, interval=DAY, spread=0.5, now=T0)

        assert result == Schedule(T0 + timedelta(hours=18), DAY)

    @given(
        spread=st.floats(min_value=0, max_value=0.999),
        delays=st.lists(st.integers(min_value=0, max_value=6 * 3600), min_size=1, max_size=30),
    )
    def test_period_equals_interval_whatever_the_delays(
        self, spread: float, delays: list[int]
    ) -> None:
        schedule = after_sync(None, synced_at=T0, interval=DAY, spread=spread, now=T0)
        origin = schedule.next_sync_time
        for late in delays:
            now = schedule.next_sync_time + timedelta(seconds=late)
            schedule = after_sync(schedule, synced_at=now, interval=DAY, spread=spread, now=now)

            assert (schedule.next_sync_time - origin) % DAY == timedelta(0)
            assert now < schedule.next_sync_time <= now + DAY


class TestReadingStatus:
    @pytest.mark.parametrize(
        ("next_sync", "interval", "expected"),
        [
            pytest.param(T0, "24h", Schedule(T0, DAY), id="complete"),
            pytest.param(None, "24h", None, id="no-time"),
            pytest.param(T0, None, None, id="no-interval"),
            pytest.param(T0, "0s", None, id="zero-interval"),
        ],
    )
    def test_read_schedule(
        self, next_sync: datetime | None, interval: str | None, expected: Schedule | None
    ) -> None:
        assert read_schedule(status(next_sync, interval)) == expected

    def test_garbled_interval_written_by_hand_reads_as_no_schedule(self) -> None:
        garbled = status(T0).model_copy(update={"scheduled_sync_interval": "one day"})

        assert read_schedule(garbled) is None

    @pytest.mark.parametrize(
        ("next_sync", "now", "due", "wait"),
        [
            pytest.param(None, T0, True, timedelta(0), id="never-scheduled"),
            pytest.param(T0, T0, True, timedelta(0), id="exactly-now"),
            pytest.param(T0, T0 + timedelta(hours=1), True, timedelta(0), id="overdue"),
            pytest.param(T0 + timedelta(hours=2), T0, False, timedelta(hours=2), id="later"),
        ],
    )
    def test_is_due_reads_only_status(
        self, next_sync: datetime | None, now: datetime, due: bool, wait: timedelta
    ) -> None:
        assert is_due(status(next_sync), now) is due
        assert time_until_due(status(next_sync), now) == wait

    def test_schedule_round_trips_through_status(self) -> None:
        schedule = Schedule(T0, timedelta(hours=1, minutes=30))

        written = SmartLicenseRegistrationStatus.model_validate(schedule.status_fields())
        stored = SmartLicenseRegistrationStatus.model_validate(written.model_dump(mode="json"))

        assert read_schedule(stored) == schedule
