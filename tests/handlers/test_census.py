"""The census indexes: where each object is filed, and the gauges' counts read from them."""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from smartlicensing.handlers import census


def status(state: str | None = None, ready: str | None = None, **extra: Any) -> kopf.Status:
    raw: dict[str, Any] = dict(extra)
    if state is not None:
        raw["registration"] = {"state": state}
    if ready is not None:
        raw["conditions"] = [
            {"type": "Registered", "status": "True"},
            {"type": "Ready", "status": ready},
        ]
    return kopf.Status(kopf.Body({"status": raw}))


@pytest.mark.parametrize(
    ("observed", "filed"),
    [
        pytest.param(status("Registered", "True"), ("Registered", "True"), id="registered"),
        pytest.param(status("AwaitingUser", "False"), ("AwaitingUser", "False"), id="awaiting"),
        pytest.param(status(), ("Unknown", "Unknown"), id="no-status-yet"),
        pytest.param(status("Registered"), ("Registered", "Unknown"), id="no-ready-condition"),
        pytest.param(status("Sideways", "Maybe"), ("Unknown", "Unknown"), id="odd-values"),
        pytest.param(
            status(registration="not-an-object", conditions="not-a-list"),
            ("Unknown", "Unknown"),
            id="odd-shapes",
        ),
    ],
)
async def test_a_registration_is_filed_under_its_state_and_ready_status(
    observed: kopf.Status, filed: tuple[str, str]
) -> None:
    assert await census.registration_census(status=observed) == {filed: True}


async def test_an_account_is_filed_under_its_ready_status() -> None:
    assert await census.account_census(status=status(ready="False")) == {"False": True}
    assert await census.account_census(status=status()) == {"Unknown": True}


def test_counts_add_up_per_state_and_per_kind_with_zeros_written_out() -> None:
    registrations = {
        ("Registered", "True"): ["a", "b"],
        ("Registered", "False"): ["c"],
        ("AwaitingUser", "False"): ["d"],
    }
    accounts = {"True": ["acme"]}

    counted = census.counts(registrations, accounts)

    assert counted.registrations["Registered"] == 3
    assert counted.registrations["AwaitingUser"] == 1
    assert counted.registrations["NotRegistered"] == 0
    assert counted.registrations["Unknown"] == 0
    assert counted.ready == {
        ("SmartAccount", "True"): 1,
        ("SmartAccount", "False"): 0,
        ("SmartAccount", "Unknown"): 0,
        ("SmartLicenseRegistration", "True"): 2,
        ("SmartLicenseRegistration", "False"): 2,
        ("SmartLicenseRegistration", "Unknown"): 0,
    }
