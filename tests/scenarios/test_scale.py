"""Many registrations: restarts cost nothing, and syncs created together spread over the window.

The worlds here are generated (one simulated cluster per registration). Every registration reads
the same token from one Secret, so the setup costs cluster calls only and the tests measure the
operator, not the token issuing.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from licensing_env import FAST, Licensing, give_the_operator_time

from scenarios.steps import CSSMPortal, generated_registration, generated_world
from smartlicensing.api.meta import GROUP, VERSION

PLURAL = "smartlicenseregistrations"
RESTARTS = 5
RESTARTED = 50
SPREAD = 300


def registrations(licensing: Licensing) -> list[dict[str, Any]]:
    listed = cast(
        dict[str, Any],
        licensing.custom.list_namespaced_custom_object(GROUP, VERSION, licensing.namespace, PLURAL),
    )
    return cast(list[dict[str, Any]], listed["items"])


def ready_count(items: list[dict[str, Any]]) -> int:
    return sum(
        1
        for item in items
        for condition in item.get("status", {}).get("conditions", [])
        if condition["type"] == "Ready" and condition["status"] == "True"
    )


def create_registrations(licensing: Licensing, count: int) -> None:
    """``count`` registrations of the generated clusters, created back to back."""
    licensing.secret("shared-token", {"token": CSSMPortal(licensing).issue(days=365)})
    for index in range(count):
        generated_registration(
            licensing, f"gen-{index}", index, token={"secretRef": {"name": "shared-token"}}
        )


def all_ready(licensing: Licensing, count: int, timeout: float) -> list[dict[str, Any]]:
    """Every registration, once ``count`` are Ready; listed once a second, not to load the API."""
    deadline = time.monotonic() + timeout
    while True:
        items = registrations(licensing)
        if ready_count(items) == count:
            return items
        if time.monotonic() > deadline:
            raise AssertionError(f"{ready_count(items)} of {count} Ready after {timeout} s")
        time.sleep(1.0)


@pytest.mark.slow
@pytest.mark.parametrize("licensing_world", [generated_world(RESTARTED)], ids=["50-clusters"])
def test_restarting_five_times_with_50_ready_registrations_makes_no_call(
    licensing: Licensing,
) -> None:
    licensing.ready_cloud_account()
    create_registrations(licensing, RESTARTED)
    before = {item["metadata"]["name"]: item["status"] for item in all_ready(licensing, 50, 60)}
    licensing.sim.calls.clear()

    for _ in range(RESTARTS):
        licensing.stop()
        licensing.start()
        give_the_operator_time(6)

    after = {item["metadata"]["name"]: item["status"] for item in registrations(licensing)}
    assert licensing.sim.calls.entries() == []
    assert after == before, "status (and its schedule) is untouched by the restarts"


def nothing_pending(items: list[dict[str, Any]], count: int) -> bool:
    return len(items) == count and all("nextSyncTime" in item.get("status", {}) for item in items)


@pytest.mark.slow
@pytest.mark.parametrize("licensing_world", [generated_world(SPREAD)], ids=["300-clusters"])
def test_300_registrations_created_at_once_spread_their_syncs(licensing: Licensing) -> None:
    # Timer ticks of 300 objects every 0.1 s would only compete with the registrations here.
    licensing.stop()
    licensing.settings = FAST.model_copy(update={"timer_interval": 10.0})
    licensing.start()
    licensing.ready_cloud_account()

    create_registrations(licensing, SPREAD)
    started = time.monotonic()
    items = all_ready(licensing, SPREAD, 120)
    print(f"{SPREAD} registrations Ready in {time.monotonic() - started:.1f} s")

    interval = timedelta(hours=24)
    synced = [parse(item["status"]["lastSyncTime"]) for item in items]
    next_syncs = [parse(item["status"]["nextSyncTime"]) for item in items]
    origin = min(synced)
    slots = Counter(int((when - origin) / (interval / 100)) for when in next_syncs)
    fullest = max(slots.values())
    print(f"fullest 1% of the interval: {fullest} of {SPREAD} next syncs ({len(slots)} slots used)")
    assert fullest <= SPREAD * 3 // 100, f"the fullest 1% of the interval holds {fullest}"
    assert all(origin + interval / 2 - timedelta(minutes=5) <= t for t in next_syncs)
    assert all(t <= max(synced) + interval for t in next_syncs)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
