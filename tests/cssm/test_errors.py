"""Error mapping, secrets kept out of errors and logs, metrics, and TLS trust."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Coroutine
from typing import Any

import certifi
import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from smartlicensing.cssm import (
    AccountNotFound,
    CABundleInvalid,
    ClientCredentials,
    CredentialsRejected,
    CSSMClient,
    CSSMEndpoint,
    CSSMError,
    CSSMRequestInvalid,
    CSSMUnavailable,
    ReservationRejected,
    TokenRejected,
    UnexpectedAnswer,
    VirtualAccountNotFound,
)
from smartlicensing.cssm.client import tls_context
from smartlicensing.cssm.models import LicenseRequest, ReservationType
from smartlicensing.observability.metrics import Metrics

from .fake_cssm import CLIENT_SECRET, FakeCSSM, make_client, ok, va_path

TOKENS = va_path("tokens")
RESERVE = va_path("reserve-licenses")


def error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"status": "ERROR", "statusMessage": message})


@pytest.mark.parametrize(
    ("method", "path", "answer", "expected"),
    [
        pytest.param(
            "GET",
            TOKENS,
            httpx.Response(403, json={"error": "Invalid Client"}),
            CredentialsRejected,
            id="403-no-api-access",
        ),
        pytest.param(
            "GET",
            TOKENS,
            error(404, "Virtual account not found"),
            VirtualAccountNotFound,
            id="404-virtual-account",
        ),
        pytest.param(
            "GET", TOKENS, error(404, "Smart Account not found"), AccountNotFound, id="404-account"
        ),
        pytest.param("GET", TOKENS, error(400, "bad request"), CSSMRequestInvalid, id="400"),
        pytest.param(
            "POST",
            TOKENS,
            error(400, "expiresAfterDays out of range"),
            TokenRejected,
            id="400-on-create-token",
        ),
        pytest.param("POST", TOKENS, ok(), UnexpectedAnswer, id="create-without-tokenInfo"),
        pytest.param(
            "POST",
            RESERVE,
            ok(status="ERROR", statusMessage="Insufficient licenses"),
            ReservationRejected,
            id="reserve-status-error",
        ),
        pytest.param(
            "GET", TOKENS, httpx.Response(200, text="<html>"), UnexpectedAnswer, id="not-json"
        ),
        pytest.param(
            "GET",
            TOKENS,
            ok(tokens=[{"description": "no token field"}]),
            UnexpectedAnswer,
            id="missing-field",
        ),
    ],
)
async def test_answers_map_to_typed_errors(
    method: str, path: str, answer: httpx.Response, expected: type[CSSMError]
) -> None:
    fake = FakeCSSM()
    fake.route(method, path, answer)
    async with make_client(fake) as client:
        call: Coroutine[Any, Any, object]
        if path == RESERVE:
            call = client.reserve_licenses("CB-ZCSW:X-1-2", ReservationType.SPECIFIC, [])
        elif method == "POST":
            call = client.create_token("d", 30)
        else:
            call = client.list_tokens()
        with pytest.raises(expected) as raised:
            await call

    assert type(raised.value) is expected
    assert raised.value.reason == expected.reason
    assert raised.value.operation in str(raised.value)


@pytest.mark.parametrize(
    ("days", "description"),
    [
        pytest.param(0, "d", id="zero-days"),
        pytest.param(366, "d", id="too-many-days"),
        pytest.param(30, "x" * 101, id="description-too-long"),
        pytest.param(30, "", id="empty"),
    ],
)
async def test_invalid_token_parameters_are_refused_before_calling(
    days: int, description: str
) -> None:
    fake = FakeCSSM()
    async with make_client(fake) as client:
        with pytest.raises(TokenRejected):
            await client.create_token(description, days)
    assert fake.requests == []


CANARIES = {
    "client": CLIENT_SECRET,
    "token": "canary-registration-token-77",
    "xml": "<specificPLR><authorizationCode>canary-auth</authorizationCode></specificPLR>",
}


async def test_secrets_never_reach_error_text_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeCSSM()
    echo = (
        f"rejected client_secret={CANARIES['client']} token {CANARIES['token']} "
        f"{CANARIES['xml']} Bearer access-0001-canary"
    )
    fake.route("POST", va_path("tokens/revoke"), error(400, echo))
    fake.route("POST", RESERVE, ok(status="ERROR", statusMessage=echo))
    fake.route("GET", TOKENS, httpx.Response(503, text=echo))
    raised: list[CSSMError] = []
    async with make_client(fake) as client:
        for call in (
            client.revoke_tokens([CANARIES["token"]]),
            client.reserve_licenses(
                "CB-ZCSW:X-1-2",
                ReservationType.SPECIFIC,
                [LicenseRequest(entitlement_tag="t", quantity=1)],
            ),
            client.list_tokens(),
        ):
            with pytest.raises(CSSMError) as caught:
                await call
            raised.append(caught.value)

    assert isinstance(raised[-1], CSSMUnavailable)
    texts = [str(e) for e in raised] + [repr(e) for e in raised] + [caplog.text]
    for text in texts:
        for name, canary in CANARIES.items():
            assert canary not in text, f"{name} leaked into: {text}"
        assert "access-0001-canary" not in text


async def test_calls_are_counted_by_operation_and_outcome() -> None:
    fake = FakeCSSM()
    fake.route("GET", TOKENS, ok(tokens=[]))
    fake.route("POST", TOKENS, error(400, "no"))
    metrics = Metrics(CollectorRegistry())
    async with make_client(fake, metrics=metrics) as client:
        await client.list_tokens()
        await client.list_tokens()
        with pytest.raises(TokenRejected):
            await client.create_token("d", 30)

    def count(operation: str, outcome: str) -> float | None:
        return metrics.registry.get_sample_value(
            "smartlicensing_cssm_calls_total", {"operation": operation, "outcome": outcome}
        )

    assert count("list_tokens", "success") == 2
    assert count("create_token", "TokenRejected") == 1
    assert count("oauth_token", "success") == 1
    assert (
        metrics.registry.get_sample_value(
            "smartlicensing_cssm_call_duration_seconds_count", {"operation": "list_tokens"}
        )
        == 2
    )


def first_certificate() -> str:
    with open(certifi.where()) as bundle:
        text = bundle.read()
    end = "-----END CERTIFICATE-----"
    return text[text.index("-----BEGIN CERTIFICATE-----") : text.index(end) + len(end)]


def test_ca_bundle_replaces_the_system_trust() -> None:
    context = tls_context(first_certificate())
    assert len(context.get_ca_certs()) == 1
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_invalid_ca_bundle_is_a_clear_error() -> None:
    with pytest.raises(CABundleInvalid, match="caBundleSecretRef"):
        tls_context("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")


def test_client_refuses_to_start_with_an_invalid_ca_bundle() -> None:
    endpoint = CSSMEndpoint.on_prem("https://ssm.test:8443", ca_bundle="garbage")
    with pytest.raises(CABundleInvalid):
        CSSMClient(
            endpoint, ClientCredentials("id", SecretStr("s" * 10)), domain="d", virtual_account="v"
        )


def test_credentials_and_endpoint_reprs_hide_secrets() -> None:
    credentials = ClientCredentials("id", SecretStr(CLIENT_SECRET))
    endpoint = CSSMEndpoint.on_prem("https://ssm.test", ca_bundle=first_certificate())
    assert CLIENT_SECRET not in repr(credentials)
    assert "BEGIN CERTIFICATE" not in repr(endpoint)


def test_default_trust_is_the_public_ca_bundle() -> None:
    assert len(tls_context(None).get_ca_certs()) > 100


def test_clients_with_one_ca_bundle_share_one_tls_context() -> None:
    assert tls_context(first_certificate()) is tls_context(first_certificate())
    assert tls_context(None) is tls_context(None)
    assert tls_context(None) is not tls_context(first_certificate())


@pytest.mark.parametrize(
    ("on_prem", "named"),
    [
        pytest.param(False, "CSSM list_tokens", id="cloud"),
        pytest.param(True, "On-Prem ", id="onprem"),
    ],
)
async def test_errors_name_the_server_they_came_from(on_prem: bool, named: str) -> None:
    fake = FakeCSSM(on_prem=on_prem)  # no route for the token list: the server answers 404
    async with make_client(fake) as client:
        with pytest.raises(CSSMError) as raised:
            await client.list_tokens()

    assert str(raised.value).startswith(named)
    if on_prem:
        assert str(raised.value).startswith("On-Prem ssm.test:8443 list_tokens")
