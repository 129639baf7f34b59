"""OAuth2 client credentials: both cloud token endpoints, On-Prem's JSON endpoint, and how
bearer tokens are refused (unknown, expired on the simulator clock, wrong server, no API access)."""

from __future__ import annotations

import httpx
import pytest

from sim.harness import (
    CLIENT_ID,
    CLIENT_SECRET,
    DOMAIN,
    ONPREM_API,
    ONPREM_CLIENT_ID,
    ONPREM_CLIENT_SECRET,
    ONPREM_DOMAIN,
    Driver,
)
from smartlicensing.testing.sim import Simulator

ACCOUNTS = "/services/api/smart-accounts-and-licensing/v2/accounts"


@pytest.mark.parametrize(
    "path", ["/oauth2/default/v1/token", "/as/token.oauth2"], ids=["new-apps", "legacy"]
)
async def test_cloud_token_endpoints_issue_bearer_tokens(drv: Driver, path: str) -> None:
    response = await drv.http.post(
        path,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 200
    payload = response.json()
    assert payload["token_type"] == "Bearer"
    assert payload["expires_in"] == 3599
    accounts = await drv.cssm("GET", ACCOUNTS, token=payload["access_token"])
    assert accounts.status_code == 200
    assert [a["accountDomain"] for a in accounts.json()["accounts"]] == [DOMAIN]


async def test_onprem_token_endpoint_takes_json(drv: Driver) -> None:
    response = await drv.http.post(
        "/backend/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": ONPREM_CLIENT_ID,
            "client_secret": ONPREM_CLIENT_SECRET,
        },
    )

    assert response.status_code == 200
    token = response.json()["access_token"]
    accounts = await drv.cssm("GET", f"{ONPREM_API}/accounts", token=token)
    assert [a["accountDomain"] for a in accounts.json()["accounts"]] == [ONPREM_DOMAIN]


async def test_onprem_server_is_also_reachable_under_its_own_prefix(drv: Driver) -> None:
    prefix = "/onprem/ssm.example.internal/backend"
    response = await drv.http.post(
        f"{prefix}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": ONPREM_CLIENT_ID,
            "client_secret": ONPREM_CLIENT_SECRET,
        },
    )

    token = response.json()["access_token"]
    accounts = await drv.cssm("GET", f"{prefix}/api/v1/accounts", token=token)
    assert accounts.json()["accounts"][0]["accountDomain"] == ONPREM_DOMAIN


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        (CLIENT_ID, "wrong-secret"),
        ("nobody", CLIENT_SECRET),
        (ONPREM_CLIENT_ID, ONPREM_CLIENT_SECRET),
    ],
    ids=["wrong-secret", "unknown-client", "client-of-another-server"],
)
async def test_bad_credentials_answer_401_invalid_client(
    drv: Driver, client_id: str, secret: str
) -> None:
    response = await drv.http.post(
        "/oauth2/default/v1/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert secret not in response.text


async def test_other_grant_types_are_refused(drv: Driver) -> None:
    response = await drv.http.post(
        "/as/token.oauth2", data={"grant_type": "password", "username": "u", "password": "p"}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_access_token_expires_after_3599_seconds_of_simulator_time(
    drv: Driver, sim: Simulator
) -> None:
    token = await drv.oauth()
    sim.clock.advance(seconds=3598)
    assert (await drv.cssm("GET", ACCOUNTS, token=token)).status_code == 200

    sim.clock.advance(seconds=1)
    response = await drv.cssm("GET", ACCOUNTS, token=token)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


@pytest.mark.parametrize(
    "header",
    [None, "Bearer not-a-token", "Basic Zm9vOmJhcg=="],
    ids=["no-header", "unknown-token", "not-bearer"],
)
async def test_calls_without_a_valid_bearer_token_answer_401(
    http: httpx.AsyncClient, header: str | None
) -> None:
    headers = {"Authorization": header} if header else {}

    response = await http.get(ACCOUNTS, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


async def test_cloud_token_is_not_valid_on_prem(drv: Driver) -> None:
    token = await drv.oauth()

    response = await drv.cssm("GET", f"{ONPREM_API}/accounts", token=token)

    assert response.status_code == 401


async def test_app_without_api_access_gets_a_token_but_403_on_calls(drv: Driver) -> None:
    token = await drv.oauth("acme-unsubscribed-client", "demo-only-secret-unsubscribed")

    response = await drv.cssm("GET", ACCOUNTS, token=token)

    assert response.status_code == 403
    assert response.json()["error"] == "Invalid Client"
