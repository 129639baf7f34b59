"""CSSM unavailable, throttling, or losing the answer to "create token": Ready in the end, one
token per registration, and no call before a ``Retry-After`` has passed."""

from __future__ import annotations

from datetime import datetime, timedelta

from licensing_env import EAST, LAB, WEST, Licensing, give_the_operator_time, wait_for

from scenarios.steps import (
    REGISTRATIONS,
    CSSMPortal,
    calls_since,
    last_seq,
    status_of,
)

CLUSTERS = {"csw-east": EAST, "csw-west": WEST, "csw-lab": LAB}
TOKENS = "*/virtual-accounts/Datacenter-East/tokens"
RETRY_AFTER = 120


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def all_ready(licensing: Licensing) -> bool:
    for name in CLUSTERS:
        ready = licensing.condition(REGISTRATIONS, name, "Ready")
        if ready is None or ready["status"] != "True":
            return False
    return True


def test_throttled_then_unavailable_then_lost_answers_end_ready_with_one_token_each(
    licensing: Licensing,
) -> None:
    licensing.ready_cloud_account()
    faults = licensing.sim.faults
    throttle = faults.add(
        {"kind": "throttle", "path": TOKENS, "retryAfter": RETRY_AFTER, "count": len(CLUSTERS)}
    )
    unavailable = faults.add({"kind": "error", "path": TOKENS, "status": 503, "count": 4})
    lost = faults.add(
        {"kind": "commit", "path": TOKENS, "method": "POST", "status": 503, "count": 1}
    )
    mark = last_seq(licensing)

    for name, uuid in CLUSTERS.items():
        licensing.registration(name, uuid)
    for name in CLUSTERS:
        licensing.wait_condition(REGISTRATIONS, name, "Ready", "False", "RateLimited")

    # Retry-After is honoured: nothing is tried again before it has passed.
    for name in CLUSTERS:
        status = status_of(licensing, name)
        waited = when(status["nextAttemptTime"]) - when(status["lastFailureTime"])
        assert waited >= timedelta(seconds=RETRY_AFTER)
    licensing.advance(seconds=RETRY_AFTER - 1)
    give_the_operator_time(6)
    so_far = calls_since(licensing, mark)
    token_calls = [c for c in so_far if c["path"].endswith("/tokens")]
    cluster_calls = [c for c in so_far if c.get("cluster")]
    # Look-ups under way at the same moment share one listing: at most one try each.
    assert 1 <= len(token_calls) <= len(CLUSTERS)
    assert len(cluster_calls) == len(CLUSTERS), "per registration: one look at the cluster"
    assert len(so_far) == len(token_calls) + len(cluster_calls)

    # Time moves on in steps the backoff can follow, until every registration is Ready.
    def moved_and_ready() -> bool:
        licensing.advance(minutes=1)
        return all_ready(licensing)

    wait_for(moved_and_ready, timeout=30, what="every registration Ready")

    assert (throttle.hits, unavailable.hits, lost.hits) == (len(CLUSTERS), 4, 1)
    portal = CSSMPortal(licensing)
    for name, uuid in CLUSTERS.items():
        issued = portal.issued_for(licensing.namespace, name)
        assert len(issued) == 1, f"{name}: one token, also after the lost answer"
        assert len(calls_since(licensing, mark, cluster=uuid, method="POST")) == 1
