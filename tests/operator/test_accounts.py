"""SmartAccount end to end: Ready and Compliant from CSSM, over-use named, bad credentials."""

from __future__ import annotations

from typing import Any

import pytest
from licensing_env import (
    EAST,
    Licensing,
    give_the_operator_time,
    licensing,
    licensing_world,
    smartlicensing_crds,
    world_text,
)


def fewer_endpoint_licenses(world: dict[str, Any]) -> None:
    licenses = world["cloud"]["accounts"][0]["virtualAccounts"][0]["licenses"]
    licenses["Tetration Endpoint Visibility"] = 30


class TestReady:
    def test_cloud_account_becomes_ready_and_compliant_with_its_license_table(
        self, licensing: Licensing
    ) -> None:
        licensing.cloud_account()

        ready = licensing.wait_condition("SmartAccount", "acme", "Ready", "True", "Connected")
        compliant = licensing.condition("SmartAccount", "acme", "Compliant")
        status = licensing.get("SmartAccount", "acme")["status"]

        assert (
            ready["message"] == "virtual account Datacenter-East of acme.example.com is reachable"
        )
        assert compliant is not None
        assert (compliant["status"], compliant["reason"]) == ("True", "InCompliance")
        assert {line["name"]: line["quantity"] for line in status["licenses"]} == {
            "Tetration Workload Protection": 500,
            "Tetration Endpoint Visibility": 200,
            "Secure Workload PLR": 10,
        }
        assert status["observedGeneration"] == 1
        assert status["lastSyncTime"] < status["nextSyncTime"]
        assert len(licensing.cssm_calls("POST", "*/licenses")) == 1

    def test_on_prem_account_becomes_ready(self, licensing: Licensing) -> None:
        licensing.on_prem_account()

        licensing.wait_condition("SmartAccount", "acme-onprem", "Ready", "True", "Connected")

        assert licensing.cssm_calls("POST", "/onprem/ssm.example.internal/backend/oauth/token")

    def test_rejected_credentials_stall_without_retrying(self, licensing: Licensing) -> None:
        licensing.secret("bad-cssm", {"client_id": "acme-demo-client", "client_secret": "wrong!"})
        licensing.create(
            "SmartAccount",
            "bad",
            {
                "server": {
                    "type": "Cloud",
                    "url": licensing.sim_url,
                    "tokenURL": f"{licensing.sim_url}/oauth2/default/v1/token",
                },
                "smartAccount": "acme.example.com",
                "virtualAccount": "Datacenter-East",
                "credentialsSecretRef": {"name": "bad-cssm"},
            },
        )

        stalled = licensing.wait_condition("SmartAccount", "bad", "Stalled", "True")
        calls = len(licensing.sim.calls.entries())
        licensing.advance(hours=2)
        give_the_operator_time()

        assert stalled["reason"] == "CredentialsRejected"
        assert "wrong!" not in str(licensing.get("SmartAccount", "bad"))
        assert len(licensing.sim.calls.entries()) == calls, "a stalled account must not retry"

    def test_missing_credentials_secret_is_named(self, licensing: Licensing) -> None:
        licensing.create(
            "SmartAccount",
            "nocreds",
            {
                "server": {"type": "Cloud", "url": licensing.sim_url},
                "smartAccount": "acme.example.com",
                "virtualAccount": "Datacenter-East",
                "credentialsSecretRef": {"name": "absent"},
            },
        )

        ready = licensing.wait_condition("SmartAccount", "nocreds", "Ready", "False")

        assert ready["reason"] == "CredentialsSecretMissing"
        assert "absent" in ready["message"]


@pytest.mark.parametrize("licensing_world", [world_text(edit=fewer_endpoint_licenses)])
def test_over_utilized_license_is_named_in_compliant(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.wait_condition("SmartLicenseRegistration", "csw-east", "Ready", "True")
    licensing.advance(minutes=1)

    licensing.request_sync("SmartAccount", "acme", _now(licensing))

    compliant = licensing.wait_condition("SmartAccount", "acme", "Compliant", "False")
    assert compliant["reason"] == "OverUtilized"
    assert compliant["message"] == "Tetration Endpoint Visibility: 40 in use, 30 entitled"


def _now(licensing: Licensing) -> str:
    return licensing.sim.clock.now().isoformat()
