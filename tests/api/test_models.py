"""The spec and status models: sketch examples parse, camelCase round-trips, bounds hold."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from smartlicensing.api.meta import ConditionStatus, DriverType
from smartlicensing.api.registration import (
    ClusterRole,
    ExportControl,
    RegistrationDeletionPolicy,
    SmartLicenseRegistrationSpec,
    SmartLicenseRegistrationStatus,
)
from smartlicensing.api.reservation import LicenseReservationSpec, LicenseReservationStatus
from smartlicensing.api.smartaccount import (
    CLOUD_API_URL,
    CLOUD_TOKEN_URL,
    LicenseStatus,
    Server,
    ServerType,
    SmartAccountSpec,
    SmartAccountStatus,
)

EXAMPLES = Path(__file__).parent / "examples"
MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "SmartAccount": (SmartAccountSpec, SmartAccountStatus),
    "SmartLicenseRegistration": (SmartLicenseRegistrationSpec, SmartLicenseRegistrationStatus),
    "LicenseReservation": (LicenseReservationSpec, LicenseReservationStatus),
}


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return document


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_every_example_parses_and_round_trips_in_camel_case(name: str) -> None:
    document = load(name)
    spec_model, status_model = MODELS[document["kind"]]

    spec = spec_model.model_validate(document["spec"])
    again = spec_model.model_validate(spec.model_dump(mode="json", exclude_none=True))

    assert again == spec
    for key in document["spec"]:
        assert key in spec.model_dump(mode="json"), f"{key} did not survive a dump"
    if "status" in document:
        status = status_model.model_validate(document["status"])
        assert status.model_dump(mode="json", exclude_none=True).keys() >= {
            k for k, v in document["status"].items() if v is not None
        }


def test_registration_example_reads_as_python_attributes() -> None:
    spec = SmartLicenseRegistrationSpec.model_validate(load("registration.yaml")["spec"])

    assert spec.cluster.role is ClusterRole.STANDALONE
    assert spec.cluster.driver.type is DriverType.API
    assert spec.cluster.driver.credentials_secret_ref is not None
    assert spec.cluster.driver.credentials_secret_ref.name == "csw-east-api"
    assert spec.token.issue is not None
    assert spec.token.issue.export_controlled is ExportControl.ALLOWED
    assert spec.deletion_policy is RegistrationDeletionPolicy.DEREGISTER


def test_defaults_fill_what_the_manual_example_leaves_out() -> None:
    spec = SmartLicenseRegistrationSpec.model_validate(load("registration-manual.yaml")["spec"])

    assert spec.cluster.role is ClusterRole.STANDALONE
    assert spec.sync_interval == "24h"
    assert spec.force_register is False
    assert spec.suspend is False
    assert spec.token.secret_ref is not None
    assert spec.token.secret_ref.key == "token"
    assert spec.transport_url == "https://ssm.example.internal/SmartTransport"
    dumped = spec.model_dump(mode="json")
    assert "transportURL" in dumped
    assert "tokenURL" in Server(type=ServerType.CLOUD).model_dump(mode="json")


def test_status_enums_and_conditions_are_typed() -> None:
    status = SmartAccountStatus.model_validate(load("smartaccount.yaml")["status"])

    assert [line.status for line in status.licenses] == [
        LicenseStatus.IN_COMPLIANCE,
        LicenseStatus.OUT_OF_COMPLIANCE,
    ]
    assert status.conditions[1].status is ConditionStatus.FALSE
    assert status.conditions[1].reason == "OverUtilized"


def test_status_ignores_fields_a_newer_operator_wrote() -> None:
    status = SmartAccountStatus.model_validate({"futureField": 1, "failedAttempts": 2})

    assert status.failed_attempts == 2


def _set(document: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    *parents, leaf = path.split(".")
    node = changed
    for part in parents:
        node = node[part]
    node[leaf] = value
    return changed


REGISTRATION = load("registration.yaml")["spec"]
ACCOUNT = load("smartaccount.yaml")["spec"]


@pytest.mark.parametrize(
    ("model", "spec", "field"),
    [
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "cluster.uuid", "5F0C2A8E-3C1D-4E0B-9A57-6B1E2F3D4C5B"),
            "uuid",
            id="uppercase-uuid",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "cluster.uuid", "5f0c2a8e3c1d4e0b9a576b1e2f3d4c5b"),
            "uuid",
            id="uuid-without-dashes",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "cluster.driver.url", "csw-east.example.internal"),
            "url",
            id="url-without-scheme",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "token.issue", {"expiresAfterDays": 0}),
            "expiresAfterDays",
            id="expiry-zero-days",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "token.issue", {"expiresAfterDays": 366}),
            "expiresAfterDays",
            id="expiry-over-a-year",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "token.issue", {"description": "x" * 101}),
            "description",
            id="description-too-long",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "cluster.role", "standalone"),
            "role",
            id="enum-is-pascal-case",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "syncInterval", "30s"),
            "syncInterval",
            id="interval-under-a-minute",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "syncInterval", "1d"),
            "syncInterval",
            id="interval-not-a-duration",
        ),
        pytest.param(
            SmartLicenseRegistrationSpec,
            _set(REGISTRATION, "forceRegistr", True),
            "forceRegistr",
            id="misspelt-field",
        ),
        pytest.param(
            SmartAccountSpec,
            _set(ACCOUNT, "credentialsSecretRef", {"name": "Not_A_Name"}),
            "name",
            id="secret-name-not-dns",
        ),
    ],
)
def test_invalid_fields_are_refused_naming_the_field(
    model: type[BaseModel], spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(spec)

    locations = [entry["loc"] for entry in caught.value.errors()]
    assert any(field in location for location in locations), locations


@pytest.mark.parametrize(
    ("server", "api", "token"),
    [
        pytest.param({"type": "Cloud"}, CLOUD_API_URL, CLOUD_TOKEN_URL, id="cloud-defaults"),
        pytest.param(
            {"type": "Cloud", "url": "https://swapi.example.test/"},
            "https://swapi.example.test",
            CLOUD_TOKEN_URL,
            id="cloud-api-override",
        ),
        pytest.param(
            {"type": "OnPrem", "url": "https://ssm.example.internal:8443"},
            "https://ssm.example.internal:8443",
            "https://ssm.example.internal:8443/backend/oauth/token",
            id="onprem-derives-token-url",
        ),
        pytest.param(
            {
                "type": "OnPrem",
                "url": "https://ssm.example.internal",
                "tokenURL": "https://sso.example.internal/token",
            },
            "https://ssm.example.internal",
            "https://sso.example.internal/token",
            id="onprem-token-override",
        ),
    ],
)
def test_server_endpoints_apply_defaults(server: dict[str, str], api: str, token: str) -> None:
    parsed = Server.model_validate(server)

    assert parsed.api_url() == api
    assert parsed.token_endpoint() == token


def test_onprem_without_url_has_no_endpoint() -> None:
    with pytest.raises(ValueError, match="OnPrem needs url"):
        Server(type=ServerType.ON_PREM).api_url()
