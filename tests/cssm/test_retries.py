"""Retries: transient failures of safe calls are retried with backoff; calls that create are
not repeated once they may have reached CSSM; 429 waits ``Retry-After`` or gives up."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import httpx
import pytest

from smartlicensing.cssm import CallPolicy, CSSMUnavailable, RateLimited, RateLimits
from smartlicensing.cssm.client import parse_retry_after

from .fake_cssm import FAST, FakeCSSM, Sleeps, make_client, ok, va_path

TOKENS = va_path("tokens")
TOKEN_INFO = {"token": "canary-token-value-1", "description": "d", "exportControlled": "Allowed"}


def unavailable() -> httpx.Response:
    return httpx.Response(503, text="down for maintenance")


async def test_503_then_success_is_retried_transparently() -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, ok(tokens=[]))
    fake.script("GET", TOKENS, unavailable(), unavailable())
    async with make_client(fake) as client:
        assert await client.list_tokens() == []

    assert len(fake.data_requests(TOKENS)) == 3


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(unavailable(), id="503"),
        pytest.param(httpx.ReadTimeout("slow"), id="read-timeout"),
        pytest.param(httpx.RemoteProtocolError("reset"), id="connection-reset"),
    ],
)
async def test_persistent_failure_becomes_unavailable_after_the_attempts(
    failure: httpx.Response | Exception,
) -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, failure)
    async with make_client(fake) as client:
        with pytest.raises(CSSMUnavailable) as raised:
            await client.list_tokens()

    assert len(fake.data_requests(TOKENS)) == FAST.attempts
    assert raised.value.outcome_unknown is False


@pytest.mark.looptime
async def test_backoff_waits_grow_between_attempts() -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, unavailable())
    moments: list[float] = []
    loop = asyncio.get_running_loop()

    def answer(request: httpx.Request) -> httpx.Response:
        moments.append(loop.time())
        return unavailable()

    fake.route("GET", TOKENS, answer)
    policy = CallPolicy(attempts=4, wait_initial=1.0, wait_max=60.0, wait_jitter=0.0)
    async with make_client(fake, policy=policy) as client:
        with pytest.raises(CSSMUnavailable):
            await client.list_tokens()

    gaps = [round(b - a, 1) for a, b in itertools.pairwise(moments)]
    assert gaps == [1.0, 2.0, 4.0]


@pytest.mark.parametrize(
    ("failure", "requests", "unknown"),
    [
        pytest.param(unavailable(), 1, True, id="503-may-have-committed"),
        pytest.param(httpx.ReadTimeout("slow"), 1, True, id="timeout-may-have-committed"),
        pytest.param(httpx.ConnectError("refused"), FAST.attempts, False, id="never-sent"),
    ],
)
async def test_creating_post_is_not_blindly_retried(
    failure: httpx.Response | Exception, requests: int, unknown: bool
) -> None:
    fake = FakeCSSM()
    fake.route("POST", TOKENS, failure)
    async with make_client(fake) as client:
        with pytest.raises(CSSMUnavailable) as raised:
            await client.create_token("slr/licensing/csw-east", 30)

    assert len(fake.data_requests(TOKENS)) == requests
    assert raised.value.outcome_unknown is unknown
    assert ("look the outcome up" in str(raised.value)) is unknown


async def test_unknown_outcome_is_resolved_by_finding_the_token_by_description() -> None:
    fake = FakeCSSM()
    fake.script("POST", TOKENS, unavailable())
    listed = {**TOKEN_INFO, "description": "slr/licensing/csw-east", "status": "ACTIVE"}
    fake.route("GET", TOKENS, ok(tokens=[{**listed, "description": "other"}, listed]))
    async with make_client(fake) as client:
        with pytest.raises(CSSMUnavailable):
            await client.create_token("slr/licensing/csw-east", 30)
        found = await client.find_token("slr/licensing/csw-east")

    assert found is not None
    assert found.value.get_secret_value() == "canary-token-value-1"


async def test_retry_after_seconds_is_waited_then_the_call_repeats() -> None:
    fake = FakeCSSM()
    fake.route("POST", TOKENS, ok(tokenInfo=TOKEN_INFO))
    fake.script("POST", TOKENS, httpx.Response(429, headers={"Retry-After": "7"}))
    sleeps = Sleeps()
    async with make_client(fake, sleeps=sleeps) as client:
        token = await client.create_token("d", 30)

    assert sleeps.delays == [7.0]
    assert len(fake.data_requests(TOKENS)) == 2  # a 429 did no work, so even a create repeats
    assert token.value.get_secret_value() == "canary-token-value-1"


async def test_retry_after_http_date_is_measured_from_now() -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, ok(tokens=[]))
    fake.script(
        "GET", TOKENS, httpx.Response(429, headers={"Retry-After": "Thu, 03 Dec 2026 10:00:12 GMT"})
    )
    sleeps = Sleeps()
    now = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    async with make_client(fake, sleeps=sleeps, now=lambda: now) as client:
        await client.list_tokens()

    assert sleeps.delays == [12.0]


async def test_long_retry_after_gives_up_with_rate_limited() -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, httpx.Response(429, headers={"Retry-After": "600"}))
    sleeps = Sleeps()
    async with make_client(fake, sleeps=sleeps) as client:
        with pytest.raises(RateLimited) as raised:
            await client.list_tokens()

    assert raised.value.retry_after == 600.0
    assert sleeps.delays == []
    assert len(fake.data_requests(TOKENS)) == 1


async def test_repeated_429s_give_up_after_the_allowed_waits() -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, httpx.Response(429, headers={"Retry-After": "2"}))
    sleeps = Sleeps()
    async with make_client(fake, sleeps=sleeps) as client:
        with pytest.raises(RateLimited):
            await client.list_tokens()

    assert sleeps.delays == [2.0] * FAST.max_rate_limited_waits


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("30", 30.0, id="seconds"),
        pytest.param("1.5", 1.5, id="fraction"),
        pytest.param("Thu, 03 Dec 2026 10:01:00 GMT", 60.0, id="http-date"),
        pytest.param("Thu, 03 Dec 2026 09:00:00 GMT", 0.0, id="date-in-the-past"),
        pytest.param("soon", None, id="unreadable"),
        pytest.param("inf", None, id="infinite"),
        pytest.param("nan", None, id="not-a-number"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after(header, now) == expected


@pytest.mark.looptime
async def test_rate_limit_is_shared_by_every_client_of_a_host() -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, ok(tokens=[]))
    limits = RateLimits(requests_per_second=2)
    loop = asyncio.get_running_loop()
    moments: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        moments.append(loop.time())
        return ok(tokens=[])

    fake.route("GET", TOKENS, answer)
    first = make_client(fake, rate_limits=limits)
    second = make_client(fake, rate_limits=limits)
    async with first, second:
        await asyncio.gather(*(c.list_tokens() for c in (first, second) for _ in range(5)))

    # 10 calls and 2 token fetches at 2 per second: the last call cannot start before ~5 s.
    assert len(moments) == 10
    assert max(moments) >= 4.5
    per_second = [sum(1 for m in moments if s <= m < s + 1) for s in range(int(max(moments)) + 1)]
    assert max(per_second) <= 2 + 1  # the bucket admits one burst at start


async def test_requests_on_the_wire_stay_within_max_in_flight() -> None:
    """A burst of calls from one client never has more than ``max_in_flight`` requests out."""
    fake = FakeCSSM()
    in_flight, peak = 0, 0
    release, three_out = asyncio.Event(), asyncio.Event()

    async def transport(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        if request.url.path.endswith("/v1/token"):
            return await fake(request)
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == 3:
            three_out.set()
        await release.wait()
        in_flight -= 1
        return await fake(request)

    fake.route("GET", TOKENS, ok(tokens=[]))
    policy = CallPolicy(attempts=1, wait_initial=0.0, wait_jitter=0.0, max_in_flight=3)
    client = make_client(
        fake,
        policy=policy,
        rate_limits=RateLimits(requests_per_second=1000),
        transport=httpx.MockTransport(transport),
    )
    async with client:
        calls = asyncio.gather(*(client.list_tokens() for _ in range(12)))
        await asyncio.wait_for(three_out.wait(), 5)
        for _ in range(20):  # the rest stay queued however long the first three take
            await asyncio.sleep(0)
        assert in_flight == 3
        release.set()
        assert await calls == [[]] * 12

    assert peak == 3
    assert len(fake.data_requests(TOKENS)) == 12


def test_max_in_flight_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        make_client(FakeCSSM(), policy=CallPolicy(max_in_flight=0))
