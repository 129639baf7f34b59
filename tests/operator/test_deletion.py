"""Deleting a registration honours deletionPolicy: Deregister (and revoke) or Orphan."""

from __future__ import annotations

from typing import Any

import httpx
from licensing_env import (
    EAST,
    LAB,
    Licensing,
    licensing,
    licensing_world,
    register_out_of_band,
    smartlicensing_crds,
    wait_for,
)

REGISTRATIONS = "SmartLicenseRegistration"


def registered(licensing: Licensing, **spec: Any) -> str:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST, **spec)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    return licensing.secret_value("csw-east-token", "token")


def token_status(licensing: Licensing, token: str) -> str:
    auth = httpx.post(
        f"{licensing.sim_url}/oauth2/default/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "acme-demo-client",
            "client_secret": "demo-only-secret-7Qv2LmX9",
        },
    ).json()["access_token"]
    tokens = httpx.get(
        f"{licensing.sim_url}/services/api/smart-accounts-and-licensing/v1/accounts/"
        "acme.example.com/virtual-accounts/Datacenter-East/tokens",
        headers={"Authorization": f"Bearer {auth}"},
    ).json()["tokens"]
    (found,) = [t for t in tokens if t["token"] == token]
    return str(found["status"])


def test_deregister_returns_the_cluster_to_evaluation_and_revokes_the_token(
    licensing: Licensing,
) -> None:
    token = registered(licensing)

    licensing.delete(REGISTRATIONS, "csw-east")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    state = licensing.cluster_state(EAST)
    assert state["registration"]["state"] == "Unregistered"
    assert state["authorization"]["state"] == "Evaluation"
    assert token_status(licensing, token) == "REVOKED"
    assert licensing.cluster_calls(EAST, "DELETE", "*/registration") == 1


def test_orphan_leaves_the_registration_alone(licensing: Licensing) -> None:
    token = registered(licensing, deletionPolicy="Orphan")

    licensing.delete(REGISTRATIONS, "csw-east")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    assert licensing.cluster_state(EAST)["registration"]["state"] == "Registered"
    assert token_status(licensing, token) == "ACTIVE"
    assert licensing.cluster_calls(EAST, "DELETE") == 0


def test_deletion_before_registration_finished_ends_cleanly(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.sim.faults.add({"kind": "error", "path": f"/clusters/{EAST}/*", "status": 503})
    licensing.registration("csw-east", EAST)
    wait_for(
        lambda: licensing.get(REGISTRATIONS, "csw-east").get("status", {}).get("failedAttempts"),
        what="a failed first attempt",
    )

    licensing.sim.faults.clear()
    licensing.delete(REGISTRATIONS, "csw-east")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    assert licensing.cluster_calls(EAST, "POST", "*/registration") == 0
    assert licensing.cluster_state(EAST)["registration"]["state"] == "Unregistered"


def test_manual_deregistration_removes_the_product_instance_and_says_what_to_click(
    licensing: Licensing,
) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-lab", LAB, manual=True)
    licensing.wait_condition(REGISTRATIONS, "csw-lab", "Registered", "False", "AwaitingUser")
    token = licensing.secret_value("csw-lab-token", "token")
    register_out_of_band(
        licensing, LAB, token, "https://smartreceiver.cisco.com/licservice/license"
    )
    licensing.advance(minutes=2)
    licensing.wait_condition(REGISTRATIONS, "csw-lab", "Registered", "True")

    licensing.delete(REGISTRATIONS, "csw-lab")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-lab"), what="deletion")

    assert len(licensing.cssm_calls("POST", "*/devices/remove")) == 1
    assert token_status(licensing, token) == "REVOKED"
    (event,) = [e for e in licensing.events("csw-lab") if e["reason"] == "Deregistering"]
    assert "the product instance was removed at CSSM" in event["message"]
    assert "click Deregister" in event["message"]


def test_deregisters_even_when_the_account_went_first(licensing: Licensing) -> None:
    registered(licensing)

    licensing.delete("SmartAccount", "acme")
    wait_for(lambda: not licensing.exists("SmartAccount", "acme"), what="account deletion")
    licensing.delete(REGISTRATIONS, "csw-east")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    assert licensing.cluster_state(EAST)["registration"]["state"] == "Unregistered"
    (event,) = [e for e in licensing.events("csw-east") if e["reason"] == "Deregistering"]
    assert "an issued token could not be revoked" in event["message"]


def test_deletion_while_the_operator_is_down_deregisters_once_it_is_back(
    licensing: Licensing,
) -> None:
    registered(licensing)
    licensing.stop()

    licensing.delete(REGISTRATIONS, "csw-east")
    assert licensing.exists(REGISTRATIONS, "csw-east"), "held by the finalizer"
    licensing.start()
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    assert licensing.cluster_calls(EAST, "DELETE", "*/registration") == 1
    assert licensing.cluster_state(EAST)["registration"]["state"] == "Unregistered"
