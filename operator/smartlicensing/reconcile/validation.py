"""The spec rules the API server's CEL checks enforce, checked again by the operator.

Not every cluster evaluates ``x-kubernetes-validations`` (older API servers, test doubles,
objects stored before the CRD gained a rule), so a spec that breaks a rule must still end in a
``Stalled`` condition with reason ``InvalidSpec`` and a message that says what to change, never
in a crash or a retry loop. Each rule here mirrors one CEL rule in ``smartlicensing.api``; a
test runs both against the same table of specs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from smartlicensing.api.meta import ClusterDriver, DriverType
from smartlicensing.api.registration import SmartLicenseRegistrationSpec
from smartlicensing.api.reservation import LicenseReservationSpec, ReservationType
from smartlicensing.api.smartaccount import ServerType, SmartAccountSpec

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a spec: where (a camelCase path) and what to change."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def describe(problems: list[Problem]) -> str:
    """All problems as one condition message."""
    return "; ".join(str(problem) for problem in problems)


def parse_spec(model: type[SpecT], raw: Mapping[str, Any]) -> tuple[SpecT | None, list[Problem]]:
    """Parse a spec and check its cross-field rules; the model, or None and the problems.

    Messages name the field and the rule, never the value given: a value typed into the wrong
    field could be a secret.
    """
    try:
        spec = model.model_validate(raw)
    except ValidationError as error:
        return None, [
            Problem(_path(entry["loc"]), entry["msg"])
            for entry in error.errors(include_input=False, include_url=False)
        ]
    problems = validate(spec)
    return (spec, []) if not problems else (None, problems)


def validate(spec: BaseModel) -> list[Problem]:
    """The rules of any kind's spec that a schema alone cannot express."""
    if isinstance(spec, SmartAccountSpec):
        return validate_smart_account(spec)
    if isinstance(spec, SmartLicenseRegistrationSpec):
        return validate_registration(spec)
    if isinstance(spec, LicenseReservationSpec):
        return validate_reservation(spec)
    raise TypeError(f"no rules for {type(spec).__name__}")


def validate_smart_account(spec: SmartAccountSpec) -> list[Problem]:
    """SmartAccount: an OnPrem server needs its url."""
    if spec.server.type is ServerType.ON_PREM and spec.server.url is None:
        return [
            Problem(
                "spec.server.url",
                "server type OnPrem needs url, the address of the On-Prem manager "
                "(e.g. https://ssm.example.internal:8443)",
            )
        ]
    return []


def validate_registration(spec: SmartLicenseRegistrationSpec) -> list[Problem]:
    """SmartLicenseRegistration: driver fields match the driver; exactly one token source."""
    problems = _driver_problems(spec.cluster.driver, "spec.cluster.driver")
    if (spec.token.issue is None) == (spec.token.secret_ref is None):
        problems.append(
            Problem(
                "spec.token",
                "give exactly one of issue (the operator issues a token at CSSM) and secretRef "
                "(a Secret that holds the token)",
            )
        )
    return problems


def validate_reservation(spec: LicenseReservationSpec) -> list[Problem]:
    """LicenseReservation: counts for Specific only, at least one; manual codes need Manual."""
    problems = _driver_problems(spec.cluster.driver, "spec.cluster.driver")
    counts = spec.licenses
    if spec.type is ReservationType.SPECIFIC:
        wanted = (
            0 if counts is None else (counts.workload_protection or 0),
            0 if counts is None else (counts.endpoint_visibility or 0),
        )
        if not any(wanted):
            problems.append(
                Problem(
                    "spec.licenses",
                    "type Specific needs licenses with workloadProtection or endpointVisibility "
                    "above 0",
                )
            )
    elif counts is not None:
        problems.append(Problem("spec.licenses", "type PLR reserves everything; remove licenses"))
    if spec.manual is not None and spec.cluster.driver.type is not DriverType.MANUAL:
        problems.append(
            Problem(
                "spec.manual",
                "manual codes are only for the Manual driver; remove manual or set "
                "cluster.driver.type to Manual",
            )
        )
    return problems


def _driver_problems(driver: ClusterDriver, path: str) -> list[Problem]:
    fields = (("url", driver.url), ("credentialsSecretRef", driver.credentials_secret_ref))
    if driver.type is DriverType.API:
        missing = [name for name, value in fields if value is None]
        if missing:
            return [
                Problem(
                    path,
                    f"driver type Api needs {' and '.join(missing)}: the cluster's API address "
                    "and a Secret with keys api_key and api_secret",
                )
            ]
        return []
    given = [name for name, value in fields if value is not None]
    if given:
        return [
            Problem(
                path,
                f"driver type Manual takes no {' or '.join(given)}; remove it or use type Api",
            )
        ]
    return []


def _path(location: tuple[int | str, ...]) -> str:
    parts = ["spec"]
    for item in location:
        if isinstance(item, int):
            parts[-1] += f"[{item}]"
        else:
            parts.append(item)
    return ".".join(parts)
