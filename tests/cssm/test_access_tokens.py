"""The OAuth access token: cached, renewed before expiry, fetched once at a time, refetched
once on ``invalid_token``, and sent in the form each server expects."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import httpx
import pytest

from smartlicensing.cssm import CredentialsRejected, CSSMUnavailable

from .fake_cssm import CLIENT_ID, CLIENT_SECRET, DOMAIN, Clock, FakeCSSM, make_client, ok

ACCOUNTS = "/services/api/smart-accounts-and-licensing/v2/accounts"


def accounts_route(fake: FakeCSSM) -> None:
    fake.route("GET", ACCOUNTS, ok(accounts=[{"accountName": "Acme", "accountDomain": DOMAIN}]))


async def test_one_token_serves_many_calls() -> None:
    fake = FakeCSSM()
    accounts_route(fake)
    async with make_client(fake) as client:
        for _ in range(3):
            await client.accounts()

    assert len(fake.token_requests()) == 1
    sent = [r.headers["Authorization"] for r in fake.data_requests()]
    assert sent == ["Bearer access-0001-canary"] * 3


async def test_token_is_replaced_shortly_before_it_expires() -> None:
    fake = FakeCSSM(expires_in=3599)
    accounts_route(fake)
    clock = Clock()
    async with make_client(fake, clock=clock) as client:
        await client.accounts()
        clock.now += 3599 - 61  # still inside the 60 s margin
        await client.accounts()
        assert len(fake.token_requests()) == 1
        clock.now += 2  # now within 60 s of expiry
        await client.accounts()

    assert len(fake.token_requests()) == 2
    assert fake.data_requests()[-1].headers["Authorization"] == "Bearer access-0002-canary"


async def test_concurrent_calls_share_one_token_fetch() -> None:
    fake = FakeCSSM()
    accounts_route(fake)
    async with make_client(fake) as client:
        await asyncio.gather(*(client.accounts() for _ in range(10)))

    assert len(fake.token_requests()) == 1
    assert len(fake.data_requests()) == 10


async def test_invalid_token_fetches_a_new_one_and_repeats_once() -> None:
    fake = FakeCSSM()
    accounts_route(fake)
    async with make_client(fake) as client:
        await client.accounts()
        fake.expire_all_tokens()  # CSSM forgot the token before its expiry
        accounts = await client.accounts()

    assert [a.domain for a in accounts] == [DOMAIN]
    assert len(fake.token_requests()) == 2
    assert len(fake.data_requests()) == 3


@pytest.mark.looptime
async def test_a_fresh_token_refused_too_is_a_transient_failure_with_bounded_retries() -> None:
    fake = FakeCSSM()
    fake.route("GET", ACCOUNTS, httpx.Response(401, json={"error": "invalid_token"}))
    async with make_client(fake) as client:
        with pytest.raises(CSSMUnavailable, match="freshly issued access token") as raised:
            await client.accounts()

    attempts = client.policy.attempts
    assert not isinstance(raised.value, CredentialsRejected)
    assert len(fake.token_requests()) == 2 * attempts
    assert len(fake.data_requests()) == 2 * attempts


async def test_rejected_client_credentials_raise_without_retrying() -> None:
    fake = FakeCSSM()
    accounts_route(fake)
    async with make_client(fake, client_secret="wrong-secret-value") as client:
        with pytest.raises(CredentialsRejected, match="invalid_client") as raised:
            await client.accounts()

    assert len(fake.token_requests()) == 1
    assert fake.data_requests() == []
    assert "wrong-secret-value" not in str(raised.value)


async def test_cloud_token_request_is_a_form() -> None:
    fake = FakeCSSM()
    accounts_route(fake)
    async with make_client(fake) as client:
        await client.accounts()

    request = fake.token_requests()[0]
    assert str(request.url) == "https://id.test/oauth2/default/v1/token"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }


async def test_on_prem_token_request_is_json() -> None:
    fake = FakeCSSM(on_prem=True)
    fake.route("GET", "/backend/api/v1/accounts", ok(accounts=[]))
    async with make_client(fake) as client:
        await client.accounts()

    request = fake.token_requests()[0]
    assert str(request.url) == "https://ssm.test:8443/backend/oauth/token"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }


async def test_a_credentials_refusal_is_not_asked_again_by_every_waiting_call() -> None:
    fake = FakeCSSM()
    accounts_route(fake)
    clock = Clock()
    async with make_client(fake, client_secret="wrong-secret-value", clock=clock) as client:
        results = await asyncio.gather(
            *(client.accounts() for _ in range(10)), return_exceptions=True
        )
        assert all(isinstance(r, CredentialsRejected) for r in results)
        assert len(fake.token_requests()) == 1

        clock.now += 31  # after the hold, CSSM is asked again (the secret may have been fixed)
        with pytest.raises(CredentialsRejected):
            await client.accounts()

    assert len(fake.token_requests()) == 2
