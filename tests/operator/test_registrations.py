"""SmartLicenseRegistration end to end: the ways a cluster gets registered, or rightly does not."""

from __future__ import annotations

from typing import Any

from licensing_env import (
    EAST,
    LAB,
    LEGACY,
    WEST,
    Licensing,
    give_the_operator_time,
    issue_token_at_sim,
    licensing,
    licensing_world,
    register_out_of_band,
    smartlicensing_crds,
    wait_for,
)

REGISTRATIONS = "SmartLicenseRegistration"


def status_of(licensing: Licensing, name: str) -> dict[str, Any]:
    status: dict[str, Any] = licensing.get(REGISTRATIONS, name)["status"]
    return status


class TestCloud:
    def test_issued_token_registers_within_the_call_budget(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()
        licensing.sim.calls.clear()

        licensing.registration("csw-east", EAST)
        ready = licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")

        status = status_of(licensing, "csw-east")
        assert ready["reason"] == "Registered"
        assert status["registration"]["state"] == "Registered"
        assert status["authorization"]["state"] == "Authorized"
        assert {u["license"]: u["inUse"] for u in status["usage"]} == {
            "Tetration Workload Protection": 120,
            "Tetration Endpoint Visibility": 40,
        }
        assert status["token"]["secretRef"] == {"name": "csw-east-token", "key": "token"}
        assert status["token"]["issued"] is True
        assert licensing.cluster_state(EAST)["registration"]["transportUrl"] == (
            "https://smartreceiver.cisco.com/licservice/license"
        )
        token_calls = [e for e in licensing.cssm_calls() if e["path"].endswith("/tokens")]
        assert [e["method"] for e in token_calls] == ["GET", "POST"]
        assert licensing.cluster_calls(EAST) <= 3
        assert licensing.cluster_calls(EAST, "POST", "*/registration") == 1

    def test_a_new_transport_url_registers_the_cluster_again_once(
        self, licensing: Licensing
    ) -> None:
        licensing.ready_cloud_account()
        licensing.registration("csw-east", EAST)
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
        proxy = "https://licensing-proxy.example.com/cisco/licservice/license"

        licensing.patch(REGISTRATIONS, "csw-east", {"spec": {"transportURL": proxy}})

        wait_for(
            lambda: licensing.cluster_state(EAST)["registration"]["transportUrl"] == proxy,
            what="the cluster registered through the new transport URL",
        )
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
        give_the_operator_time()
        assert licensing.cluster_calls(EAST, "POST", "*/registration") == 2
        state = licensing.cluster_state(EAST)["registration"]
        assert (state["state"], state["smartAccount"]) == ("Registered", "acme.example.com")
        wait_for(
            lambda: [
                e
                for e in licensing.events("csw-east")
                if e["message"].startswith(f"registered again through {proxy}")
            ],
            what="the Event that tells of the move",
        )

    def test_issued_token_lives_in_an_owned_secret_and_nowhere_else(
        self, licensing: Licensing
    ) -> None:
        licensing.ready_cloud_account()
        licensing.registration("csw-east", EAST)
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")

        secret = licensing.read_secret("csw-east-token")
        assert secret.metadata is not None
        (owner,) = secret.metadata.owner_references or []
        token = licensing.secret_value("csw-east-token", "token")
        slr = licensing.get(REGISTRATIONS, "csw-east")

        assert (owner.kind, owner.name, owner.uid) == (
            REGISTRATIONS,
            "csw-east",
            slr["metadata"]["uid"],
        )
        assert token not in str(slr)
        assert token not in str(licensing.events("csw-east"))

    def test_token_from_a_secret_makes_no_token_call(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()
        licensing.secret("east-token", {"token": issue_token_at_sim(licensing)})
        licensing.sim.calls.clear()

        licensing.registration("csw-east", EAST, token={"secretRef": {"name": "east-token"}})
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")

        token_ready = licensing.condition(REGISTRATIONS, "csw-east", "TokenReady")
        assert token_ready is not None
        assert token_ready["reason"] == "TokenFromSecret"
        assert not [e for e in licensing.cssm_calls() if "/tokens" in e["path"]]

    def test_federation_leader_registers_and_uses_nothing(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()
        licensing.change_cluster(WEST, role="FederationLeader")

        licensing.registration("csw-west", WEST, role="FederationLeader")
        licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True")

        assert {u["inUse"] for u in status_of(licensing, "csw-west")["usage"]} == {0}

    def test_kubectl_wait_for_ready(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()
        licensing.registration("csw-east", EAST)

        waited = licensing.kubectl(
            "wait",
            "--for=condition=Ready",
            "slr/csw-east",
            "-n",
            licensing.namespace,
            "--timeout=30s",
        )

        assert "condition met" in waited.stdout


class TestOnPrem:
    def test_registers_to_the_on_prem_smart_transport_url(self, licensing: Licensing) -> None:
        licensing.on_prem_account()
        licensing.wait_condition("SmartAccount", "acme-onprem", "Ready", "True")

        licensing.registration("csw-lab", LAB, account="acme-onprem")
        licensing.wait_condition(REGISTRATIONS, "csw-lab", "Ready", "True")

        registration = licensing.cluster_state(LAB)["registration"]
        assert registration["mode"] == "OnPrem"
        assert registration["transportUrl"] == (
            f"{licensing.sim_url}/onprem/ssm.example.internal/SmartTransport"
        )


class TestManual:
    def test_waits_with_its_instruction_then_sees_the_registration_at_cssm(
        self, licensing: Licensing
    ) -> None:
        licensing.ready_cloud_account()

        licensing.registration("csw-lab", LAB, manual=True)
        waiting = licensing.wait_condition(
            REGISTRATIONS, "csw-lab", "Registered", "False", "AwaitingUser"
        )

        assert waiting["message"] == (
            "In Secure Workload, open Manage > Service Settings > Licenses, click Register, "
            f"on the Smart Licenses tab enter the token from Secret {licensing.namespace}/"
            "csw-lab-token key token, click Register."
        )
        assert licensing.cluster_calls(LAB) == 0, "the Manual driver never calls the cluster"

        token = licensing.secret_value("csw-lab-token", "token")
        register_out_of_band(
            licensing, LAB, token, "https://smartreceiver.cisco.com/licservice/license"
        )
        licensing.advance(minutes=2)

        licensing.wait_condition(REGISTRATIONS, "csw-lab", "Registered", "True")
        assert licensing.condition(REGISTRATIONS, "csw-lab", "Ready")["status"] == "True"  # type: ignore[index]


class TestRefusals:
    def test_suspended_registration_registers_nothing(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()

        licensing.registration("csw-east", EAST, suspend=True)
        registered = licensing.wait_condition(
            REGISTRATIONS, "csw-east", "Registered", "False", "Suspended"
        )
        give_the_operator_time()

        assert "spec.suspend" in registered["message"]
        assert licensing.cluster_calls(EAST, "POST") == 0
        authorization = status_of(licensing, "csw-east")["authorization"]
        assert authorization["state"] == "Evaluation"
        assert authorization["evaluationRemaining"] == "2160h", "evaluation time is shown"

        licensing.patch(REGISTRATIONS, "csw-east", {"spec": {"suspend": False}})
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")

    def test_standby_registers_nothing_until_its_role_changes(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()

        licensing.registration("csw-west", WEST, role="Standby")
        ready = licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True", "Standby")
        give_the_operator_time()

        assert status_of(licensing, "csw-west")["registration"]["state"] == "Standby"
        assert "becomes active" in ready["message"]
        assert licensing.cluster_calls(WEST) == 0

        licensing.patch(REGISTRATIONS, "csw-west", {"spec": {"cluster": {"role": "Standalone"}}})
        licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True", "Registered")

    def test_cluster_older_than_3_8_stalls_with_a_clear_reason(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()

        licensing.registration("csw-legacy", LEGACY)
        stalled = licensing.wait_condition(REGISTRATIONS, "csw-legacy", "Stalled", "True")
        calls = licensing.cluster_calls(LEGACY)
        licensing.advance(days=1)
        give_the_operator_time()

        assert stalled["reason"] == "UnsupportedVersion"
        assert "3.8" in stalled["message"]
        assert licensing.cluster_calls(LEGACY) == calls, "a stalled registration must not retry"

    def test_already_registered_elsewhere_needs_force(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()
        register_out_of_band(
            licensing,
            WEST,
            issue_token_at_sim(licensing, on_prem=True),
            f"{licensing.sim_url}/onprem/ssm.example.internal/SmartTransport",
        )
        licensing.sim.calls.clear()

        licensing.registration("csw-west", WEST)
        stalled = licensing.wait_condition(REGISTRATIONS, "csw-west", "Stalled", "True")

        assert stalled["reason"] == "AlreadyRegistered"
        assert "forceRegister" in stalled["message"]
        assert licensing.cluster_calls(WEST, "POST", "*/registration") == 0

        licensing.patch(REGISTRATIONS, "csw-west", {"spec": {"forceRegister": True}})
        licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True")
        assert licensing.cluster_state(WEST)["registration"]["smartAccount"] == "acme.example.com"

    def test_account_not_ready_is_reported_without_calls(self, licensing: Licensing) -> None:
        licensing.registration("csw-east", EAST, account="missing")

        ready = licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "False")

        assert ready["reason"] == "AccountNotFound"
        assert licensing.sim.calls.entries() == []

        licensing.cloud_account("missing")
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")


class TestPermanentFailures:
    def test_invalid_token_in_a_secret_stalls_until_the_secret_changes(
        self, licensing: Licensing
    ) -> None:
        licensing.ready_cloud_account()
        licensing.secret("east-token", {"token": "not-a-token-anybody-issued"})

        licensing.registration("csw-east", EAST, token={"secretRef": {"name": "east-token"}})
        stalled = licensing.wait_condition(REGISTRATIONS, "csw-east", "Stalled", "True")
        token_ready = licensing.condition(REGISTRATIONS, "csw-east", "TokenReady")
        calls = licensing.cluster_calls(EAST)
        licensing.advance(minutes=30)
        give_the_operator_time()

        assert stalled["reason"] == "InvalidToken"
        assert token_ready is not None
        assert (token_ready["status"], token_ready["reason"]) == ("False", "InvalidToken")
        assert licensing.cluster_calls(EAST) == calls, "no retry while the inputs are the same"
        assert "not-a-token-anybody-issued" not in str(licensing.get(REGISTRATIONS, "csw-east"))

        licensing.core.patch_namespaced_secret(
            "east-token",
            licensing.namespace,
            {"stringData": None, "data": {"token": _b64(issue_token_at_sim(licensing))}},
        )
        licensing.advance(hours=1, seconds=1)
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


class TestIdempotence:
    def test_a_cluster_already_registered_to_this_account_is_not_registered_again(
        self, licensing: Licensing
    ) -> None:
        licensing.ready_cloud_account()
        register_out_of_band(
            licensing,
            WEST,
            issue_token_at_sim(licensing),
            "https://smartreceiver.cisco.com/licservice/license",
        )
        # The simulator logs a call once its answer is sent: wait for the entry before clearing.
        wait_for(
            lambda: licensing.cluster_calls(WEST, "POST", "*/registration") == 1,
            what="the out-of-band registration in the call log",
        )
        licensing.sim.calls.clear()

        licensing.registration("csw-west", WEST)
        licensing.wait_condition(REGISTRATIONS, "csw-west", "Ready", "True")

        assert licensing.cluster_calls(WEST, "POST", "*/registration") == 0
        assert not [e for e in licensing.cssm_calls() if "/tokens" in e["path"]]
        assert status_of(licensing, "csw-west")["lastSyncTime"]

    def test_kubectl_get_shows_the_registration_columns(self, licensing: Licensing) -> None:
        licensing.ready_cloud_account()
        licensing.registration("csw-east", EAST)
        licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")

        table = licensing.kubectl("get", "slr", "-n", licensing.namespace).stdout

        header, row = table.splitlines()[:2]
        assert header.split()[:5] == ["NAME", "READY", "REGISTRATION", "AUTHORIZATION", "COMPLIANT"]
        assert row.split()[:5] == ["csw-east", "True", "Registered", "Authorized", "True"]
