"""Registrations of an account that is not Ready say so and call nobody; they go on once it is."""

from __future__ import annotations

from licensing_env import EAST, LAB, WEST, Licensing, give_the_operator_time, wait_for

from scenarios.steps import ACCOUNTS, REGISTRATIONS, calls_since, last_seq

CLUSTERS = {"csw-east": EAST, "csw-west": WEST, "csw-lab": LAB}


def test_registrations_wait_for_an_unavailable_account_without_calls(
    licensing: Licensing,
) -> None:
    licensing.sim.faults.add({"kind": "error", "path": "/services/*", "status": 503})
    licensing.cloud_account()
    licensing.wait_condition(ACCOUNTS, "acme", "Ready", "False", "CSSMUnavailable")
    mark = last_seq(licensing)

    for name, uuid in CLUSTERS.items():
        licensing.registration(name, uuid)
    waiting = [
        licensing.wait_condition(REGISTRATIONS, name, "Ready", "False", "AccountNotReady")
        for name in CLUSTERS
    ]
    give_the_operator_time(6)

    assert calls_since(licensing, mark) == [], "no CSSM or cluster call while the account waits"
    for ready in waiting:
        assert ready["message"].startswith("SmartAccount acme is not Ready (CSSMUnavailable")
    for name in CLUSTERS:
        reconciling = licensing.condition(REGISTRATIONS, name, "Reconciling")
        assert reconciling is not None
        assert (reconciling["status"], reconciling["reason"]) == ("True", "AccountNotReady")

    licensing.sim.faults.clear()
    licensing.advance(hours=1, seconds=1)  # past the account's backoff, whatever its jitter
    licensing.wait_condition(ACCOUNTS, "acme", "Ready", "True")
    for name in CLUSTERS:
        licensing.wait_condition(REGISTRATIONS, name, "Ready", "True", timeout=30)
    for uuid in CLUSTERS.values():
        assert len(calls_since(licensing, mark, cluster=uuid, method="POST")) == 1


def test_a_registration_created_before_its_account_was_checked_waits_for_it(
    licensing: Licensing,
) -> None:
    held = licensing.sim.faults.add({"kind": "slow", "path": "/oauth2/*", "delay": 1.0, "count": 1})
    licensing.cloud_account()
    wait_for(lambda: held.hits == 1, what="the account's first check in flight")

    licensing.registration("csw-east", EAST)
    waiting = licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "False")

    assert waiting["reason"] == "AccountNotReady"
    assert "(Syncing: the SmartAccount has not been checked at CSSM yet)" in waiting["message"]
    assert licensing.cluster_calls(EAST) == 0
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True", timeout=30)


def test_a_waiting_registration_goes_on_soon_after_its_account_is_ready(
    licensing: Licensing,
) -> None:
    # The timetable's own timer is far away: only the short look while waiting can notice.
    licensing.stop()
    licensing.settings = licensing.settings.model_copy(
        update={"timer_interval": 3600.0, "account_wait_interval": 0.1}
    )
    licensing.start()
    held = licensing.sim.faults.add({"kind": "slow", "path": "/oauth2/*", "delay": 1.0, "count": 1})
    licensing.cloud_account()
    wait_for(lambda: held.hits == 1, what="the account's first check in flight")

    licensing.registration("csw-east", EAST)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "False", "AccountNotReady")
    licensing.wait_condition(ACCOUNTS, "acme", "Ready", "True")

    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True", timeout=15)
    assert licensing.cluster_calls(EAST, "POST", "*/registration") == 1
