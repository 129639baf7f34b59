"""CSSM forgetting a cluster's product instance: the next sync registers it again at once."""

from __future__ import annotations

from licensing_env import EAST, Licensing, give_the_operator_time, wait_for

from scenarios.steps import REGISTRATIONS, CSSMPortal, calls_since, last_seq


def test_a_cluster_cssm_no_longer_knows_is_registered_again_at_the_next_sync(
    licensing: Licensing,
) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    CSSMPortal(licensing).remove_instance(EAST)
    mark = last_seq(licensing)

    licensing.advance(days=1, seconds=1)
    wait_for(
        lambda: calls_since(licensing, mark, cluster=EAST, method="POST", path_suffix="/renew"),
        what="the daily sync",
    )
    give_the_operator_time()

    state = licensing.cluster_state(EAST)["registration"]
    assert state["state"] == "Registered", "registered again in the same pass, not a day later"
    register = calls_since(
        licensing, mark, cluster=EAST, method="POST", path_suffix="/registration"
    )
    assert len(register) == 1
    assert [c for c in calls_since(licensing, mark) if "/tokens" in c["path"]] == [], (
        "the issued token still on hand is used"
    )
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    worrying = [e for e in licensing.events("csw-east") if e["type"] == "Warning"]
    assert worrying == [], "a repair that succeeded is not reported as a failure"
