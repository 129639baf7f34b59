"""CSSM's 429 and Retry-After: the registration waits at least that long, and says why."""

from __future__ import annotations

from datetime import datetime, timedelta

from licensing_env import (
    EAST,
    Licensing,
    give_the_operator_time,
    licensing,
    licensing_world,
    smartlicensing_crds,
)

REGISTRATIONS = "SmartLicenseRegistration"


def test_rate_limited_token_call_waits_for_retry_after(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.sim.faults.add({"kind": "throttle", "path": "*/tokens", "retryAfter": 120})
    licensing.sim.calls.clear()

    licensing.registration("csw-east", EAST)
    ready = licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "False", "RateLimited")
    status = licensing.get(REGISTRATIONS, "csw-east")["status"]
    calls = len(licensing.cssm_calls())
    licensing.advance(seconds=100)
    give_the_operator_time()

    next_attempt = datetime.fromisoformat(status["nextAttemptTime"].replace("Z", "+00:00"))
    failed_at = datetime.fromisoformat(status["lastFailureTime"].replace("Z", "+00:00"))
    assert next_attempt - failed_at >= timedelta(seconds=120)
    assert "retry after 120s" in ready["message"]
    assert len(licensing.cssm_calls()) == calls, "nothing is sent before Retry-After has passed"
    assert licensing.cluster_calls(EAST, "POST", "*/registration") == 0

    licensing.sim.faults.clear()
    licensing.advance(seconds=30)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    assert licensing.get(REGISTRATIONS, "csw-east")["status"]["failedAttempts"] == 0
