"""Deleting while a sync is in flight, or before a registration has finished, ends cleanly.

Clean means: the object is gone without anybody touching finalizers, the cluster is
deregistered exactly once when it was registered (never when it was not), and no registration
is attempted once the deletion has begun.
"""

from __future__ import annotations

import pytest
from licensing_env import EAST, Licensing, wait_for

from scenarios.steps import (
    REGISTRATIONS,
    CSSMPortal,
    calls_since,
    last_seq,
    wait_gone,
)

RENEW = f"/clusters/{EAST}/openapi/v1/licensing/authorization/renew"
REGISTER = f"/clusters/{EAST}/openapi/v1/licensing/registration"
ROUNDS = 5


def registrations_after(licensing: Licensing, seq: int) -> int:
    return len(
        calls_since(licensing, seq, cluster=EAST, method="POST", path_suffix="/registration")
    )


def deregistrations_after(licensing: Licensing, seq: int) -> int:
    return len(
        calls_since(licensing, seq, cluster=EAST, method="DELETE", path_suffix="/registration")
    )


def test_deleting_during_a_renewal_in_flight_deregisters_once(licensing: Licensing) -> None:
    licensing.ready_cloud_account()

    for round_ in range(ROUNDS):
        name = f"csw-east-{round_}"
        licensing.registration(name, EAST)
        licensing.wait_condition(REGISTRATIONS, name, "Ready", "True")
        slow = licensing.sim.faults.add({"kind": "slow", "path": RENEW, "delay": 0.5, "count": 1})
        start = last_seq(licensing)

        licensing.advance(days=1, seconds=1)
        wait_for(lambda: slow.hits == 1, what="the renewal in flight")  # noqa: B023
        licensing.delete(REGISTRATIONS, name)
        deleted = last_seq(licensing)
        wait_gone(licensing, name)

        renewals = calls_since(licensing, start, cluster=EAST, path_suffix="/renew")
        assert len(renewals) == 1, f"round {round_}: one renewal"
        assert deregistrations_after(licensing, start) == 1, f"round {round_}: one deregistration"
        assert registrations_after(licensing, deleted) == 0, f"round {round_}: no registration"
        assert licensing.cluster_state(EAST)["registration"]["state"] == "Unregistered"
        licensing.sim.faults.clear()


@pytest.mark.parametrize(
    ("fault", "later", "deregistrations"),
    [
        pytest.param({"kind": "error", "status": 503}, 5, 0, id="never-registered"),
        pytest.param({"kind": "error", "status": 503}, 3600, 0, id="retry-due-at-deletion"),
        pytest.param({"kind": "commit", "status": 503, "count": 1}, 5, 1, id="answer-lost"),
    ],
)
def test_deleting_before_the_registration_finished_ends_cleanly(
    licensing: Licensing, fault: dict[str, object], later: float, deregistrations: int
) -> None:
    licensing.ready_cloud_account()
    licensing.sim.faults.add({**fault, "path": REGISTER, "method": "POST"})
    start = last_seq(licensing)

    licensing.registration("csw-east", EAST)
    wait_for(
        lambda: licensing.get(REGISTRATIONS, "csw-east").get("status", {}).get("failedAttempts"),
        what="a failed registration attempt",
    )
    licensing.advance(seconds=later)
    licensing.delete(REGISTRATIONS, "csw-east")
    deleted = last_seq(licensing)
    wait_gone(licensing, "csw-east")

    assert deregistrations_after(licensing, start) == deregistrations
    # A retry the timer began before the watch delivered the deletion may still be sent (the
    # operator cannot know sooner); none starts after, and the cluster ends unregistered.
    assert registrations_after(licensing, deleted) <= 1
    assert licensing.cluster_state(EAST)["registration"]["state"] == "Unregistered"
    (token,) = CSSMPortal(licensing).issued_for(licensing.namespace, "csw-east")
    assert token["status"] == "REVOKED", "the token issued for it is revoked"
