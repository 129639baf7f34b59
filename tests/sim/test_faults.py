"""Fault injection of every kind, how faults match and run out, and the token-bucket rate limit."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sim.harness import EAST, TOKENS, Driver, make_simulator
from smartlicensing.testing.sim import Simulator
from smartlicensing.testing.sim.faults import FaultSpecError, FaultTable

ACCOUNTS = "/services/api/smart-accounts-and-licensing/v2/accounts"


async def add_fault(http: httpx.AsyncClient, **spec: Any) -> dict[str, Any]:
    response = await http.post("/_sim/faults", json=spec)
    assert response.status_code == 201, response.text
    payload: dict[str, Any] = response.json()
    return payload


class TestKinds:
    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    async def test_error_answers_the_status(self, drv: Driver, status: int) -> None:
        await add_fault(drv.http, kind="error", path="*/accounts", status=status, count=1)

        failed = await drv.cssm("GET", ACCOUNTS)
        healed = await drv.cssm("GET", ACCOUNTS)

        assert failed.status_code == status
        assert failed.json() == {"status": "ERROR", "statusMessage": "injected fault"}
        assert healed.status_code == 200

    async def test_injected_errors_on_cluster_paths_speak_the_product_contract(
        self, drv: Driver
    ) -> None:
        await add_fault(drv.http, kind="error", path="/clusters/*", count=1)
        await add_fault(drv.http, kind="throttle", path="/clusters/*", count=1)

        unavailable = await drv.cluster(EAST, "GET")
        throttled = await drv.cluster(EAST, "GET")

        assert (unavailable.status_code, unavailable.json()["error"]) == (503, "Unavailable")
        assert (throttled.status_code, throttled.json()["error"]) == (429, "TooManyRequests")

    async def test_throttle_answers_429_with_retry_after(self, drv: Driver) -> None:
        await add_fault(drv.http, kind="throttle", path="*/accounts", retryAfter=120)

        response = await drv.cssm("GET", ACCOUNTS)

        assert response.status_code == 429
        assert response.headers["Retry-After"] == "120"

    @pytest.mark.looptime
    async def test_slow_answers_after_the_delay(self, drv: Driver, looptime: Any) -> None:
        await drv.oauth()
        await add_fault(drv.http, kind="slow", path="*/accounts", delay=2.5)
        start = float(looptime)

        response = await drv.cssm("GET", ACCOUNTS)

        assert response.status_code == 200
        assert float(looptime) - start == pytest.approx(2.5)

    async def test_slow_delay_is_bounded(self, http: httpx.AsyncClient) -> None:
        response = await http.post("/_sim/faults", json={"kind": "slow", "path": "*", "delay": 31})

        assert response.status_code == 400
        assert "delay" in response.json()["error"]

    async def test_drop_closes_without_an_answer_in_process(self, drv: Driver) -> None:
        await drv.oauth()
        await add_fault(drv.http, kind="drop", path="*/accounts", count=1)

        with pytest.raises(httpx.RemoteProtocolError):
            await drv.cssm("GET", ACCOUNTS)

    async def test_commit_does_the_work_then_fails_the_answer(self, drv: Driver) -> None:
        await drv.oauth()
        await add_fault(drv.http, kind="commit", path=TOKENS, method="POST", count=1)

        response = await drv.cssm("POST", TOKENS, {"expiresAfterDays": 3})
        listed = await drv.cssm_ok("GET", TOKENS)

        assert response.status_code == 502
        assert "token" not in response.json()
        assert len(listed["tokens"]) == 1

    @pytest.mark.looptime
    async def test_commit_can_hold_its_answer_then_drop_the_connection(
        self, drv: Driver, looptime: Any
    ) -> None:
        await drv.oauth()
        await add_fault(drv.http, kind="commit", path=TOKENS, method="POST", delay=5, drop=True)
        start = float(looptime)

        with pytest.raises(httpx.RemoteProtocolError):
            await drv.cssm("POST", TOKENS, {"expiresAfterDays": 3})

        assert float(looptime) - start == pytest.approx(5)
        assert len((await drv.cssm_ok("GET", TOKENS))["tokens"]) == 1
        assert drv.sim.calls.entries()[-2]["status"] is None

    def test_drop_belongs_to_commit_only(self) -> None:
        with pytest.raises(FaultSpecError, match="drop"):
            FaultTable().add({"kind": "error", "path": "*", "drop": True})


class TestMatching:
    async def test_regex_and_method_select_requests(self, drv: Driver) -> None:
        await drv.oauth()
        await add_fault(drv.http, kind="error", regex=r"/tokens$", method="post")

        listed = await drv.cssm("GET", TOKENS)
        created = await drv.cssm("POST", TOKENS, {"expiresAfterDays": 3})

        assert listed.status_code == 200
        assert created.status_code == 503

    async def test_skip_then_count(self, drv: Driver) -> None:
        await drv.oauth()
        await add_fault(drv.http, kind="error", path="*/accounts", skip=1, count=2)

        statuses = [(await drv.cssm("GET", ACCOUNTS)).status_code for _ in range(4)]

        assert statuses == [200, 503, 503, 200]

    async def test_fault_lasts_until_cleared(self, drv: Driver) -> None:
        await drv.oauth()
        fault = await add_fault(drv.http, kind="error", path="*/accounts")

        during = [(await drv.cssm("GET", ACCOUNTS)).status_code for _ in range(3)]
        listed = (await drv.http.get("/_sim/faults")).json()["faults"]
        assert (await drv.http.delete(f"/_sim/faults/{fault['id']}")).status_code == 204
        after = (await drv.cssm("GET", ACCOUNTS)).status_code

        assert during == [503, 503, 503]
        assert listed[0]["hits"] == 3
        assert after == 200

    async def test_clear_all_faults(self, drv: Driver) -> None:
        await drv.oauth()
        await add_fault(drv.http, kind="error", path="*")

        await drv.http.delete("/_sim/faults")

        assert (await drv.cssm("GET", ACCOUNTS)).status_code == 200

    async def test_admin_calls_are_never_faulted(self, http: httpx.AsyncClient) -> None:
        await add_fault(http, kind="error", path="*")

        assert (await http.get("/_sim/clock")).status_code == 200

    async def test_unknown_fault_id_is_404(self, http: httpx.AsyncClient) -> None:
        assert (await http.delete("/_sim/faults/99")).status_code == 404

    @pytest.mark.parametrize(
        ("spec", "word"),
        [
            ({"kind": "explode", "path": "*"}, "kind"),
            ({"kind": "error"}, "path"),
            ({"kind": "error", "path": "*", "regex": "x"}, "path"),
            ({"kind": "error", "regex": "("}, "regex"),
            ({"kind": "error", "path": "*", "status": 200}, "status"),
            ({"kind": "error", "path": "*", "count": 0}, "count"),
            ({"kind": "error", "path": "*", "method": "G E T"}, "method"),
        ],
        ids=["kind", "no-pattern", "two-patterns", "bad-regex", "status", "count", "method"],
    )
    def test_malformed_faults_name_the_problem(self, spec: dict[str, Any], word: str) -> None:
        with pytest.raises(FaultSpecError, match=word):
            FaultTable().add(spec)


class TestRateLimit:
    async def test_token_bucket_answers_429_with_retry_after_until_refilled(self) -> None:
        now = [0.0]
        sim = make_simulator(monotonic=lambda: now[0])
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            drv = Driver(sim, http)
            await drv.oauth()  # one of the burst
            await http.put("/_sim/rate-limit", json={"rate": 0.5, "burst": 2})

            first = await drv.cssm("GET", ACCOUNTS)
            second = await drv.cssm("GET", ACCOUNTS)
            third = await drv.cssm("GET", ACCOUNTS)
            now[0] += 2.0
            refilled = await drv.cssm("GET", ACCOUNTS)
            await http.delete("/_sim/rate-limit")
            unlimited = [(await drv.cssm("GET", ACCOUNTS)).status_code for _ in range(5)]

        assert [first.status_code, second.status_code, third.status_code] == [200, 200, 429]
        assert third.headers["Retry-After"] == "2"
        assert refilled.status_code == 200
        assert unlimited == [200] * 5
        assert sim.calls.entries()[-7]["fault"] == "rateLimit"

    @pytest.mark.parametrize(
        "body",
        [
            {"rate": 0},
            {"rate": "fast"},
            {"rate": 1, "burst": 0},
            '{"rate": NaN}',
            '{"rate": Infinity}',
            {"rate": True},
            {"rate": 1e-300},
            {"rate": 1, "burst": True},
        ],
        ids=[
            "zero",
            "word",
            "burst-zero",
            "nan",
            "infinite",
            "boolean",
            "years-between-requests",
            "boolean-burst",
        ],
    )
    async def test_bad_rate_limit_is_400(
        self, http: httpx.AsyncClient, sim: Simulator, body: dict[str, Any] | str
    ) -> None:
        if isinstance(body, str):  # JSON as Python's json module writes non-finite numbers
            answer = await http.put("/_sim/rate-limit", content=body)
        else:
            answer = await http.put("/_sim/rate-limit", json=body)

        assert answer.status_code == 400
        assert "rate" in answer.json()["error"]
        assert sim.rate_limit is None


async def test_faults_and_calls_survive_a_world_reload(
    sim: Simulator, http: httpx.AsyncClient
) -> None:
    await add_fault(http, kind="error", path="*")
    before = (await http.get("/_sim/world")).json()

    response = await http.put("/_sim/world", content=b"clusters: []\n")

    assert before["clusters"]
    assert response.json()["clusters"] == []
    assert len(sim.faults.list()) == 1
