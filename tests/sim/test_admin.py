"""The /_sim control surface (world, clock, clusters, call log), the world file's validation,
and the promise that no secret reaches the call log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sim.harness import (
    CLIENT_SECRET,
    CLOUD_TRANSPORT,
    EAST,
    LAB,
    LEGACY,
    LICENSES,
    TOKENS,
    WORLD_FILE,
    Driver,
    make_simulator,
)
from smartlicensing.testing.sim import Simulator, WorldFileError, parse_world


class TestWorld:
    async def test_world_summary(self, http: httpx.AsyncClient) -> None:
        payload = (await http.get("/_sim/world")).json()

        assert payload["now"] == "2026-12-03T08:00:00Z"
        assert payload["seed"] == 7
        assert [s["name"] for s in payload["servers"]] == ["cloud", "ssm.example.internal"]
        assert [c["name"] for c in payload["clusters"]] == [
            "csw-east",
            "csw-west",
            "csw-lab",
            "csw-legacy",
        ]

    async def test_replace_the_world_from_yaml(
        self, http: httpx.AsyncClient, sim: Simulator
    ) -> None:
        text = WORLD_FILE.read_text().replace("workloads: 120", "workloads: 7")

        response = await http.put("/_sim/world?seed=3", content=text.encode())

        assert response.status_code == 200
        assert response.json()["seed"] == 3
        assert sim.world.clusters[EAST].workloads == 7

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            ("clusters: [", "not valid YAML"),
            ("- a\n- b\n", "mapping"),
            (
                f"clusters:\n- {{uuid: {EAST}, name: x, apiKey: k, apiSecret: short}}\n",
                "clusters.0.apiSecret",
            ),
            (
                "cloud:\n  accounts:\n  - domain: d\n    virtualAccounts:\n"
                "    - name: v\n      licenses: {Gold: 1}\n",
                "unknown license",
            ),
            ("surprise: 1\n", "surprise"),
        ],
        ids=["not-yaml", "not-a-mapping", "short-api-secret", "unknown-license", "unknown-field"],
    )
    def test_invalid_world_files_say_what_is_wrong(self, text: str, needle: str) -> None:
        with pytest.raises(WorldFileError, match=needle):
            parse_world(text)

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            (
                f"clusters:\n- {{uuid: {EAST}, name: a, apiKey: k, apiSecret: {'s' * 40}}}\n"
                f"- {{uuid: {EAST.upper()}, name: b, apiKey: k, apiSecret: {'s' * 40}}}\n",
                f"clusters: uuid '{EAST}' appears more than once",
            ),
            (
                "cloud: {apiClients: [{clientId: a, clientSecret: x}, "
                "{clientId: a, clientSecret: y}]}\n",
                "cloud.apiClients: clientId 'a' appears more than once",
            ),
            (
                "cloud: {accounts: [{domain: d}, {domain: d}]}\n",
                "cloud.accounts: domain 'd' appears more than once",
            ),
            (
                "cloud: {accounts: [{domain: d, virtualAccounts: [{name: v}, {name: v}]}]}\n",
                "cloud.accounts.0.virtualAccounts: name 'v' appears more than once",
            ),
            (
                "cloud: {accounts: [{domain: d, virtualAccounts: "
                "[{name: v, default: true}, {name: w, default: true}]}]}\n",
                "cloud.accounts.0.virtualAccounts: only one may be the default",
            ),
            (
                "onPrem: [{host: ssm.local}, {host: SSM.local}]\n",
                "onPrem: host 'ssm.local' appears more than once",
            ),
        ],
        ids=[
            "cluster-uuid",
            "client-id",
            "account-domain",
            "virtual-account-name",
            "two-defaults",
            "on-prem-host",
        ],
    )
    def test_duplicates_in_a_world_file_are_named(self, text: str, needle: str) -> None:
        """A second entry with the same key would silently replace the first one."""
        with pytest.raises(WorldFileError) as caught:
            parse_world(text)

        assert needle in str(caught.value)
        assert "Value error" not in str(caught.value)

    async def test_a_license_expiry_without_offset_is_utc(
        self, http: httpx.AsyncClient, sim: Simulator
    ) -> None:
        """A naive ``expires`` is read like ``clock.start`` rather than breaking license reads."""
        text = WORLD_FILE.read_text().replace(
            "Secure Workload PLR: 10",
            'Secure Workload PLR: {quantity: 10, expires: "2026-12-04T08:00:00"}',
        )
        sim.load(parse_world(text))
        driver = Driver(sim, http)
        query = {"virtualAccounts": ["Datacenter-East"], "limit": 50, "offset": 0}

        before = await driver.cssm_ok("POST", LICENSES, query)
        sim.clock.advance(days=1)
        await driver.oauth()  # the first access token expired on the way
        after = await driver.cssm_ok("POST", LICENSES, query)

        def plr(payload: dict[str, Any]) -> int:
            return next(
                int(item["quantity"])
                for item in payload["licenses"]
                if item["license"] == "Secure Workload PLR"
            )

        assert plr(before) == 10
        assert plr(after) == 0

    def test_a_world_file_that_is_not_utf8_is_a_world_file_error(self, tmp_path: Path) -> None:
        path = tmp_path / "world.yaml"
        path.write_bytes(b"seed: 1\nclusters: []\n# \xff\xfe\n")

        with pytest.raises(WorldFileError, match="not UTF-8 text"):
            Simulator.from_file(path)

    async def test_invalid_world_upload_is_400_and_keeps_the_old_world(
        self, http: httpx.AsyncClient, sim: Simulator
    ) -> None:
        response = await http.put("/_sim/world", content=b"clusters: [")

        assert response.status_code == 400
        assert EAST in sim.world.clusters

    def test_secret_values_do_not_appear_in_world_file_errors(self) -> None:
        text = f"clusters:\n- {{uuid: {EAST}, name: x, apiKey: k, apiSecret: topsecretvalue}}\n"

        with pytest.raises(WorldFileError) as caught:
            parse_world(text)

        assert "topsecretvalue" not in str(caught.value)


class TestClockApi:
    async def test_read_and_advance(self, http: httpx.AsyncClient) -> None:
        before = (await http.get("/_sim/clock")).json()
        after = (
            await http.post("/_sim/clock/advance", json={"days": 1, "hours": 2, "seconds": 30})
        ).json()

        assert before == {"now": "2026-12-03T08:00:00Z"}
        assert after == {"now": "2026-12-04T10:00:30Z"}

    @pytest.mark.parametrize(
        "body",
        [
            {"days": -1},
            {"hours": "two"},
            [1],
            {"days": True},
            '{"seconds": Infinity}',
            '{"seconds": NaN}',
            {"days": 1e308},
            {"days": 3661},
        ],
        ids=[
            "negative",
            "not-a-number",
            "not-an-object",
            "boolean",
            "infinite",
            "nan",
            "beyond-timedelta",
            "beyond-ten-years",
        ],
    )
    async def test_bad_advance_is_400(
        self, http: httpx.AsyncClient, sim: Simulator, body: Any
    ) -> None:
        before = sim.clock.now()

        if isinstance(body, str):  # JSON as Python's json module writes non-finite numbers
            answer = await http.post("/_sim/clock/advance", content=body)
        else:
            answer = await http.post("/_sim/clock/advance", json=body)

        assert answer.status_code == 400
        assert "error" in answer.json()
        assert sim.clock.now() == before


class TestClusterControl:
    async def test_set_counts_version_role_and_offline(
        self, http: httpx.AsyncClient, sim: Simulator
    ) -> None:
        response = await http.patch(
            f"/_sim/clusters/{LAB}",
            json={
                "workloads": 5,
                "endpoints": 6,
                "version": "3.10.1.1",
                "role": "FederationFollower",
                "offline": True,
            },
        )

        assert response.status_code == 200
        assert response.json()["usage"][0]["inUse"] == 5
        assert response.json()["offline"] is True
        cluster = sim.world.clusters[LAB]
        assert (cluster.workloads, cluster.endpoints, cluster.version, cluster.role) == (
            5,
            6,
            "3.10.1.1",
            "FederationFollower",
        )

    async def test_upgrading_a_legacy_cluster_lifts_the_412(self, drv: Driver) -> None:
        await drv.http.patch(f"/_sim/clusters/{LEGACY}", json={"version": "3.8.1.1"})

        assert (await drv.cluster(LEGACY, "GET")).status_code == 200

    @pytest.mark.parametrize(
        "body",
        [
            {"workloads": -1},
            {"workloads": True},
            {"role": "Boss"},
            {"colour": "red"},
            {"offline": "yes"},
        ],
        ids=["negative", "bool-count", "bad-role", "unknown-field", "offline-not-bool"],
    )
    async def test_bad_cluster_changes_are_400(
        self, http: httpx.AsyncClient, body: dict[str, Any]
    ) -> None:
        assert (await http.patch(f"/_sim/clusters/{LAB}", json=body)).status_code == 400

    async def test_unknown_cluster_is_404(self, http: httpx.AsyncClient) -> None:
        response = await http.patch("/_sim/clusters/00000000-0000-4000-8000-000000000000", json={})

        assert response.status_code == 404


class TestCallLog:
    async def test_calls_are_recorded_in_order_with_cluster_and_status(self, drv: Driver) -> None:
        await drv.register(EAST)

        calls = (await drv.http.get("/_sim/calls")).json()["calls"]

        assert [(c["method"], c["status"]) for c in calls] == [
            ("POST", 200),
            ("POST", 200),
            ("POST", 200),
        ]
        assert calls[0]["path"] == "/oauth2/default/v1/token"
        assert calls[2]["cluster"] == EAST
        assert calls[2]["time"] == "2026-12-03T08:00:00Z"
        assert [c["seq"] for c in calls] == [1, 2, 3]

    async def test_no_secret_reaches_the_log(self, drv: Driver, sim: Simulator) -> None:
        # Secrets in a form body, a query string, bearer and HMAC headers, JSON bodies and answers.
        await drv.http.post(
            f"/as/token.oauth2?client_secret={CLIENT_SECRET}",
            data={"grant_type": "client_credentials", "client_id": "acme-demo-client"},
        )
        token = await drv.issue_token()
        await drv.cssm_ok("POST", f"{TOKENS}/revoke", {"tokens": [token]})
        fresh = await drv.issue_token()
        await drv.register(EAST, token=fresh)
        await drv.cluster_ok(LAB, "POST", "/reservation/request", {"type": "Specific"})
        await drv.cluster(
            LAB, "POST", "/reservation/authorization", {"authorizationCode": f"<x>{token}</x>"}
        )
        await drv.cssm("POST", TOKENS, {"expiresAfterDays": 3, "description": f"contains {fresh}"})

        log = json.dumps((await drv.http.get("/_sim/calls")).json())

        secrets = [
            CLIENT_SECRET,
            token,
            fresh,
            drv._token or "",
            sim.world.clusters[EAST].api_secret,
        ]
        assert all(secret not in log for secret in secrets)
        assert "***" in log
        assert '{\\"type\\":\\"Specific\\"}' in log  # what is not secret stays readable

    @pytest.mark.parametrize(
        ("path", "content_type", "body"),
        [
            (
                "/backend/oauth/token",
                "text/plain",
                '{"grant_type": "client_credentials", "client_secret": "%s"}',
            ),
            ("/backend/oauth/token", "application/json", '{"client_secret": "%s", "grant'),
            ("/oauth2/default/v1/token", "text/plain", "grant_type=x&client_secret=%s"),
            ("/oauth2/default/v1/token", "application/octet-stream", "client%%5Fsecret=%s"),
        ],
        ids=["json-as-text", "malformed-json", "form-as-text", "encoded-form-name"],
    )
    async def test_unknown_secrets_are_masked_whatever_the_content_type(
        self, http: httpx.AsyncClient, path: str, content_type: str, body: str
    ) -> None:
        """A wrong secret is one the world does not know; it is masked by its field name."""
        unknown = "not-known-to-the-world-4Rk"
        await http.post(
            path, content=(body % unknown).encode(), headers={"Content-Type": content_type}
        )

        logged = (await http.get("/_sim/calls")).json()["calls"][-1]

        assert unknown not in json.dumps(logged)
        assert "client_secret" in logged["body"]
        assert "***" in logged["body"]

    async def test_reset_the_log_keeps_counting(self, drv: Driver) -> None:
        await drv.oauth()
        assert (await drv.http.delete("/_sim/calls")).status_code == 204
        await drv.oauth()

        calls = (await drv.http.get("/_sim/calls")).json()["calls"]
        since = (await drv.http.get("/_sim/calls?since=2")).json()["calls"]

        assert [c["seq"] for c in calls] == [2]
        assert since == []


class TestNumbersInQueries:
    """Query numbers are ASCII digits; anything else is a 400 naming the parameter, not a 500
    (``"²".isdigit()`` is true, ``int("²")`` fails) and not a silent default."""

    @pytest.mark.parametrize(
        "text", ["\u00b2", "-1", "abc"], ids=["superscript", "negative", "word"]
    )
    async def test_calls_since(self, http: httpx.AsyncClient, text: str) -> None:
        answer = await http.get("/_sim/calls", params={"since": text})

        assert answer.status_code == 400
        assert "since" in answer.json()["error"]

    @pytest.mark.parametrize(
        "text", ["\u00b2", "-1", "abc"], ids=["superscript", "negative", "word"]
    )
    async def test_world_seed(self, http: httpx.AsyncClient, sim: Simulator, text: str) -> None:
        before = sim.world

        answer = await http.put(
            "/_sim/world", params={"seed": text}, content=WORLD_FILE.read_bytes()
        )

        assert answer.status_code == 400
        assert "seed" in answer.json()["error"]
        assert sim.world is before

    @pytest.mark.parametrize("text", ["\u00b2", "\u0663"], ids=["superscript", "arabic-indic"])
    async def test_licenses_page_limit(self, drv: Driver, text: str) -> None:
        answer = await drv.cssm(
            "POST", LICENSES, {"virtualAccounts": ["Datacenter-East"], "limit": text}
        )

        assert answer.status_code == 400
        assert "limit" in answer.json()["statusMessage"]


class TestDeterminism:
    async def test_same_seed_same_tokens_other_seed_other_tokens(self) -> None:
        def first_token(seed: int) -> str:
            sim = make_simulator() if seed == 7 else Simulator.from_file(WORLD_FILE, seed=seed)
            virtual_account = sim.world.cloud.accounts["acme.example.com"].virtual_accounts[
                "Datacenter-East"
            ]
            token = sim.world.create_token(
                virtual_account,
                description="",
                expires_after_days=1,
                export_controlled="Allowed",
                max_uses=None,
                created_by="t",
            )
            return token.value

        assert first_token(7) == first_token(7)
        assert first_token(7) != first_token(8)

    async def test_world_file_seed_is_the_default(self) -> None:
        sim = Simulator.from_file(WORLD_FILE)

        assert sim.world.seed == 1


async def test_transport_url_under_the_simulator_prefix_reaches_onprem(drv: Driver) -> None:
    token = await drv.onprem_oauth()
    created = await drv.cssm(
        "POST",
        "/backend/api/v1/accounts/acme-onprem/virtual-accounts/Default/tokens",
        {"expiresAfterDays": 5},
        token=token,
    )

    status = await drv.register(
        EAST,
        transport="http://127.0.0.1:8443/onprem/ssm.example.internal/SmartTransport",
        token=created.json()["tokenInfo"]["token"],
    )

    assert status["registration"]["mode"] == "OnPrem"
    assert CLOUD_TRANSPORT
