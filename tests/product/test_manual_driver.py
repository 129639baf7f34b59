"""The manual driver: the exact UI instruction for each step, and status observed from CSSM."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from smartlicensing.cssm import ClientCredentials, CSSMClient, CSSMEndpoint
from smartlicensing.cssm.models import ProductInstance
from smartlicensing.observability.metrics import Metrics
from smartlicensing.product import (
    AuthorizationState,
    Observer,
    RegistrationMode,
    RegistrationState,
    ReservationKind,
    ReservationState,
    SecretInput,
    SecretKeyRef,
)
from smartlicensing.product.errors import ManualCodeSecretMissing
from smartlicensing.product.manual_driver import (
    InstanceDirectory,
    ManualCodeSecrets,
    ManualDriver,
    ObservedInstance,
)

UUID = "0b7d1e44-9f3a-4c2e-8d61-2a5c7e9f1b30"
TOKEN = SecretInput(SecretStr("canary-token-manual-1"), SecretKeyRef("licensing", "csw-t", "token"))
AUTH = SecretInput(
    SecretStr("<specificPLR>c</specificPLR>"),
    SecretKeyRef("licensing", "dark-site-1-authorization", "code"),
)
CODES = ManualCodeSecrets(
    request_code=SecretKeyRef("licensing", "dark-site-1-codes", "request"),
    confirmation_code=SecretKeyRef("licensing", "dark-site-1-codes", "confirmation"),
    return_code=SecretKeyRef("licensing", "dark-site-1-codes", "return"),
)


@dataclass
class Directory:
    instance: ProductInstance | None = None
    asked: list[str] | None = None

    async def find_product_instance(self, cluster_uuid: str) -> ObservedInstance | None:
        self.asked = [*(self.asked or []), cluster_uuid]
        return self.instance


def manual(
    instance: ProductInstance | None = None,
    mode: RegistrationMode = RegistrationMode.CONNECTED,
    codes: ManualCodeSecrets = CODES,
) -> ManualDriver:
    return ManualDriver(cluster_uuid=UUID, instances=Directory(instance), mode=mode, codes=codes)


@pytest.mark.parametrize(
    ("mode", "force", "expected"),
    [
        pytest.param(
            RegistrationMode.CONNECTED,
            False,
            "In Secure Workload, open Manage > Service Settings > Licenses, click Register, on "
            "the Smart Licenses tab enter the token from Secret licensing/csw-t key token, click "
            "Register.",
            id="cloud",
        ),
        pytest.param(
            RegistrationMode.ON_PREM,
            True,
            "In Secure Workload, open Manage > Service Settings > Licenses, click Register, on "
            "the Smart Licenses tab enter the token from Secret licensing/csw-t key token, enter "
            "Smart Transport Registration URL https://ssm.test/SmartTransport, enable Force "
            "Register, click Register.",
            id="on-prem-forced",
        ),
    ],
)
async def test_register_instruction(mode: RegistrationMode, force: bool, expected: str) -> None:
    result = await manual(mode=mode).register(TOKEN, "https://ssm.test/SmartTransport", force=force)
    assert result.awaiting_user
    assert result.instruction == expected
    assert result.status is None


async def test_instructions_never_carry_secret_values() -> None:
    driver = manual()
    results = [
        await driver.register(TOKEN, "u", force=True),
        await driver.install_authorization(AUTH),
        await driver.install_authorization(AUTH, update=True),
        await driver.cancel_reservation(AUTH),
    ]
    for result in results:
        assert result.instruction is not None
        assert "canary-token-manual-1" not in result.instruction
        assert "specificPLR" not in result.instruction


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        pytest.param(
            "deregister",
            "on the License Usage Information page, click Deregister, click Yes to confirm.",
            id="deregister",
        ),
        pytest.param(
            "renew",
            "on the License Usage Information page, click Renew Operations > Renew Authorization.",
            id="renew",
        ),
        pytest.param(
            "request",
            "open Manage > Service Settings > Licenses, click Register, "
            "select the License Reservation tab (PLR) and click Yes to confirm, copy the "
            "generated request code into Secret licensing/dark-site-1-codes key "
            "request.",
            id="request-plr",
        ),
        pytest.param(
            "install",
            "click Continue Reservation, enter the authorization code from "
            "Secret licensing/dark-site-1-authorization key code and click Install, then "
            "set spec.manual.installed: true.",
            id="install",
        ),
        pytest.param(
            "update",
            "click Update Reservation, enter the authorization code from "
            "Secret licensing/dark-site-1-authorization key code, click Generate "
            "Confirmation Code, copy the confirmation code into Secret "
            "licensing/dark-site-1-codes key confirmation (it cannot be recovered "
            "later), click Next, then Finish.",
            id="update",
        ),
        pytest.param(
            "cancel-with-code",
            "click Cancel Reservation, enter the authorization code "
            "from Secret licensing/dark-site-1-authorization key code, copy the return "
            "code into Secret licensing/dark-site-1-codes key return (it cannot be "
            "recovered later).",
            id="cancel-with-code",
        ),
        pytest.param(
            "cancel",
            "click Cancel Reservation, choose the I do not have a license in CSSM tab and confirm.",
            id="cancel-without-code",
        ),
        pytest.param(
            "return",
            "click Deregister, click Generate return code, copy the return "
            "code into Secret licensing/dark-site-1-codes key return (it cannot be "
            "recovered later), click Next, then Finish.",
            id="return",
        ),
    ],
)
async def test_step_instructions(step: str, expected: str) -> None:
    driver = manual()
    result = {
        "deregister": driver.deregister,
        "renew": driver.renew_authorization,
        "request": lambda: driver.request_reservation(ReservationKind.PLR),
        "install": lambda: driver.install_authorization(AUTH),
        "update": lambda: driver.install_authorization(AUTH, update=True),
        "cancel-with-code": lambda: driver.cancel_reservation(AUTH),
        "cancel": lambda: driver.cancel_reservation(None),
        "return": driver.return_reservation,
    }[step]
    instruction = (await result()).instruction
    assert instruction is not None
    assert instruction.endswith(expected)
    assert instruction.startswith("In Secure Workload, ")


async def test_a_step_needing_a_code_secret_says_which_field_is_missing() -> None:
    with pytest.raises(ManualCodeSecretMissing, match=r"spec\.manual\.returnCodeSecretRef"):
        await manual(codes=ManualCodeSecrets()).return_reservation()


async def test_status_without_instance_is_unregistered() -> None:
    status = await manual().status()
    assert status.observed_by is Observer.CSSM
    assert status.registration is RegistrationState.UNREGISTERED
    assert status.authorization is None


async def test_status_with_instance_is_registered_in_the_configured_mode() -> None:
    seen = datetime(2026, 12, 3, 10, tzinfo=UTC)
    instance = ProductInstance.model_validate({"sudi": {"uuid": UUID}, "lastContactDate": seen})
    status = await manual(instance, mode=RegistrationMode.ON_PREM).status()
    assert status.registration is RegistrationState.REGISTERED
    assert status.mode is RegistrationMode.ON_PREM
    assert status.last_sync == seen
    assert status.authorization is None


@pytest.mark.parametrize(
    ("reservation", "kind"),
    [
        pytest.param("SPECIFIC", ReservationKind.SPECIFIC, id="specific"),
        pytest.param("PLR", ReservationKind.PLR, id="plr"),
    ],
)
async def test_status_with_reserved_instance(reservation: str, kind: ReservationKind) -> None:
    instance = ProductInstance.model_validate(
        {"sudi": {"uuid": UUID}, "licenseReservation": reservation}
    )
    status = await manual(instance).status()
    assert status.mode is RegistrationMode.RESERVATION
    assert status.authorization is AuthorizationState.AUTHORIZED_RESERVATION
    assert status.reservation.state is ReservationState.INSTALLED
    assert status.reservation.kind is kind


def cssm_answer(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/token"):
        return httpx.Response(200, json={"access_token": "a" * 20, "expires_in": 3599})
    devices = [{"sudi": {"uuid": "other"}}, {"sudi": {"uuid": UUID}, "licenseReservation": None}]
    return httpx.Response(200, json={"status": "SUCCESS", "totalRecords": 2, "devices": devices})


async def test_status_through_the_cssm_client() -> None:
    client = CSSMClient(
        CSSMEndpoint.cloud(api_url="https://swapi.test", token_url="https://id.test/token"),
        ClientCredentials("id", SecretStr("client-secret-1")),
        domain="acme.example.com",
        virtual_account="East",
        transport=httpx.MockTransport(cssm_answer),
        metrics=Metrics(CollectorRegistry()),
    )
    async with client:
        directory: InstanceDirectory = client  # the handlers pass the SmartAccount's client in
        status = await ManualDriver(cluster_uuid=UUID, instances=directory).status()

    assert status.registration is RegistrationState.REGISTERED
    assert status.mode is RegistrationMode.CONNECTED
