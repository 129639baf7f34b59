"""Simulated Secure Workload clusters: signed requests, registration (cloud and On-Prem),
deregistration, Renew Authorization, and the refusals of docs/product-api.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sim.harness import (
    CLOUD_TRANSPORT,
    DEVICES,
    EAST,
    LAB,
    LEGACY,
    ONPREM_TRANSPORT,
    TOKENS,
    WALL,
    WEST,
    Driver,
    make_simulator,
)
from smartlicensing.product.signing import signed_headers
from smartlicensing.testing.sim import Simulator, choices

STATUS = f"/clusters/{EAST}/openapi/v1/licensing"


class TestSignedRequests:
    async def test_public_test_vector_authenticates_a_cluster_request(self) -> None:
        # The Secure Workload signer's vector: secret "X" * 40, GET, application/json,
        # 2020-04-21T18:23:37+0000, no checksum. A cluster with that secret, whose real time is
        # that moment, accepts the same scheme over its own path.
        moment = datetime(2020, 4, 21, 18, 23, 37, tzinfo=UTC)
        vector = signed_headers(
            "key", "X" * 40, method="GET", path="/openapi/v1/app_scopes", now=moment
        )
        assert vector["Authorization"] == "uTixNCblmmldnLBADYcuzfxU/LHy3a2RM3jLrQwxFtc="
        sim = make_simulator(wall_clock=lambda: moment)
        sim.world.clusters[EAST].api_secret = "X" * 40
        signed = signed_headers(
            "csw-east-demo-key", "X" * 40, method="GET", path=STATUS, now=moment
        )

        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            response = await client.get(STATUS, headers=signed)

        assert response.status_code == 200, response.text
        assert response.json()["cluster"]["uuid"] == EAST

    async def test_status_of_an_unregistered_cluster(self, drv: Driver) -> None:
        status = await drv.cluster_ok(EAST, "GET")

        assert status["cluster"] == {
            "uuid": EAST,
            "version": "3.9.1.1",
            "role": "Standalone",
            "name": "csw-east",
        }
        assert status["registration"]["state"] == "Unregistered"
        assert status["registration"]["mode"] is None
        assert status["authorization"]["state"] == "Evaluation"
        assert status["authorization"]["evaluationRemainingSeconds"] == 90 * 86400
        assert status["usage"] == [
            {"license": choices.WORKLOAD_PROTECTION, "inUse": 120},
            {"license": choices.ENDPOINT_VISIBILITY, "inUse": 40},
        ]
        assert status["reservation"] == {
            "state": "None",
            "type": None,
            "requestCode": None,
            "reserved": {},
        }

    async def test_wrong_secret_is_401(self, drv: Driver) -> None:
        response = await drv.cluster(EAST, "GET", secret="Y" * 40)

        assert response.status_code == 401
        assert response.json()["error"] == "Unauthorized"

    @pytest.mark.parametrize(
        "skew", [timedelta(seconds=301), timedelta(seconds=-301)], ids=["future", "past"]
    )
    async def test_timestamp_far_from_real_time_is_401(self, drv: Driver, skew: timedelta) -> None:
        response = await drv.cluster(EAST, "GET", now=WALL + skew)

        assert response.status_code == 401

    async def test_timestamp_within_five_minutes_is_accepted(self, drv: Driver) -> None:
        response = await drv.cluster(EAST, "GET", now=WALL + timedelta(seconds=299))

        assert response.status_code == 200

    async def test_body_that_does_not_match_its_checksum_is_401(self, drv: Driver) -> None:
        cluster = drv.sim.world.clusters[EAST]
        headers = signed_headers(
            cluster.api_key,
            cluster.api_secret,
            method="POST",
            path=f"{STATUS}/registration",
            body=b'{"a":1}',
            now=WALL,
        )

        response = await drv.http.post(
            f"{STATUS}/registration", content=b'{"a":2}', headers=headers
        )

        assert response.status_code == 401

    async def test_api_key_of_another_cluster_is_401(self, drv: Driver) -> None:
        west = drv.sim.world.clusters[WEST]
        headers = signed_headers(west.api_key, west.api_secret, method="GET", path=STATUS, now=WALL)

        response = await drv.http.get(STATUS, headers=headers)

        assert response.status_code == 401

    async def test_unknown_cluster_is_404(self, drv: Driver) -> None:
        response = await drv.http.get(
            "/clusters/00000000-0000-4000-8000-000000000000/openapi/v1/licensing"
        )

        assert response.status_code == 404
        assert response.json()["error"] == "NotFound"

    @pytest.mark.parametrize(
        ("method", "suffix"),
        [("GET", ""), ("POST", "/registration"), ("POST", "/reservation/request")],
        ids=["status", "register", "reserve"],
    )
    async def test_cluster_older_than_3_8_answers_412(
        self, drv: Driver, method: str, suffix: str
    ) -> None:
        response = await drv.cluster(LEGACY, method, suffix, {} if method == "POST" else None)

        assert response.status_code == 412
        assert response.json()["error"] == "UnsupportedVersion"
        assert "3.7.2.5" in response.json()["message"]


class TestRegistration:
    async def test_register_with_cloud_token(self, drv: Driver) -> None:
        token = await drv.issue_token(maxUses=3)

        status = await drv.register(EAST, token=token)

        registration = status["registration"]
        assert registration["state"] == "Registered"
        assert registration["mode"] == "Connected"
        assert (registration["smartAccount"], registration["virtualAccount"]) == (
            "acme.example.com",
            "Datacenter-East",
        )
        assert registration["registeredAt"] == "2026-12-03T08:00:00Z"
        assert registration["renewAt"] == "2027-06-01T08:00:00Z"
        assert registration["expiresAt"] == "2027-12-03T08:00:00Z"
        assert status["authorization"]["state"] == "Authorized"
        assert status["authorization"]["expiresAt"] == "2027-03-03T08:00:00Z"
        assert (status["lastSyncTime"], status["nextSyncTime"]) == (
            "2026-12-03T08:00:00Z",
            "2026-12-04T08:00:00Z",
        )
        [listed] = (await drv.cssm_ok("GET", TOKENS))["tokens"]
        assert listed["uses"] == 1

    async def test_register_with_onprem_token(self, drv: Driver) -> None:
        token = await drv.onprem_oauth()
        created = await drv.cssm(
            "POST",
            "/backend/api/v1/accounts/acme-onprem/virtual-accounts/Default/tokens",
            {"expiresAfterDays": 5},
            token=token,
        )

        status = await drv.register(
            WEST, transport=ONPREM_TRANSPORT, token=created.json()["tokenInfo"]["token"]
        )

        assert status["registration"]["mode"] == "OnPrem"
        assert status["registration"]["smartAccount"] == "acme-onprem"

    async def test_cloud_token_is_unknown_to_the_onprem_server(self, drv: Driver) -> None:
        token = await drv.issue_token()

        response = await drv.cluster(
            WEST, "POST", "/registration", {"token": token, "transportUrl": ONPREM_TRANSPORT}
        )

        assert response.status_code == 422
        assert response.json()["error"] == "InvalidToken"

    async def test_registering_again_without_force_is_409(self, drv: Driver) -> None:
        await drv.register(EAST)
        token = await drv.issue_token()

        response = await drv.cluster(
            EAST, "POST", "/registration", {"token": token, "transportUrl": CLOUD_TRANSPORT}
        )

        assert response.status_code == 409
        assert response.json()["error"] == "AlreadyRegistered"
        assert token not in response.text

    async def test_force_replaces_the_registration_and_its_instance(self, drv: Driver) -> None:
        await drv.register(EAST)
        token = await drv.onprem_oauth()
        created = await drv.cssm(
            "POST",
            "/backend/api/v1/accounts/acme-onprem/virtual-accounts/Default/tokens",
            {"expiresAfterDays": 5},
            token=token,
        )

        status = await drv.cluster_ok(
            EAST,
            "POST",
            "/registration",
            {
                "token": created.json()["tokenInfo"]["token"],
                "transportUrl": ONPREM_TRANSPORT,
                "force": True,
            },
        )

        assert status["registration"]["mode"] == "OnPrem"
        assert (await drv.cssm_ok("GET", DEVICES))["devices"] == []

    async def test_uuid_already_held_by_cssm_needs_force(self, drv: Driver, sim: Simulator) -> None:
        await drv.register(EAST)
        sim.world.clusters[EAST].registration = None  # the cluster forgot; CSSM did not

        refused = await drv.cluster(
            EAST,
            "POST",
            "/registration",
            {"token": await drv.issue_token(), "transportUrl": CLOUD_TRANSPORT},
        )
        forced = await drv.cluster(
            EAST,
            "POST",
            "/registration",
            {"token": await drv.issue_token(), "transportUrl": CLOUD_TRANSPORT, "force": True},
        )

        assert refused.json()["error"] == "AlreadyRegistered"
        assert forced.status_code == 200
        assert len((await drv.cssm_ok("GET", DEVICES))["devices"]) == 1

    @pytest.mark.parametrize(
        ("prepare", "error"),
        [
            ("unknown", "InvalidToken"),
            ("expired", "TokenExpired"),
            ("revoked", "TokenRevoked"),
            ("exhausted", "TokenExhausted"),
        ],
        ids=["unknown", "expired", "revoked", "exhausted"],
    )
    async def test_token_refusals(
        self, drv: Driver, sim: Simulator, prepare: str, error: str
    ) -> None:
        token = await drv.issue_token(expiresAfterDays=1, maxUses=1)
        if prepare == "unknown":
            token = "not-a-token"
        elif prepare == "expired":
            sim.clock.advance(days=1)
        elif prepare == "revoked":
            await drv.cssm_ok("POST", f"{TOKENS}/revoke", {"tokens": [token]})
        elif prepare == "exhausted":
            await drv.register(LAB, token=token)

        response = await drv.cluster(
            EAST, "POST", "/registration", {"token": token, "transportUrl": CLOUD_TRANSPORT}
        )

        assert response.status_code == 422
        assert response.json()["error"] == error
        assert token not in response.text
        if prepare == "exhausted":
            [listed] = (await drv.cssm_ok("GET", TOKENS))["tokens"]
            assert (listed["uses"], listed["status"]) == (1, "EXPIRED")

    @pytest.mark.parametrize(
        "url",
        [
            "https://elsewhere.example.com/SmartTransport",
            "not a url",
            "https://ssm.example.internal/other",
        ],
        ids=["unknown-host", "not-a-url", "wrong-path"],
    )
    async def test_unknown_transport_url_is_502(self, drv: Driver, url: str) -> None:
        response = await drv.cluster(
            EAST, "POST", "/registration", {"token": await drv.issue_token(), "transportUrl": url}
        )

        assert response.status_code == 502
        assert response.json()["error"] == "TransportUnreachable"

    async def test_offline_cluster_cannot_register(self, drv: Driver, sim: Simulator) -> None:
        sim.world.clusters[EAST].offline = True

        response = await drv.cluster(
            EAST,
            "POST",
            "/registration",
            {"token": await drv.issue_token(), "transportUrl": CLOUD_TRANSPORT},
        )

        assert response.json()["error"] == "TransportUnreachable"

    @pytest.mark.parametrize(
        "body",
        [
            {"transportUrl": CLOUD_TRANSPORT},
            {"token": "t"},
            {"token": "t", "transportUrl": CLOUD_TRANSPORT, "force": "yes"},
        ],
        ids=["no-token", "no-url", "force-not-bool"],
    )
    async def test_malformed_registration_is_400(self, drv: Driver, body: dict[str, Any]) -> None:
        response = await drv.cluster(EAST, "POST", "/registration", body)

        assert response.status_code == 400
        assert response.json()["error"] == "BadRequest"

    async def test_deregister_returns_to_evaluation_and_removes_the_instance(
        self, drv: Driver
    ) -> None:
        await drv.register(EAST)

        status = await drv.cluster_ok(EAST, "DELETE", "/registration")

        assert status["registration"]["state"] == "Unregistered"
        assert status["authorization"]["state"] == "Evaluation"
        assert (await drv.cssm_ok("GET", DEVICES))["devices"] == []

    async def test_deregister_when_unregistered_is_200(self, drv: Driver) -> None:
        status = await drv.cluster_ok(EAST, "DELETE", "/registration")

        assert status["registration"]["state"] == "Unregistered"


class TestRenewAuthorization:
    async def test_renew_syncs_now(self, drv: Driver, sim: Simulator) -> None:
        await drv.register(EAST)
        sim.clock.advance(hours=5)

        status = await drv.cluster_ok(EAST, "POST", "/authorization/renew")

        assert status["lastSyncTime"] == "2026-12-03T13:00:00Z"
        assert status["nextSyncTime"] == "2026-12-04T13:00:00Z"

    async def test_renew_when_not_registered_is_409(self, drv: Driver) -> None:
        response = await drv.cluster(EAST, "POST", "/authorization/renew")

        assert response.status_code == 409
        assert response.json()["error"] == "NotRegistered"

    async def test_renew_while_cssm_unreachable_is_502(self, drv: Driver, sim: Simulator) -> None:
        await drv.register(EAST)
        sim.world.clusters[EAST].offline = True

        response = await drv.cluster(EAST, "POST", "/authorization/renew")

        assert response.status_code == 502

    async def test_renew_after_cssm_removed_the_instance_reports_failure(self, drv: Driver) -> None:
        await drv.register(EAST)
        from sim.harness import REMOVE

        await drv.cssm_ok(
            "POST", REMOVE, {"productInstancesRemoveRequests": [{"sudi": {"uuid": EAST}}]}
        )

        status = await drv.cluster_ok(EAST, "POST", "/authorization/renew")

        assert status["registration"]["state"] == "Failed"
        assert "register again" in status["registration"]["failureMessage"]

    async def test_unknown_licensing_path_is_404_json(self, drv: Driver) -> None:
        response = await drv.cluster(EAST, "GET", "/nothing-here")

        assert response.status_code == 404
        assert response.json()["error"] == "NotFound"
