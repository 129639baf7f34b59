"""A cluster that cannot reach CSSM: its failed syncs keep Ready while the authorization lasts,
and status says when the authorization has lapsed instead of showing the last good one.

(The retry after a failed sync reads the cluster's state; the renewal itself is tried again at
the next scheduled sync, or at once when someone asks with the sync-requested-at annotation.)"""

from __future__ import annotations

from licensing_env import EAST, Licensing, wait_for

from scenarios.steps import REGISTRATIONS, status_of


def failed_attempts(licensing: Licensing) -> int:
    return int(status_of(licensing, "csw-east").get("failedAttempts", 0))


def test_an_offline_cluster_shows_its_authorization_lapse(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    licensing.change_cluster(EAST, offline=True)

    licensing.advance(days=1, seconds=1)
    wait_for(lambda: failed_attempts(licensing) == 1, what="a failed sync")
    ready = licensing.condition(REGISTRATIONS, "csw-east", "Ready")
    authorized = licensing.condition(REGISTRATIONS, "csw-east", "Authorized")
    assert ready is not None
    assert ready["status"] == "True", "one failed sync does not undo the authorization"
    assert authorized is not None
    assert authorized["status"] == "True"

    licensing.advance(days=90)
    lapsed = licensing.wait_condition(
        REGISTRATIONS, "csw-east", "Authorized", "False", "AuthorizationExpired"
    )
    ready = licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "False")
    assert "expired" in lapsed["message"]
    assert ready["reason"] == "AuthorizationExpired"
    assert status_of(licensing, "csw-east")["authorization"]["state"] == "AuthorizationExpired"

    # Back online, the "Renew Authorization" annotation renews at once (else the next sync does).
    licensing.change_cluster(EAST, offline=False)
    requested = licensing.advance(minutes=1).isoformat()
    licensing.request_sync(REGISTRATIONS, "csw-east", requested)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    assert status_of(licensing, "csw-east")["authorization"]["state"] == "Authorized"
