"""The daily sync: kept in status, one renewal per day, on request, and none after a restart."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from licensing_env import (
    EAST,
    WEST,
    Licensing,
    give_the_operator_time,
    licensing,
    licensing_world,
    smartlicensing_crds,
    wait_for,
)

REGISTRATIONS = "SmartLicenseRegistration"
RENEW = "*/authorization/renew"


def two_ready_registrations(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.registration("csw-west", WEST)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True")


def last_sync(licensing: Licensing, name: str) -> datetime:
    value = licensing.get(REGISTRATIONS, name)["status"]["lastSyncTime"]
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_schedule_is_kept_in_status_and_spread(licensing: Licensing) -> None:
    two_ready_registrations(licensing)

    east = licensing.get(REGISTRATIONS, "csw-east")["status"]
    west = licensing.get(REGISTRATIONS, "csw-west")["status"]

    assert east["scheduledSyncInterval"] == west["scheduledSyncInterval"] == "24h"
    assert east["nextSyncTime"] != west["nextSyncTime"], "first syncs are spread, not aligned"


def test_a_day_later_each_registration_renews_exactly_once(licensing: Licensing) -> None:
    two_ready_registrations(licensing)
    before = {name: last_sync(licensing, name) for name in ("csw-east", "csw-west")}
    licensing.sim.calls.clear()

    licensing.advance(days=1, seconds=1)
    for name, synced in before.items():
        wait_for(lambda: last_sync(licensing, name) > synced, what=f"{name} sync")  # noqa: B023
    give_the_operator_time()

    assert licensing.cluster_calls(EAST, "POST", RENEW) == 1
    assert licensing.cluster_calls(WEST, "POST", RENEW) == 1
    assert licensing.cluster_calls(EAST) == 1, "a sync is one call: the renewal answers the state"
    assert licensing.cluster_calls(EAST, "POST", "*/registration") == 0


def test_sync_requested_annotation_renews_now(licensing: Licensing) -> None:
    two_ready_registrations(licensing)
    licensing.advance(minutes=5)
    licensing.sim.calls.clear()
    before = last_sync(licensing, "csw-east")

    requested = licensing.sim.clock.now().isoformat()
    licensing.request_sync(REGISTRATIONS, "csw-east", requested)
    wait_for(lambda: last_sync(licensing, "csw-east") > before, what="requested sync")
    give_the_operator_time()

    assert licensing.cluster_calls(EAST, "POST", RENEW) == 1
    assert licensing.cluster_calls(WEST) == 0, "only the annotated registration syncs"


def test_restart_makes_no_call(licensing: Licensing) -> None:
    two_ready_registrations(licensing)
    licensing.stop()
    licensing.sim.calls.clear()

    licensing.start()
    give_the_operator_time(10)

    assert licensing.sim.calls.entries() == []


def test_restart_after_the_due_time_syncs_once(licensing: Licensing) -> None:
    two_ready_registrations(licensing)
    licensing.stop()
    licensing.sim.calls.clear()
    licensing.advance(days=1, seconds=1)

    licensing.start()
    wait_for(lambda: licensing.cluster_calls(EAST, "POST", RENEW) == 1, what="renewal")
    give_the_operator_time()

    assert licensing.cluster_calls(EAST, "POST", RENEW) == 1
    assert licensing.cluster_calls(WEST, "POST", RENEW) == 1


def test_transient_cluster_failure_backs_off_and_is_counted(licensing: Licensing) -> None:
    two_ready_registrations(licensing)
    licensing.sim.faults.add({"kind": "error", "path": f"/clusters/{EAST}/*", "status": 503})
    licensing.sim.calls.clear()

    licensing.advance(days=1, seconds=1)
    failing = wait_for(
        lambda: licensing.get(REGISTRATIONS, "csw-east")["status"].get("failedAttempts", 0) >= 1,
        what="a counted failure",
    )
    give_the_operator_time()
    calls_during_backoff = licensing.cluster_calls(EAST)

    status = licensing.get(REGISTRATIONS, "csw-east")["status"]
    assert failing
    assert status["failedAttempts"] == 1, "no retry before nextAttemptTime"
    assert status["nextAttemptTime"]
    assert licensing.condition(REGISTRATIONS, "csw-east", "Ready")["status"] == "True"  # type: ignore[index]
    assert licensing.condition(REGISTRATIONS, "csw-east", "Reconciling")["reason"] == "Retrying"  # type: ignore[index]

    licensing.sim.faults.clear()
    licensing.advance(minutes=1)
    wait_for(
        lambda: licensing.get(REGISTRATIONS, "csw-east")["status"].get("failedAttempts", 0) == 0,
        what="recovery",
    )
    assert calls_during_backoff == licensing.settings.call_attempts


def test_labels_and_unrelated_annotations_make_no_call(licensing: Licensing) -> None:
    two_ready_registrations(licensing)
    licensing.sim.calls.clear()

    licensing.patch(
        REGISTRATIONS,
        "csw-east",
        {"metadata": {"labels": {"team": "y"}, "annotations": {"note": "x"}}},
    )
    give_the_operator_time(5)

    assert licensing.sim.calls.entries() == []
    assert licensing.condition(REGISTRATIONS, "csw-east", "Ready")["status"] == "True"  # type: ignore[index]


def sync_requests_outdated(licensing: Licensing, name: str) -> list[dict[str, Any]]:
    return [e for e in licensing.events(name) if e["reason"] == "SyncRequestOutdated"]


def test_a_request_older_than_the_last_sync_is_answered_once_per_value(
    licensing: Licensing, caplog: pytest.LogCaptureFixture
) -> None:
    two_ready_registrations(licensing)
    synced = last_sync(licensing, "csw-east")
    licensing.sim.calls.clear()

    for n, stale in enumerate((synced - timedelta(hours=1), synced), start=1):
        licensing.request_sync(REGISTRATIONS, "csw-east", stale.isoformat())
        wait_for(lambda: len(sync_requests_outdated(licensing, "csw-east")) == n)  # noqa: B023
        give_the_operator_time()

        events = sync_requests_outdated(licensing, "csw-east")
        assert len(events) == n, "once per value, not once per timer tick"
        assert events[-1]["type"] == "Normal"
        assert "not later than the last sync" in events[-1]["message"]
        assert "nothing was done" in events[-1]["message"]
    infos = [r for r in caplog.records if "not later than the last sync" in r.getMessage()]
    assert [r.levelname for r in infos] == ["INFO", "INFO"]
    assert licensing.cluster_calls(EAST) == 0
    assert last_sync(licensing, "csw-east") == synced


def test_an_answered_request_is_not_called_outdated(licensing: Licensing) -> None:
    two_ready_registrations(licensing)
    licensing.advance(minutes=5)
    before = last_sync(licensing, "csw-east")

    requested = licensing.sim.clock.now().isoformat()
    licensing.request_sync(REGISTRATIONS, "csw-east", requested)
    wait_for(lambda: last_sync(licensing, "csw-east") > before, what="requested sync")
    give_the_operator_time()

    assert sync_requests_outdated(licensing, "csw-east") == []
