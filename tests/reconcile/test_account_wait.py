"""A registration waiting for its SmartAccount: due when the account is Ready, and when what
status says of the account is out of date (a pass that calls nobody), never otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smartlicensing.api import conditions as c
from smartlicensing.api.registration import (
    SmartLicenseRegistrationSpec,
    SmartLicenseRegistrationStatus,
)
from smartlicensing.api.smartaccount import SmartAccountSpec
from smartlicensing.reconcile import registration as r
from smartlicensing.reconcile.account import AccountView
from smartlicensing.reconcile.attempts import Due

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
ACCOUNT = SmartAccountSpec.model_validate(
    {
        "server": {"type": "Cloud"},
        "smartAccount": "acme.example.com",
        "virtualAccount": "Datacenter-East",
        "credentialsSecretRef": {"name": "cssm"},
    }
)
SPEC = SmartLicenseRegistrationSpec.model_validate(
    {
        "accountRef": {"name": "acme"},
        "cluster": {"uuid": "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b", "driver": {"type": "Manual"}},
        "token": {"issue": {"expiresAfterDays": 30}},
    }
)


def account(reason: str, message: str, *, ready: bool = False) -> AccountView:
    return AccountView("ns", "acme", 1, ready, reason, message, ACCOUNT)


def waiting_for(view: AccountView | None) -> SmartLicenseRegistrationStatus:
    block = r.blocker(SPEC, SmartLicenseRegistrationStatus(), view)
    assert block is not None
    return r.blocked(SmartLicenseRegistrationStatus(), block, generation=1, now=NOW)


UNCHECKED = account(c.SYNCING, "not checked yet")
DOWN = account(c.CSSM_UNAVAILABLE, "CSSM answered 503")


@pytest.mark.parametrize(
    ("before", "now", "want"),
    [
        pytest.param(UNCHECKED, UNCHECKED, None, id="same-state"),
        pytest.param(UNCHECKED, DOWN, Due.ACCOUNT_CHANGED, id="account-failed-since"),
        pytest.param(None, DOWN, Due.ACCOUNT_CHANGED, id="account-created-not-ready"),
        pytest.param(DOWN, None, Due.ACCOUNT_CHANGED, id="account-deleted"),
        pytest.param(None, None, None, id="still-missing"),
        pytest.param(DOWN, account(c.CONNECTED, "ok", ready=True), Due.ACCOUNT_READY, id="ready"),
    ],
)
def test_waiting_registration_is_due_when_its_account_changes(
    before: AccountView | None, now: AccountView | None, want: Due | None
) -> None:
    status = waiting_for(before)

    got = r.registration_due(SPEC, status, generation=1, now=NOW + timedelta(hours=1), account=now)

    assert got == want


def test_the_pass_it_earns_rewrites_the_message_and_then_rests() -> None:
    status = waiting_for(UNCHECKED)
    block = r.blocker(SPEC, status, DOWN)
    assert block is not None

    updated = r.blocked(status, block, generation=1, now=NOW)

    assert "(CSSMUnavailable: CSSM answered 503)" in block.message
    assert r.registration_due(SPEC, updated, generation=1, now=NOW, account=DOWN) is None
