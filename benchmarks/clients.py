"""Figures for the clients: per-call overhead, paging, the shared rate limit, redaction cost.

Run with ``make bench-clients``. Prints figures; asserts nothing about time. Everything runs
against in-process transports, so the numbers are the client's own cost, not the network's.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from smartlicensing.cssm import CallPolicy, ClientCredentials, CSSMClient, CSSMEndpoint, RateLimits
from smartlicensing.observability.metrics import Metrics
from smartlicensing.observability.redaction import SecretRegistry, redact
from smartlicensing.product import signing
from smartlicensing.product.api_driver import ApiCredentials, ApiDriver

UUID = "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b"
SECRET = "s" * 40
LICENSE_ROWS = 10_000


def cssm_answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/token"):
        return httpx.Response(200, json={"access_token": "a" * 40, "expires_in": 3599})
    if request.url.path.endswith("/licenses"):
        body = json.loads(request.content)
        rows = range(body["offset"], min(body["offset"] + body["limit"], LICENSE_ROWS))
        licenses = [{"license": f"L{n}", "quantity": 5, "inUse": 1} for n in rows]
        return httpx.Response(200, json={"totalRecords": LICENSE_ROWS, "licenses": licenses})
    return httpx.Response(200, json={"status": "SUCCESS", "tokens": []})


def cssm_client(rate: float = 1e6) -> CSSMClient:
    endpoint = CSSMEndpoint.cloud(api_url="https://swapi.test", token_url="https://id.test/token")
    return CSSMClient(
        endpoint,
        ClientCredentials("id", SecretStr("bench-secret")),
        domain="acme.example.com",
        virtual_account="East",
        policy=CallPolicy(),
        limiter=RateLimits(rate).for_endpoint(endpoint),
        metrics=Metrics(CollectorRegistry()),
        transport=httpx.MockTransport(cssm_answer),
    )


def cluster_answer(request: httpx.Request) -> httpx.Response:
    assert signing.verify(
        SECRET,
        method=request.method,
        path=request.url.raw_path.decode(),
        body=request.content,
        headers=request.headers,
    )
    status: dict[str, Any] = {
        "cluster": {"uuid": UUID},
        "registration": {"state": "Registered"},
        "authorization": {"state": "Authorized"},
    }
    return httpx.Response(200, json=status)


async def per_call(calls: int, concurrency: int) -> float:
    async with cssm_client() as client:
        await client.list_tokens()
        semaphore = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with semaphore:
                await client.list_tokens()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(calls)))
        return time.perf_counter() - started


async def main() -> None:
    for concurrency in (1, 50):
        elapsed = await per_call(2000, concurrency)
        print(
            f"cssm list_tokens, concurrency {concurrency:>2}: {2000 / elapsed:8.0f} calls/s, "
            f"{elapsed / 2000 * 1e6:6.0f} us per call"
        )

    async with cssm_client() as client:
        started = time.perf_counter()
        licenses = await client.licenses()
        elapsed = time.perf_counter() - started
    print(f"cssm licenses: {len(licenses)} rows in 10 pages in {elapsed * 1000:.0f} ms")

    rate, calls = 20.0, 60
    async with cssm_client(rate) as client:
        await client.list_tokens()
        await asyncio.sleep(1.1)  # let the bucket refill after the token fetch
        started = time.perf_counter()
        await asyncio.gather(*(client.list_tokens() for _ in range(calls)))
        elapsed = time.perf_counter() - started
    print(
        f"shared rate limit {rate:.0f}/s: {calls} concurrent calls took {elapsed:.2f} s "
        f"(ideal {(calls - rate) / rate:.2f} s after a full bucket), "
        f"{calls / elapsed:.1f} calls/s"
    )

    driver = ApiDriver(
        "https://sim.test",
        ApiCredentials("k", SecretStr(SECRET)),
        cluster_uuid=UUID,
        transport=httpx.MockTransport(cluster_answer),
        metrics=Metrics(CollectorRegistry()),
    )
    started = time.perf_counter()
    for _ in range(1000):
        await driver.status()
    elapsed = time.perf_counter() - started
    await driver.aclose()
    print(f"api driver status (signed, verified): {elapsed / 1000 * 1e6:.0f} us per call")

    registry = SecretRegistry()
    registry.register(*(f"registered-secret-{n:04d}" for n in range(1000)))
    line = (
        "CSSM create_token POST accounts/acme/virtual-accounts/East/tokens: success in "
        "0.120s for SmartLicenseRegistration licensing/csw-east"
    )
    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        redact(line, registry=registry)
    elapsed = time.perf_counter() - started
    print(
        f"redaction of a log line with 1000 registered secrets: "
        f"{elapsed / rounds * 1e6:.1f} us per line"
    )


if __name__ == "__main__":
    asyncio.run(main())
