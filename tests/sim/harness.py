"""What the simulator's tests share: the example world's names, and a driver that speaks both
sides (CSSM with OAuth, clusters with HMAC-signed requests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from smartlicensing.product.signing import signed_headers
from smartlicensing.testing.sim import Simulator

WORLD_FILE = Path(__file__).parents[2] / "examples" / "world.yaml"
WALL = datetime(2026, 12, 3, 8, 0, 0, tzinfo=UTC)
"""The real time the simulated clusters check signatures against (frozen)."""

EAST = "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b"
WEST = "8a41c9d2-7e53-4f1a-b6c8-2d9e0f3a1b74"
LAB = "0b7d1e44-9f3a-4c2e-8d61-2a5c7e9f1b30"
LEGACY = "3c9e7f10-2b4d-4a6e-8f01-9d7c5b3a2e18"
DOMAIN = "acme.example.com"
VA = "Datacenter-East"
ONPREM_DOMAIN = "acme-onprem"
ONPREM_VA = "Default"
CLOUD_API = "/services/api/smart-accounts-and-licensing/v1"
CLOUD_API_V2 = "/services/api/smart-accounts-and-licensing/v2"
ONPREM_API = "/backend/api/v1"
CLOUD_TRANSPORT = "https://smartreceiver.cisco.com/licservice/license"
ONPREM_TRANSPORT = "https://ssm.example.internal/SmartTransport"
CLIENT_ID = "acme-demo-client"
CLIENT_SECRET = "demo-only-secret-7Qv2LmX9"
ONPREM_CLIENT_ID = "onprem-demo-client"
ONPREM_CLIENT_SECRET = "demo-only-onprem-secret-3Kx8"
TOKENS = f"{CLOUD_API}/accounts/{DOMAIN}/virtual-accounts/{VA}/tokens"
LICENSES = f"{CLOUD_API}/accounts/{DOMAIN}/licenses"
DEVICES = f"{CLOUD_API}/accounts/{DOMAIN}/virtual-accounts/{VA}/devices"
RESERVE = f"{CLOUD_API}/accounts/{DOMAIN}/virtual-accounts/{VA}/reserve-licenses"
REMOVE = f"{CLOUD_API_V2}/accounts/{DOMAIN}/virtual-accounts/{VA}/devices/remove"


def make_simulator(**options: Any) -> Simulator:
    options.setdefault("wall_clock", lambda: WALL)
    return Simulator.from_file(WORLD_FILE, seed=7, **options)


class Driver:
    """Both sides of the simulator, as the operator's clients would call them."""

    def __init__(self, sim: Simulator, http: httpx.AsyncClient) -> None:
        self.sim = sim
        self.http = http
        self._token: str | None = None

    async def oauth(self, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
        response = await self.http.post(
            "/oauth2/default/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert response.status_code == 200, response.text
        token = str(response.json()["access_token"])
        if client_id == CLIENT_ID:
            self._token = token  # later cloud calls use it
        return token

    async def onprem_oauth(self) -> str:
        response = await self.http.post(
            "/backend/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": ONPREM_CLIENT_ID,
                "client_secret": ONPREM_CLIENT_SECRET,
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def cssm(
        self, method: str, path: str, body: Any = None, *, token: str | None = None
    ) -> httpx.Response:
        if token is None:
            if self._token is None:
                self._token = await self.oauth()
            token = self._token
        return await self.http.request(
            method,
            path,
            content=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    async def cssm_ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.cssm(method, path, body)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        assert payload["status"] == "SUCCESS", payload
        return payload

    async def issue_token(self, *, tokens: str = TOKENS, **fields: Any) -> str:
        body = {"description": "test", "expiresAfterDays": 30, "exportControlled": "Allowed"}
        body.update(fields)
        payload = await self.cssm_ok("POST", tokens, body)
        return str(payload["tokenInfo"]["token"])

    async def cluster(
        self,
        uuid: str,
        method: str,
        suffix: str = "",
        body: Any = None,
        *,
        secret: str | None = None,
        now: datetime = WALL,
    ) -> httpx.Response:
        cluster = self.sim.world.clusters[uuid]
        path = f"/clusters/{uuid}/openapi/v1/licensing{suffix}"
        content = json.dumps(body).encode() if body is not None else b""
        headers = signed_headers(
            cluster.api_key,
            secret or cluster.api_secret,
            method=method,
            path=path,
            body=content,
            now=now,
        )
        return await self.http.request(method, path, content=content, headers=headers)

    async def cluster_ok(
        self, uuid: str, method: str, suffix: str = "", body: Any = None
    ) -> dict[str, Any]:
        response = await self.cluster(uuid, method, suffix, body)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload

    async def register(
        self, uuid: str = EAST, *, transport: str = CLOUD_TRANSPORT, token: str | None = None
    ) -> dict[str, Any]:
        token = token or await self.issue_token()
        return await self.cluster_ok(
            uuid, "POST", "/registration", {"token": token, "transportUrl": transport}
        )

    async def license_rows(self, path: str = LICENSES, va: str = VA) -> dict[str, dict[str, Any]]:
        payload = await self.cssm_ok("POST", path, {"virtualAccounts": [va]})
        return {row["license"]: row for row in payload["licenses"]}
