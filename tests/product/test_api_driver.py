"""The api driver: signed requests, status parsing, error mapping, retries and code handling."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import certifi
import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from smartlicensing.observability.metrics import Metrics
from smartlicensing.product import (
    AuthorizationState,
    ClusterRole,
    Observer,
    RegistrationState,
    ReservationKind,
    SecretInput,
    SecretKeyRef,
)
from smartlicensing.product.api_driver import (
    ApiCredentials,
    ApiDriver,
    DriverPolicy,
    _shown,
    tls_context,
)
from smartlicensing.product.errors import (
    AlreadyRegistered,
    ClusterCABundleInvalid,
    ClusterCredentialsRejected,
    ClusterMismatch,
    ClusterRequestInvalid,
    ClusterUnreachable,
    InvalidAuthorizationCode,
    InvalidToken,
    NoReservationInProgress,
    NotRegistered,
    ProductError,
    RegisteredConnected,
    ReservationActive,
    ReservationAlreadyInstalled,
    ReservationMismatch,
    TokenExhausted,
    TokenExpired,
    TokenRefused,
    TokenRevoked,
    TransportUnreachable,
    UnexpectedClusterAnswer,
    UnsupportedVersion,
)
from smartlicensing.transport import AiohttpTransport

from .fake_cluster import (
    API_KEY,
    API_SECRET,
    BASE,
    UUID,
    FakeCluster,
    failure,
    registered,
    status_body,
)

TOKEN = SecretInput(SecretStr("canary-registration-token-31"), SecretKeyRef("ns", "t", "token"))
TRANSPORT = "https://smartreceiver.cisco.com/licservice/license"
FAST = DriverPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0)


def driver(
    cluster: FakeCluster, *, secret: str = API_SECRET, metrics: Metrics | None = None
) -> ApiDriver:
    return ApiDriver(
        "https://sim.test/clusters/" + UUID,
        ApiCredentials(API_KEY, SecretStr(secret)),
        cluster_uuid=UUID,
        policy=FAST,
        metrics=metrics or Metrics(CollectorRegistry()),
        transport=httpx.MockTransport(cluster),
    )


async def test_status_is_signed_and_parsed() -> None:
    cluster = FakeCluster()
    cluster.answer(httpx.Response(200, json=registered()))
    status = await driver(cluster).status()

    request = cluster.requests[0]
    assert (request.method, request.url.path) == ("GET", BASE)
    assert "X-Tetration-Cksum" not in request.headers
    assert status.observed_by is Observer.CLUSTER
    assert status.registration is RegistrationState.REGISTERED
    assert status.authorization is AuthorizationState.AUTHORIZED
    assert status.role is ClusterRole.STANDALONE
    assert status.expires_at == datetime(2027, 12, 3, 10, tzinfo=UTC)
    assert status.usage[0].in_use == 120


async def test_evaluation_remaining_is_a_duration() -> None:
    status = await driver(FakeCluster()).status()
    assert status.evaluation_remaining == timedelta(days=90)


async def test_register_sends_token_transport_and_force_with_a_checksum() -> None:
    cluster = FakeCluster()
    cluster.answer(httpx.Response(200, json=registered()))
    result = await driver(cluster).register(TOKEN, TRANSPORT, force=True)

    assert cluster.requests[0].url.path == BASE + "/registration"
    assert "X-Tetration-Cksum" in cluster.requests[0].headers
    assert cluster.bodies[0] == {
        "token": "canary-registration-token-31",
        "transportUrl": TRANSPORT,
        "force": True,
    }
    assert result.awaiting_user is False
    assert result.status is not None
    assert result.status.registration is RegistrationState.REGISTERED


async def test_wrong_secret_is_rejected_by_the_cluster() -> None:
    with pytest.raises(ClusterCredentialsRejected):
        await driver(FakeCluster(), secret="y" * 40).status()


def test_invalid_ca_bundle_is_refused_up_front() -> None:
    with pytest.raises(ClusterCABundleInvalid):
        ApiDriver(
            "https://csw.test",
            ApiCredentials(API_KEY, SecretStr(API_SECRET)),
            cluster_uuid=UUID,
            ca_bundle="not a certificate",
        )


def test_secret_too_short_to_sign_is_refused_up_front() -> None:
    with pytest.raises(ClusterCredentialsRejected, match="at least 40 bytes"):
        driver(FakeCluster(), secret="short")


async def test_a_different_cluster_at_the_url_is_a_mismatch() -> None:
    cluster = FakeCluster(uuid="00000000-0000-0000-0000-000000000000")
    with pytest.raises(ClusterMismatch, match=r"spec\.cluster\.driver\.url"):
        await driver(cluster).status()


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        pytest.param(400, "BadRequest", ClusterRequestInvalid, id="BadRequest"),
        pytest.param(409, "AlreadyRegistered", AlreadyRegistered, id="AlreadyRegistered"),
        pytest.param(409, "ReservationActive", ReservationActive, id="ReservationActive"),
        pytest.param(409, "RegisteredConnected", RegisteredConnected, id="RegisteredConnected"),
        pytest.param(409, "NoReservationInProgress", NoReservationInProgress, id="NoReservation"),
        pytest.param(
            409, "ReservationAlreadyInstalled", ReservationAlreadyInstalled, id="AlreadyInstalled"
        ),
        pytest.param(409, "NotRegistered", NotRegistered, id="NotRegistered"),
        pytest.param(412, "UnsupportedVersion", UnsupportedVersion, id="UnsupportedVersion"),
        pytest.param(422, "InvalidToken", InvalidToken, id="InvalidToken"),
        pytest.param(422, "TokenExpired", TokenExpired, id="TokenExpired"),
        pytest.param(422, "TokenRevoked", TokenRevoked, id="TokenRevoked"),
        pytest.param(422, "TokenExhausted", TokenExhausted, id="TokenExhausted"),
        pytest.param(422, "ReservationMismatch", ReservationMismatch, id="ReservationMismatch"),
        pytest.param(422, "InvalidAuthorizationCode", InvalidAuthorizationCode, id="InvalidCode"),
        pytest.param(502, "TransportUnreachable", TransportUnreachable, id="TransportUnreachable"),
        pytest.param(418, "SomethingNew", ClusterRequestInvalid, id="unknown-code"),
    ],
)
async def test_contract_errors_map_to_types(
    status: int, code: str, expected: type[ProductError]
) -> None:
    cluster = FakeCluster()
    cluster.answer(failure(status, code, "explained"))
    with pytest.raises(expected) as raised:
        await driver(cluster).register(TOKEN, TRANSPORT)

    assert type(raised.value) is expected
    assert "explained" in str(raised.value)
    assert len(cluster.requests) == 1


def test_token_errors_share_a_base() -> None:
    assert all(
        issubclass(t, TokenRefused)
        for t in (InvalidToken, TokenExpired, TokenRevoked, TokenExhausted)
    )


async def test_status_retries_503_then_succeeds() -> None:
    cluster = FakeCluster()
    cluster.answer(failure(503, "Unavailable"), httpx.ReadTimeout("slow"))
    status = await driver(cluster).status()
    assert status.uuid == UUID
    assert len(cluster.requests) == 3


@pytest.mark.parametrize(
    ("problem", "requests", "unknown"),
    [
        pytest.param(failure(503, "Unavailable"), 1, True, id="503"),
        pytest.param(httpx.ReadTimeout("slow"), 1, True, id="timeout"),
        pytest.param(httpx.ConnectError("refused"), 3, False, id="never-sent"),
    ],
)
async def test_register_is_not_blindly_repeated(
    problem: httpx.Response | Exception, requests: int, unknown: bool
) -> None:
    cluster = FakeCluster()
    cluster.answer(*[problem] * 3)
    with pytest.raises(ClusterUnreachable) as raised:
        await driver(cluster).register(TOKEN, TRANSPORT)
    assert len(cluster.requests) == requests
    assert raised.value.outcome_unknown is unknown
    assert f"cluster {UUID} at https://sim.test/clusters/{UUID}: register failed" in str(
        raised.value
    )


async def test_install_update_returns_the_confirmation_code_masked() -> None:
    cluster = FakeCluster()
    cluster.answer(httpx.Response(200, json={**status_body(), "confirmationCode": "8f3a9c1d"}))
    code = SecretInput(SecretStr("<specificPLR>canary</specificPLR>"), SecretKeyRef("n", "a", "c"))
    result = await driver(cluster).install_authorization(code, update=True)

    assert cluster.bodies[0] == {"authorizationCode": "<specificPLR>canary</specificPLR>"}
    assert result.confirmation_code is not None
    assert result.confirmation_code.get_secret_value() == "8f3a9c1d"
    assert "8f3a9c1d" not in repr(result)


async def test_cancel_with_authorization_code_returns_the_return_code() -> None:
    cluster = FakeCluster()
    cluster.answer(httpx.Response(200, json={**status_body(), "returnCode": "Abcdef-ghijkm-n"}))
    code = SecretInput(SecretStr("<specificPLR>x</specificPLR>"), SecretKeyRef("n", "a", "c"))
    result = await driver(cluster).cancel_reservation(code)

    assert cluster.requests[0].method == "DELETE"
    assert "X-Tetration-Cksum" in cluster.requests[0].headers
    assert result.return_code is not None
    assert result.return_code.get_secret_value() == "Abcdef-ghijkm-n"


async def test_cancel_without_code_sends_no_body() -> None:
    cluster = FakeCluster()
    result = await driver(cluster).cancel_reservation(None)
    assert cluster.requests[0].content == b""
    assert result.return_code is None


async def test_return_without_a_return_code_is_an_unexpected_answer() -> None:
    cluster = FakeCluster()
    cluster.answer(httpx.Response(200, json=status_body()))
    with pytest.raises(UnexpectedClusterAnswer):
        await driver(cluster).return_reservation()


async def test_request_reservation_sends_the_type() -> None:
    cluster = FakeCluster()
    await driver(cluster).request_reservation(ReservationKind.PLR)
    assert cluster.bodies[0] == {"type": "PLR"}
    assert cluster.requests[0].url.path == BASE + "/reservation/request"


async def test_deregister_and_renew_paths() -> None:
    cluster = FakeCluster()
    d = driver(cluster)
    await d.deregister()
    await d.renew_authorization()
    assert [(r.method, r.url.path) for r in cluster.requests] == [
        ("DELETE", BASE + "/registration"),
        ("POST", BASE + "/authorization/renew"),
    ]


async def test_unreadable_status_is_an_unexpected_answer() -> None:
    cluster = FakeCluster()
    cluster.answer(httpx.Response(200, json={"cluster": {"uuid": UUID}}))
    with pytest.raises(UnexpectedClusterAnswer):
        await driver(cluster).status()


async def test_secrets_stay_out_of_errors() -> None:
    cluster = FakeCluster()
    echo = f"token canary-registration-token-31 secret {API_SECRET}"
    cluster.answer(failure(422, "InvalidToken", echo))
    with pytest.raises(InvalidToken) as raised:
        await driver(cluster).register(TOKEN, TRANSPORT)
    assert "canary-registration-token-31" not in str(raised.value)
    assert API_SECRET not in str(raised.value)


async def test_calls_are_counted() -> None:
    metrics = Metrics(CollectorRegistry())
    cluster = FakeCluster()
    cluster.answer(failure(409, "AlreadyRegistered"))
    d = driver(cluster, metrics=metrics)
    with pytest.raises(AlreadyRegistered):
        await d.register(TOKEN, TRANSPORT)
    await d.status()
    sample = metrics.registry.get_sample_value
    assert (
        sample(
            "smartlicensing_product_calls_total",
            {"operation": "register", "outcome": "AlreadyRegistered"},
        )
        == 1
    )
    assert (
        sample("smartlicensing_product_calls_total", {"operation": "status", "outcome": "success"})
        == 1
    )


def _certificates(count: int) -> list[str]:
    """The first ``count`` certificates of certifi's bundle, each as PEM text of its own."""
    end = "-----END CERTIFICATE-----"
    text = Path(certifi.where()).read_text()
    found: list[str] = []
    at = 0
    while len(found) < count:
        start = text.index("-----BEGIN CERTIFICATE-----", at)
        at = text.index(end, start) + len(end)
        found.append(text[start:at])
    return found


def test_drivers_with_one_ca_bundle_share_one_tls_context() -> None:
    bundle, _ = _certificates(2)
    assert tls_context(bundle) is tls_context(bundle)
    assert tls_context(None) is tls_context(None)


def test_each_ca_bundle_has_a_tls_context_trusting_only_it() -> None:
    first, second = _certificates(2)
    one, other = tls_context(first), tls_context(second)
    assert one is not other
    (trusted_by_one,), (trusted_by_other,) = one.get_ca_certs(), other.get_ca_certs()
    assert trusted_by_one["subject"] != trusted_by_other["subject"]
    assert one.verify_mode == ssl.CERT_REQUIRED
    assert one.check_hostname is True


def test_an_invalid_ca_bundle_is_refused_every_time() -> None:
    for _ in range(2):
        with pytest.raises(ClusterCABundleInvalid):
            tls_context("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")


async def test_a_driver_uses_the_shared_context_of_its_ca_bundle() -> None:
    bundle, _ = _certificates(2)
    built = ApiDriver(
        "https://csw.test",
        ApiCredentials(API_KEY, SecretStr(API_SECRET)),
        cluster_uuid=UUID,
        ca_bundle=bundle,
    )
    transport = built._http._transport
    assert isinstance(transport, AiohttpTransport)
    assert transport.ssl_context is tls_context(bundle)
    await built.aclose()


@pytest.mark.parametrize("expiry", [pytest.param(1.0, id="default"), pytest.param(0.25, id="set")])
async def test_idle_connections_are_dropped_before_a_server_would_close_them(
    expiry: float,
) -> None:
    policy = DriverPolicy() if expiry == 1.0 else DriverPolicy(keepalive_expiry=expiry)
    built = ApiDriver(
        "https://csw.test",
        ApiCredentials(API_KEY, SecretStr(API_SECRET)),
        cluster_uuid=UUID,
        policy=policy,
    )
    transport = built._http._transport
    assert isinstance(transport, AiohttpTransport)
    assert transport.keepalive == expiry
    await built.aclose()


def test_a_failure_shows_the_cluster_url_without_its_user_info() -> None:
    assert _shown("https://admin:pw@csw.example.com:8443/proxy/") == (
        "https://csw.example.com:8443/proxy"
    )
    assert _shown("https://[fd00::1]/") == "https://[fd00::1]"
