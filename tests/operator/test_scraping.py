"""The running operator's metrics endpoint, scraped over HTTP as Prometheus scrapes it.

Each operator of these tests counts in a registry of its own (``licensing_env``), so a counter
read here counts exactly this test's calls.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from licensing_env import (
    EAST,
    LAB,
    WEST,
    Licensing,
    licensing,
    licensing_world,
    smartlicensing_crds,
    wait_for,
    world_text,
)

REGISTRATIONS = "SmartLicenseRegistration"
ACCOUNTS = "SmartAccount"


def registrations_in(licensing: Licensing, state: str) -> float | None:
    return licensing.metric("smartlicensing_registrations", state=state)


def ready_count(licensing: Licensing, kind: str, ready: str) -> float | None:
    return licensing.metric("smartlicensing_ready", kind=kind, ready=ready)


def wait_metric(licensing: Licensing, expected: float, name: str, **labels: str) -> None:
    wait_for(
        lambda: licensing.metric(name, **labels) == expected,
        what=f"{name}{labels} == {expected} (last scrape: {licensing.metric(name, **labels)})",
    )


def test_calls_and_states_are_scraped_and_follow_deletions_and_restarts(
    licensing: Licensing,
) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.registration("csw-west", WEST)
    licensing.registration("csw-lab", LAB, manual=True)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True")
    licensing.wait_condition(REGISTRATIONS, "csw-lab", "Registered", "False", "AwaitingUser")

    # Calls: each issued token is one create_token at CSSM, each Api cluster one register.
    tokens_created = len(licensing.cssm_calls("POST", "*/tokens"))
    assert tokens_created == 3
    created = "smartlicensing_cssm_calls_total"
    assert licensing.metric(created, operation="create_token", outcome="success") == 3
    assert (
        licensing.metric(
            "smartlicensing_product_calls_total", operation="register", outcome="success"
        )
        == 2
    )
    reconciled = licensing.metric(
        "smartlicensing_reconcile_total", kind=REGISTRATIONS, reason="Registered"
    )
    assert reconciled is not None
    assert reconciled >= 2
    # States: what the REGISTRATION and READY printer columns show, counted.
    assert registrations_in(licensing, "Registered") == 2
    assert registrations_in(licensing, "AwaitingUser") == 1
    assert registrations_in(licensing, "Failed") == 0
    assert ready_count(licensing, REGISTRATIONS, "True") == 2
    assert ready_count(licensing, REGISTRATIONS, "False") == 1
    assert ready_count(licensing, ACCOUNTS, "True") == 1

    licensing.delete(REGISTRATIONS, "csw-west")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-west"), what="csw-west gone")
    wait_metric(licensing, 1, "smartlicensing_registrations", state="Registered")
    assert ready_count(licensing, REGISTRATIONS, "True") == 1
    assert registrations_in(licensing, "AwaitingUser") == 1

    # A new operator counts from its own listing, not from what the old one had seen.
    licensing.stop()
    licensing.start()
    wait_metric(licensing, 1, "smartlicensing_registrations", state="Registered")
    wait_metric(licensing, 1, "smartlicensing_registrations", state="AwaitingUser")
    assert ready_count(licensing, REGISTRATIONS, "True") == 1
    assert ready_count(licensing, ACCOUNTS, "True") == 1
    assert licensing.metric(created, operation="create_token", outcome="success") is None


def test_the_endpoint_goes_with_the_operator(licensing: Licensing) -> None:
    assert licensing.operator is not None
    url = licensing.operator.metrics_url
    assert url is not None
    assert "smartlicensing_ready" in licensing.scrape()

    licensing.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=5)


# --- nothing secret, nothing per object ------------------------------------------------------

CLIENT_SECRET = "canary-metrics-cssm-secret-Vw3Kq8"
API_SECRET = "canary-metrics-cluster-api-secret-5Tg7Rb2PzXe9"
REJECTED_TOKEN = "canary-metrics-rejected-token-Lm4c"


def canary_world(world: dict[str, Any]) -> None:
    world["cloud"]["apiClients"][0]["clientSecret"] = CLIENT_SECRET
    for cluster in world["clusters"]:
        if cluster["uuid"] == EAST:
            cluster["apiSecret"] = API_SECRET


@pytest.mark.parametrize("licensing_world", [world_text(edit=canary_world)], ids=["canaries"])
def test_no_secret_and_no_object_identity_is_scraped(licensing: Licensing) -> None:
    licensing.ready_cloud_account(client_secret=CLIENT_SECRET)
    licensing.secret("west-token", {"token": REJECTED_TOKEN})
    licensing.registration("csw-east", EAST)
    licensing.registration("csw-west", WEST, token={"secretRef": {"name": "west-token"}})
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    licensing.wait_condition(REGISTRATIONS, "csw-west", "Stalled", "True", "InvalidToken")
    issued_token = licensing.secret_value("csw-east-token", "token")

    scraped = licensing.scrape()

    assert "InvalidToken" in scraped, "the refusal was counted"
    for canary in (CLIENT_SECRET, API_SECRET, REJECTED_TOKEN, issued_token):
        assert canary not in scraped
        assert base64.b64encode(canary.encode()).decode() not in scraped
    identities = [licensing.namespace, "csw-east", "csw-west", "acme.example.com", EAST, WEST]
    for identity in identities:
        assert identity.lower() not in scraped.lower(), f"{identity} is not a label value"
