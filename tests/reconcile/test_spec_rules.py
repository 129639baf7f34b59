"""The reconciler's own spec checks: messages that say what to fix, never the value given."""

from __future__ import annotations

from typing import Any

import pytest

from smartlicensing.api.registration import SmartLicenseRegistrationSpec
from smartlicensing.api.reservation import LicenseReservationSpec
from smartlicensing.api.smartaccount import SmartAccountSpec
from smartlicensing.reconcile.validation import Problem, describe, parse_spec, validate

API_DRIVER = {"type": "Api", "url": "https://csw.test", "credentialsSecretRef": {"name": "api"}}
UUID = "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b"


def registration(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accountRef": {"name": "acme"},
        "cluster": {"uuid": UUID, "driver": dict(API_DRIVER)},
        "token": {"issue": {}},
    }
    spec.update(changes)
    return spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            registration(token={}),
            [
                Problem(
                    "spec.token",
                    "give exactly one of issue (the operator issues a token at CSSM) and "
                    "secretRef (a Secret that holds the token)",
                )
            ],
            id="no-token-source",
        ),
        pytest.param(
            registration(cluster={"uuid": UUID, "driver": {"type": "Api"}}),
            [
                Problem(
                    "spec.cluster.driver",
                    "driver type Api needs url and credentialsSecretRef: the cluster's API "
                    "address and a Secret with keys api_key and api_secret",
                )
            ],
            id="api-driver-bare",
        ),
        pytest.param(
            registration(cluster={"uuid": UUID, "driver": {**API_DRIVER, "type": "Manual"}}),
            [
                Problem(
                    "spec.cluster.driver",
                    "driver type Manual takes no url or credentialsSecretRef; remove it or use "
                    "type Api",
                )
            ],
            id="manual-driver-with-api-fields",
        ),
    ],
)
def test_registration_problems_say_what_to_change(
    spec: dict[str, Any], expected: list[Problem]
) -> None:
    parsed, problems = parse_spec(SmartLicenseRegistrationSpec, spec)

    assert parsed is None
    assert problems == expected


def test_schema_errors_become_problems_without_the_value() -> None:
    secretish = "s3cr3t-token-value"
    spec = registration(cluster={"uuid": secretish, "driver": API_DRIVER})

    parsed, problems = parse_spec(SmartLicenseRegistrationSpec, spec)

    assert parsed is None
    assert [p.field for p in problems] == ["spec.cluster.uuid"]
    assert secretish not in describe(problems)


def test_list_positions_appear_in_paths() -> None:
    spec = registration(accountRef=[{"name": "x"}])

    _, problems = parse_spec(SmartLicenseRegistrationSpec, spec)

    assert problems[0].field == "spec.accountRef"


def test_valid_spec_parses_with_no_problems() -> None:
    parsed, problems = parse_spec(SmartLicenseRegistrationSpec, registration())

    assert problems == []
    assert parsed is not None
    assert parsed.cluster.uuid == UUID


def test_onprem_without_url_names_the_field() -> None:
    spec = SmartAccountSpec.model_validate(
        {
            "server": {"type": "OnPrem"},
            "smartAccount": "acme.example.com",
            "virtualAccount": "East",
            "credentialsSecretRef": {"name": "c"},
        }
    )

    assert [p.field for p in validate(spec)] == ["spec.server.url"]


def test_reservation_collects_every_problem() -> None:
    spec = LicenseReservationSpec.model_validate(
        {
            "accountRef": {"name": "acme"},
            "cluster": {"uuid": UUID, "driver": {"type": "Api"}},
            "type": "PLR",
            "licenses": {"workloadProtection": 3},
            "manual": {"installed": True},
        }
    )

    assert [p.field for p in validate(spec)] == [
        "spec.cluster.driver",
        "spec.licenses",
        "spec.manual",
    ]
    assert "; spec.licenses: type PLR reserves everything" in describe(validate(spec))


def test_validate_refuses_models_it_has_no_rules_for() -> None:
    with pytest.raises(TypeError, match="no rules for Problem"):
        validate(Problem("a", "b"))  # type: ignore[arg-type]
