"""A refused token or a cluster registered elsewhere: its own reason, then silence until a change.

Each refusal ends the generation's attempts: moving the clock and letting the timer tick makes
no call at all. A spec edit or a rotated token Secret earns exactly one new attempt.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from licensing_env import EAST, WEST, Licensing, give_the_operator_time, wait_for

from scenarios.steps import (
    REGISTRATIONS,
    CSSMPortal,
    calls_since,
    last_seq,
    status_of,
)

ON_PREM_TRANSPORT = "/onprem/ssm.example.internal/SmartTransport"


def invalid(licensing: Licensing, portal: CSSMPortal) -> str:
    return "not-a-token-anybody-issued-5Rk2"


def expired(licensing: Licensing, portal: CSSMPortal) -> str:
    token = portal.issue(days=1)
    licensing.advance(days=2)
    return token


def revoked(licensing: Licensing, portal: CSSMPortal) -> str:
    token = portal.issue()
    portal.revoke(token)
    return token


@dataclass(frozen=True)
class Refusal:
    make_token: Callable[[Licensing, CSSMPortal], str]
    reason: str


REFUSED_TOKENS = [
    pytest.param(Refusal(invalid, "InvalidToken"), id="invalid"),
    pytest.param(Refusal(expired, "TokenExpired"), id="expired"),
    pytest.param(Refusal(revoked, "TokenRevoked"), id="revoked"),
]


def registration_attempts(licensing: Licensing, since: int, uuid: str = EAST) -> int:
    return len(
        calls_since(licensing, since, cluster=uuid, method="POST", path_suffix="/registration")
    )


def quiet_after_moving_the_clock(licensing: Licensing, uuid: str) -> None:
    """Two hours on the operator's clock and six timer ticks: no call for this registration."""
    mark = last_seq(licensing)
    licensing.advance(hours=2)
    give_the_operator_time(6)
    assert calls_since(licensing, mark, cluster=uuid) == []
    assert [c for c in calls_since(licensing, mark) if "/tokens" in c["path"]] == []


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("refusal", REFUSED_TOKENS)
def test_refused_token_stalls_with_its_reason_and_retries_only_on_change(
    licensing: Licensing, refusal: Refusal
) -> None:
    licensing.ready_cloud_account()
    portal = CSSMPortal(licensing)
    licensing.secret("east-token", {"token": refusal.make_token(licensing, portal)})
    start = last_seq(licensing)

    licensing.registration("csw-east", EAST, token={"secretRef": {"name": "east-token"}})
    stalled = licensing.wait_condition(REGISTRATIONS, "csw-east", "Stalled", "True")

    token_ready = licensing.condition(REGISTRATIONS, "csw-east", "TokenReady")
    ready = licensing.condition(REGISTRATIONS, "csw-east", "Ready")
    assert stalled["reason"] == refusal.reason
    assert token_ready is not None
    assert (token_ready["status"], token_ready["reason"]) == ("False", refusal.reason)
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", refusal.reason)
    assert registration_attempts(licensing, start) == 1
    quiet_after_moving_the_clock(licensing, EAST)

    # A spec edit that does not cure the token: exactly one attempt, then quiet again.
    edited = last_seq(licensing)
    licensing.patch(REGISTRATIONS, "csw-east", {"spec": {"syncInterval": "12h"}})
    wait_for(
        lambda: status_of(licensing, "csw-east").get("observedGeneration") == 2,
        what="the edit observed",
    )
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Stalled", "True", refusal.reason)
    quiet_after_moving_the_clock(licensing, EAST)
    assert registration_attempts(licensing, edited) == 1

    # A rotated Secret with a good token: noticed at the next look at the Secrets, one attempt.
    rotated = last_seq(licensing)
    licensing.core.patch_namespaced_secret(
        "east-token", licensing.namespace, {"data": {"token": b64(portal.issue())}}
    )
    licensing.advance(seconds=licensing.settings.stalled_recheck + 1)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    give_the_operator_time()
    assert registration_attempts(licensing, rotated) == 1


def test_cluster_registered_elsewhere_stalls_until_force_register(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    register_west_on_prem(licensing)
    start = last_seq(licensing)

    licensing.registration("csw-west", WEST)
    stalled = licensing.wait_condition(REGISTRATIONS, "csw-west", "Stalled", "True")

    registered = licensing.condition(REGISTRATIONS, "csw-west", "Registered")
    assert stalled["reason"] == "AlreadyRegistered"
    assert registered is not None
    assert (registered["status"], registered["reason"]) == ("False", "AlreadyRegistered")
    assert registration_attempts(licensing, start, WEST) == 0, "refused before registering"
    looks = len(calls_since(licensing, start, cluster=WEST))
    assert looks == 1, "one look at the cluster's state decides the refusal"
    quiet_after_moving_the_clock(licensing, WEST)

    forced = last_seq(licensing)
    licensing.patch(REGISTRATIONS, "csw-west", {"spec": {"forceRegister": True}})
    licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True")
    give_the_operator_time()

    assert registration_attempts(licensing, forced, WEST) == 1
    assert licensing.cluster_state(WEST)["registration"]["smartAccount"] == "acme.example.com"


def register_west_on_prem(licensing: Licensing) -> None:
    """A person registered csw-west with the On-Prem server, outside the operator."""
    from licensing_env import issue_token_at_sim, register_out_of_band

    register_out_of_band(
        licensing,
        WEST,
        issue_token_at_sim(licensing, on_prem=True),
        f"{licensing.sim_url}{ON_PREM_TRANSPORT}",
    )
    # The simulator logs a call once it has answered it: wait for the entry before counting.
    wait_for(
        lambda: licensing.cluster_calls(WEST, "POST", "*/registration") == 1,
        what="the registration by hand in the call log",
    )
