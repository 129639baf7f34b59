"""A scriptable stand-in for CSSM behind ``httpx.MockTransport``.

It answers the OAuth endpoints (cloud form, On-Prem JSON) and whatever data routes a test
registers; ``script`` queues one-off answers (faults) in front of a route. Every request is kept
so tests can count calls and inspect bodies.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from smartlicensing.cssm import CallPolicy, ClientCredentials, CSSMClient, CSSMEndpoint, RateLimits
from smartlicensing.observability.metrics import Metrics

CLIENT_ID = "operator-client"
CLIENT_SECRET = "canary-client-secret-5d1c"
DOMAIN = "acme.example.com"
VA = "Datacenter-East"
CLOUD_BASE = "/services/api/smart-accounts-and-licensing"
TOKEN_URL = "https://id.test/oauth2/default/v1/token"
ONPREM_URL = "https://ssm.test:8443"

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response] | Exception


def ok(**body: Any) -> httpx.Response:
    return httpx.Response(200, json={"status": "SUCCESS", "statusMessage": "", **body})


@dataclass
class FakeCSSM:
    on_prem: bool = False
    expires_in: int = 3599
    routes: dict[tuple[str, str], Answer] = field(default_factory=dict)
    scripted: dict[tuple[str, str], deque[Answer]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    requests: list[httpx.Request] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    token_answers: deque[httpx.Response] = field(default_factory=deque)

    def route(self, method: str, path: str, answer: Answer) -> None:
        self.routes[(method, path)] = answer

    def script(self, method: str, path: str, *answers: Answer) -> None:
        self.scripted[(method, path)].extend(answers)

    def data_requests(self, path: str | None = None) -> list[httpx.Request]:
        tokens = self.token_requests()
        return [
            r for r in self.requests if r not in tokens and (path is None or r.url.path == path)
        ]

    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(("/v1/token", "/oauth/token"))]

    def expire_all_tokens(self) -> None:
        self.valid.clear()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith(("/v1/token", "/oauth/token")):
            return self._token(request)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.valid:
            return httpx.Response(401, json={"error": "invalid_token"})
        key = (request.method, path)
        queue = self.scripted.get(key)
        answer = queue.popleft() if queue else self.routes.get(key)
        if answer is None:
            return httpx.Response(404, json={"status": "ERROR", "statusMessage": f"no {path}"})
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def _token(self, request: httpx.Request) -> httpx.Response:
        if self.token_answers:
            return self.token_answers.popleft()
        if self.on_prem:
            fields = json.loads(request.content)
        else:
            fields = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if fields.get("client_secret") != CLIENT_SECRET or fields.get("client_id") != CLIENT_ID:
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "bad"})
        token = f"access-{len(self.issued) + 1:04d}-canary"
        self.issued.append(token)
        self.valid.add(token)
        return httpx.Response(
            200, json={"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        )


@dataclass
class Clock:
    """Monotonic seconds a test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sleeps:
    """An injected sleep that records what it was asked to wait and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


FAST = CallPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0, page_size=2)


def make_client(
    fake: FakeCSSM,
    *,
    policy: CallPolicy = FAST,
    clock: Clock | None = None,
    sleeps: Sleeps | None = None,
    metrics: Metrics | None = None,
    rate_limits: RateLimits | None = None,
    client_secret: str = CLIENT_SECRET,
    transport: httpx.AsyncBaseTransport | None = None,
    **kwargs: Any,
) -> CSSMClient:
    endpoint = (
        CSSMEndpoint.on_prem(ONPREM_URL)
        if fake.on_prem
        else CSSMEndpoint.cloud(token_url=TOKEN_URL, api_url="https://swapi.test")
    )
    return CSSMClient(
        endpoint,
        ClientCredentials(CLIENT_ID, SecretStr(client_secret)),
        domain=DOMAIN,
        virtual_account=VA,
        policy=policy,
        transport=transport or httpx.MockTransport(fake),
        monotonic=clock or Clock(),
        sleep=sleeps or Sleeps(),
        metrics=metrics or Metrics(CollectorRegistry()),
        limiter=(rate_limits or RateLimits(1000)).for_endpoint(endpoint),
        **kwargs,
    )


def va_path(suffix: str, version: str = "v1") -> str:
    return f"{CLOUD_BASE}/{version}/accounts/{DOMAIN}/virtual-accounts/{VA}/{suffix}"
