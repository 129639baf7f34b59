"""The indexes: where each object is filed (census entry, cluster claim), and the gauges'
counts read from them."""

from __future__ import annotations

from typing import Any

import kopf
import pytest

from smartlicensing.handlers import census
from smartlicensing.handlers.registrations import ClaimedCluster, registration_index
from smartlicensing.reconcile.registration import ClusterClaim


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
    assert census.registration_census(observed) == {filed: True}


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


async def test_one_index_files_a_registration_under_its_census_entry_and_its_claim() -> None:
    body = kopf.Body(
        {
            "metadata": {
                "name": "edge",
                "namespace": "site-a",
                "uid": "uid-1",
                "creationTimestamp": "2026-01-02T03:04:05Z",
            },
            "spec": {"cluster": {"uuid": "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"}},
            "status": {"registration": {"state": "Registered"}},
        }
    )

    filed = await registration_index(
        namespace="site-a", name="edge", meta=body.meta, spec=body.spec, status=body.status
    )

    claim = filed[ClaimedCluster("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")]
    assert isinstance(claim, ClusterClaim)
    assert (claim.namespace, claim.name, claim.uid) == ("site-a", "edge", "uid-1")
    assert filed[("Registered", "Unknown")] is True
    assert len(filed) == 2


async def test_a_registration_without_a_cluster_uuid_is_only_counted() -> None:
    body = kopf.Body({"metadata": {"name": "odd", "uid": "uid-2"}, "spec": {"cluster": {}}})

    filed = await registration_index(
        namespace="site-a", name="odd", meta=body.meta, spec=body.spec, status=body.status
    )

    assert filed == {("Unknown", "Unknown"): True}


def test_counts_pass_over_the_claims_that_share_the_registrations_index() -> None:
    registrations: dict[object, list[object]] = {
        ("Registered", "True"): ["a"],
        ClaimedCluster("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"): ["claim of a"],
    }

    counted = census.counts(registrations, {})

    assert sum(counted.registrations.values()) == 1
    assert counted.ready[("SmartLicenseRegistration", "True")] == 1
