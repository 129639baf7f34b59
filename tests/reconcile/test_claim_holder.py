"""Which registration manages a cluster when several name its UUID: the oldest, then by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smartlicensing.api import conditions as c
from smartlicensing.api.registration import SmartLicenseRegistrationStatus
from smartlicensing.reconcile import registration as decide
from smartlicensing.reconcile.conditions import find

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def claim(name: str, namespace: str = "a", age: int = 0) -> decide.ClusterClaim:
    return decide.ClusterClaim(
        created=T0 - timedelta(seconds=age), name=name, namespace=namespace, uid=f"uid-{name}"
    )


@pytest.mark.parametrize(
    ("claims", "holder"),
    [
        pytest.param([claim("b", age=10), claim("a")], "b", id="older-wins-over-name"),
        pytest.param([claim("east-copy"), claim("east")], "east", id="same-time-by-name"),
        pytest.param([claim("x", "ns2"), claim("x", "ns1")], "x", id="same-name-by-namespace"),
        pytest.param([claim("only")], "only", id="single"),
    ],
)
def test_the_oldest_claim_holds_the_cluster(claims: list[decide.ClusterClaim], holder: str) -> None:
    found = decide.claim_holder(claims)

    assert found is not None
    assert found == min(claims)
    assert found.name == holder


def test_no_claims_no_holder() -> None:
    assert decide.claim_holder([]) is None


def test_a_held_back_registration_is_stalled_and_due_once_the_claim_is_its_own() -> None:
    status = decide.claimed(
        SmartLicenseRegistrationStatus(), claim("east"), "5f0c", generation=1, now=T0
    )

    ready, stalled = find(status.conditions, c.READY), find(status.conditions, c.STALLED)
    assert ready is not None
    assert stalled is not None
    assert (ready.status.value, ready.reason) == ("False", c.CLUSTER_CLAIMED)
    assert (stalled.status.value, stalled.reason) == ("True", c.CLUSTER_CLAIMED)
    assert "SmartLicenseRegistration a/east" in ready.message
    assert decide.held_back_by_claim(status)
