"""Compliance from the license table, naming each over-used license with its counts."""

from __future__ import annotations

import pytest

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import ConditionStatus
from smartlicensing.api.registration import LicenseUsage
from smartlicensing.api.smartaccount import License, LicenseStatus
from smartlicensing.reconcile.compliance import Compliance, assess_account, assess_cluster

WP = "Tetration Workload Protection"
EV = "Tetration Endpoint Visibility"


def line(name: str, quantity: int, in_use: int, status: LicenseStatus | None = None) -> License:
    if status is None:
        status = (
            LicenseStatus.OUT_OF_COMPLIANCE if in_use > quantity else LicenseStatus.IN_COMPLIANCE
        )
    return License(
        name=name,
        quantity=quantity,
        in_use=in_use,
        available=max(0, quantity - in_use),
        status=status,
    )


@pytest.mark.parametrize(
    ("licenses", "expected"),
    [
        pytest.param(
            [line(WP, 500, 420), line(EV, 200, 230)],
            Compliance(ConditionStatus.FALSE, c.OVER_UTILIZED, f"{EV}: 230 in use, 200 entitled"),
            id="sketch-example",
        ),
        pytest.param(
            [line(WP, 100, 101), line(EV, 10, 11)],
            Compliance(
                ConditionStatus.FALSE,
                c.OVER_UTILIZED,
                f"{WP}: 101 in use, 100 entitled; {EV}: 11 in use, 10 entitled",
            ),
            id="both-over",
        ),
        pytest.param(
            [line(WP, 500, 500), line(EV, 200, 0)],
            Compliance(ConditionStatus.TRUE, c.IN_COMPLIANCE, "all 2 licenses in use are covered"),
            id="exactly-at-entitlement",
        ),
        pytest.param(
            [line(WP, 500, 10, LicenseStatus.OUT_OF_COMPLIANCE)],
            Compliance(ConditionStatus.FALSE, c.OVER_UTILIZED, f"{WP}: 10 in use, 500 entitled"),
            id="cssm-label-trusted",
        ),
        pytest.param(
            [line(WP, 100, 150, LicenseStatus.IN_COMPLIANCE)],
            Compliance(ConditionStatus.FALSE, c.OVER_UTILIZED, f"{WP}: 150 in use, 100 entitled"),
            id="counts-trusted-over-stale-label",
        ),
        pytest.param(
            [],
            Compliance(
                ConditionStatus.UNKNOWN,
                c.NO_LICENSE_DATA,
                "the license table has not been read yet",
            ),
            id="no-table",
        ),
    ],
)
def test_account_compliance(licenses: list[License], expected: Compliance) -> None:
    assert assess_account(licenses) == expected


@pytest.mark.parametrize(
    ("usage", "status", "message"),
    [
        pytest.param(
            [LicenseUsage(license=WP, in_use=120)],
            ConditionStatus.TRUE,
            "every license this cluster uses is covered",
            id="uses-covered-license",
        ),
        pytest.param(
            [LicenseUsage(license=WP, in_use=120), LicenseUsage(license=EV, in_use=3)],
            ConditionStatus.FALSE,
            f"{EV}: 230 in use, 200 entitled",
            id="uses-over-used-license",
        ),
        pytest.param(
            [LicenseUsage(license=EV, in_use=0)],
            ConditionStatus.TRUE,
            "every license this cluster uses is covered",
            id="zero-usage-does-not-count",
        ),
        pytest.param(
            [LicenseUsage(license="Tetration SaaS", in_use=5)],
            ConditionStatus.FALSE,
            "Tetration SaaS: in use, none entitled",
            id="license-not-in-account",
        ),
    ],
)
def test_cluster_compliance(
    usage: list[LicenseUsage], status: ConditionStatus, message: str
) -> None:
    table = [line(WP, 500, 420), line(EV, 200, 230)]

    result = assess_cluster(usage, table)

    assert (result.status, result.message) == (status, message)


def test_cluster_compliance_unknown_without_a_table() -> None:
    result = assess_cluster([LicenseUsage(license=WP, in_use=1)], [])

    assert (result.status, result.reason) == (ConditionStatus.UNKNOWN, c.NO_LICENSE_DATA)
