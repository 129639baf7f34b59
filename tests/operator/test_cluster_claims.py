"""One cluster, one manager: a second registration of the same cluster UUID does nothing.

The oldest registration of a UUID manages the cluster; a copy is Stalled with ``ClusterClaimed``
naming the holder, makes no cluster or CSSM call, deregisters nothing when deleted, and takes
over once the holder is gone.
"""

from __future__ import annotations

from licensing_env import (
    EAST,
    Licensing,
    give_the_operator_time,
    licensing,
    licensing_world,
    smartlicensing_crds,
    wait_for,
)

from smartlicensing.api import conditions as c

REGISTRATIONS = "SmartLicenseRegistration"


def east_with_a_copy(licensing: Licensing) -> int:
    """csw-east Ready, then csw-east-copy of the same cluster held back; the calls made so far."""
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    calls = len(licensing.sim.calls.entries())
    licensing.registration("csw-east-copy", EAST)
    licensing.wait_condition(REGISTRATIONS, "csw-east-copy", "Ready", "False", c.CLUSTER_CLAIMED)
    return calls


def test_a_copy_is_stalled_naming_the_holder_and_calls_nothing(licensing: Licensing) -> None:
    calls_before_copy = east_with_a_copy(licensing)
    give_the_operator_time()

    stalled = licensing.condition(REGISTRATIONS, "csw-east-copy", "Stalled")
    registered = licensing.condition(REGISTRATIONS, "csw-east-copy", "Registered")
    assert stalled is not None
    assert (stalled["status"], stalled["reason"]) == ("True", c.CLUSTER_CLAIMED)
    assert f"SmartLicenseRegistration {licensing.namespace}/csw-east," in stalled["message"]
    assert registered is not None
    assert registered["status"] == "False"
    assert len(licensing.sim.calls.entries()) == calls_before_copy
    assert licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    events = licensing.events("csw-east-copy")
    claimed = [e["type"] for e in events if e["reason"] == c.CLUSTER_CLAIMED]
    assert "Warning" in claimed


def test_deleting_a_copy_deregisters_nothing(licensing: Licensing) -> None:
    east_with_a_copy(licensing)

    licensing.delete(REGISTRATIONS, "csw-east-copy")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east-copy"), what="deletion")
    give_the_operator_time()

    assert licensing.cluster_calls(EAST, "DELETE") == 0
    assert licensing.cssm_calls("POST", "*/tokens/revoke") == []
    assert licensing.cluster_state(EAST)["registration"]["state"] == "Registered"
    assert licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")


def test_the_copy_takes_over_once_the_holder_is_gone(licensing: Licensing) -> None:
    east_with_a_copy(licensing)

    licensing.delete(REGISTRATIONS, "csw-east")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    licensing.wait_condition(REGISTRATIONS, "csw-east-copy", "Ready", "True")
    assert licensing.cluster_calls(EAST, "DELETE", "*/registration") == 1
    assert licensing.cluster_state(EAST)["registration"]["state"] == "Registered"
