"""Time on the simulator clock: the clusters' 24-hour sync, the evaluation countdown, the
90-day authorization lapse, registration renewal, and compliance following the counts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sim.harness import DEVICES, EAST, LAB, REMOVE, Driver, make_simulator
from smartlicensing.testing.sim import Simulator, choices


class TestDailySync:
    async def test_each_day_brings_one_sync(self, drv: Driver, sim: Simulator) -> None:
        await drv.register(EAST)

        sim.clock.advance(days=3, hours=2)
        status = await drv.cluster_ok(EAST, "GET")

        assert status["lastSyncTime"] == "2026-12-06T08:00:00Z"
        assert status["nextSyncTime"] == "2026-12-07T08:00:00Z"
        assert status["authorization"]["expiresAt"] == "2027-03-06T08:00:00Z"

    async def test_sync_reports_the_counts_to_cssm(self, drv: Driver, sim: Simulator) -> None:
        await drv.register(EAST)
        sim.world.clusters[EAST].workloads = 300

        before = (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["inUse"]
        sim.clock.advance(days=1)
        drv._token = None
        after = (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["inUse"]

        assert (before, after) == (120, 300)
        [device] = (await drv.cssm_ok("GET", DEVICES))["devices"]
        assert device["lastContactDate"] == "2026-12-04T08:00:00Z"

    async def test_a_month_passes_quickly_and_the_same_way_each_time(self) -> None:
        # Two simulators, same seed and history: identical state after 30 simulated days.
        states = []
        for _ in range(2):
            sim = make_simulator()
            world = sim.world
            for uuid in (EAST, LAB):
                virtual_account = world.cloud.accounts["acme.example.com"].virtual_accounts[
                    "Datacenter-East"
                ]
                token = world.create_token(
                    virtual_account,
                    description="",
                    expires_after_days=1,
                    export_controlled="Allowed",
                    max_uses=None,
                    created_by="test",
                )
                world.register(
                    world.clusters[uuid],
                    token=token.value,
                    transport_url=choices.CLOUD_TRANSPORT_URL,
                    force=False,
                )
            sim.clock.advance(days=30)
            states.append(
                [
                    (c.registration.last_sync, c.registration.next_sync)
                    for c in world.clusters.values()
                    if c.registration
                ]
            )

        start = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
        assert states[0] == states[1]
        assert states[0] == [(start + timedelta(days=30), start + timedelta(days=31))] * 2

    async def test_the_clock_only_moves_forward(self, sim: Simulator) -> None:
        with pytest.raises(ValueError, match="forward"):
            sim.clock.advance(timedelta(seconds=-1))


class TestEvaluation:
    async def test_evaluation_counts_down_only_while_licenses_are_in_use(
        self, drv: Driver, sim: Simulator
    ) -> None:
        sim.world.clusters[LAB].workloads = 0
        sim.world.clusters[LAB].endpoints = 0
        sim.clock.advance(days=10)
        idle = await drv.cluster_ok(LAB, "GET")

        sim.world.clusters[LAB].workloads = 5
        sim.clock.advance(days=10)
        used = await drv.cluster_ok(LAB, "GET")

        assert idle["authorization"]["evaluationRemainingSeconds"] == 90 * 86400
        assert used["authorization"]["evaluationRemainingSeconds"] == 80 * 86400

    async def test_evaluation_expires_after_90_days_in_use(
        self, drv: Driver, sim: Simulator
    ) -> None:
        sim.clock.advance(days=89, hours=23)
        almost = await drv.cluster_ok(LAB, "GET")
        sim.clock.advance(hours=1)
        expired = await drv.cluster_ok(LAB, "GET")

        assert almost["authorization"]["state"] == "Evaluation"
        assert expired["authorization"]["state"] == "EvaluationExpired"
        assert expired["authorization"]["evaluationRemainingSeconds"] == 0

    async def test_registered_cluster_spends_no_evaluation_time(
        self, drv: Driver, sim: Simulator
    ) -> None:
        await drv.register(EAST)
        sim.clock.advance(days=20)

        status = await drv.cluster_ok(EAST, "DELETE", "/registration")

        assert status["authorization"]["evaluationRemainingSeconds"] == 90 * 86400

    @pytest.mark.parametrize("role", ["FederationLeader", "Standby"])
    async def test_leader_and_standby_use_nothing_and_spend_nothing(
        self, drv: Driver, sim: Simulator, role: str
    ) -> None:
        sim.world.clusters[LAB].role = role  # type: ignore[assignment]
        sim.clock.advance(days=30)

        status = await drv.cluster_ok(LAB, "GET")

        assert [u["inUse"] for u in status["usage"]] == [0, 0]
        assert status["authorization"]["evaluationRemainingSeconds"] == 90 * 86400


class TestAuthorizationExpiry:
    async def test_authorization_expires_90_days_after_the_last_successful_sync(
        self, drv: Driver, sim: Simulator
    ) -> None:
        await drv.register(EAST)
        sim.clock.advance(days=1)
        sim.world.clusters[EAST].offline = True

        sim.clock.advance(days=89, hours=23)
        still = await drv.cluster_ok(EAST, "GET")
        sim.clock.advance(hours=1)
        lapsed = await drv.cluster_ok(EAST, "GET")

        assert still["authorization"]["state"] == "Authorized"
        assert (
            still["registration"]["failureMessage"] == "the licensing server could not be reached"
        )
        assert lapsed["authorization"]["state"] == "AuthorizationExpired"
        assert lapsed["lastSyncTime"] == "2026-12-04T08:00:00Z"

    async def test_renew_after_reconnecting_authorizes_again(
        self, drv: Driver, sim: Simulator
    ) -> None:
        await drv.register(EAST)
        sim.world.clusters[EAST].offline = True
        sim.clock.advance(days=91)
        sim.world.clusters[EAST].offline = False

        status = await drv.cluster_ok(EAST, "POST", "/authorization/renew")

        assert status["authorization"]["state"] == "Authorized"
        assert status["registration"]["failureMessage"] is None

    async def test_instance_removed_at_cssm_fails_the_next_daily_sync(
        self, drv: Driver, sim: Simulator
    ) -> None:
        await drv.register(EAST)
        await drv.cssm_ok(
            "POST", REMOVE, {"productInstancesRemoveRequests": [{"sudi": {"uuid": EAST}}]}
        )

        sim.clock.advance(days=1)
        status = await drv.cluster_ok(EAST, "GET")

        assert status["registration"]["state"] == "Failed"


class TestRegistrationRenewal:
    async def test_identity_renews_at_180_days(self, drv: Driver, sim: Simulator) -> None:
        await drv.register(EAST)

        sim.clock.advance(days=181)
        status = await drv.cluster_ok(EAST, "GET")

        assert status["registration"]["registeredAt"] == "2026-12-03T08:00:00Z"
        assert status["registration"]["renewAt"] == "2027-11-28T08:00:00Z"
        assert status["registration"]["expiresAt"] == "2028-05-31T08:00:00Z"


class TestCompliance:
    async def test_over_use_makes_the_license_and_the_clusters_out_of_compliance(
        self, drv: Driver, sim: Simulator
    ) -> None:
        await drv.register(EAST)  # 120 workloads, 40 endpoints of 500 / 200
        assert (await drv.cluster_ok(EAST, "GET"))["authorization"]["state"] == "Authorized"

        sim.world.clusters[EAST].endpoints = 230
        renewed = await drv.cluster_ok(EAST, "POST", "/authorization/renew")
        rows = await drv.license_rows()

        assert rows[choices.ENDPOINT_VISIBILITY]["status"] == "Out Of Compliance"
        assert (
            rows[choices.ENDPOINT_VISIBILITY]["inUse"],
            rows[choices.ENDPOINT_VISIBILITY]["available"],
        ) == (230, 0)
        assert rows[choices.WORKLOAD_PROTECTION]["status"] == "In Compliance"
        assert renewed["authorization"]["state"] == "OutOfCompliance"

        sim.world.clusters[EAST].endpoints = 150
        recovered = await drv.cluster_ok(EAST, "POST", "/authorization/renew")

        assert (await drv.license_rows())[choices.ENDPOINT_VISIBILITY]["status"] == "In Compliance"
        assert recovered["authorization"]["state"] == "Authorized"

    async def test_federation_leader_registers_but_uses_nothing(
        self, drv: Driver, sim: Simulator
    ) -> None:
        sim.world.clusters[EAST].role = "FederationLeader"

        await drv.register(EAST)

        assert (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["inUse"] == 0

    async def test_expired_licenses_are_out_of_compliance(self, drv: Driver) -> None:
        sim = make_simulator()
        pool = (
            sim.world.cloud.accounts["acme.example.com"].virtual_accounts["Datacenter-East"].pools
        )
        pool[choices.WORKLOAD_PROTECTION].expires = sim.world.now + timedelta(days=10)
        drv.sim = sim
        import httpx

        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sim.app), base_url="http://sim"
        ) as client:
            drv.http = client
            drv._token = None
            await drv.register(EAST)
            sim.clock.advance(days=10)
            drv._token = None
            rows = await drv.license_rows()
            status = await drv.cluster_ok(EAST, "GET")

        assert rows[choices.WORKLOAD_PROTECTION]["quantity"] == 0
        assert rows[choices.WORKLOAD_PROTECTION]["status"] == "Out Of Compliance"
        assert rows[choices.WORKLOAD_PROTECTION]["licenseDetails"][0]["status"] == "EXPIRED"
        assert status["authorization"]["state"] == "OutOfCompliance"
