"""A SmartAccount's status from its sync: Ready, license table, Compliant, schedule, failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smartlicensing.api import conditions as c
from smartlicensing.api.smartaccount import (
    License,
    LicenseStatus,
    SmartAccountSpec,
    SmartAccountStatus,
)
from smartlicensing.reconcile import account
from smartlicensing.reconcile.attempts import Failure
from smartlicensing.reconcile.conditions import find

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
SPEC = SmartAccountSpec.model_validate(
    {
        "server": {"type": "Cloud"},
        "smartAccount": "acme.example.com",
        "virtualAccount": "Datacenter-East",
        "credentialsSecretRef": {"name": "cssm"},
    }
)
WORKLOAD = License(
    name="Tetration Workload Protection",
    quantity=500,
    in_use=420,
    available=80,
    status=LicenseStatus.IN_COMPLIANCE,
)
ENDPOINT_OVER = License(
    name="Tetration Endpoint Visibility",
    quantity=200,
    in_use=230,
    available=0,
    status=LicenseStatus.OUT_OF_COMPLIANCE,
)


def condition(status: SmartAccountStatus, kind: str) -> tuple[str, str, str]:
    found = find(status.conditions, kind)
    assert found is not None, f"no {kind} condition"
    return found.status.value, found.reason, found.message


class TestSynced:
    def test_in_compliance_is_ready_and_compliant_with_a_schedule(self) -> None:
        new = account.synced(
            SmartAccountStatus(), spec=SPEC, generation=3, licenses=[WORKLOAD], now=NOW, spread=0.0
        )

        assert condition(new, c.READY)[:2] == ("True", c.CONNECTED)
        assert condition(new, c.COMPLIANT)[:2] == ("True", c.IN_COMPLIANCE)
        assert condition(new, c.STALLED)[0] == "False"
        assert new.observed_generation == 3
        assert new.licenses == [WORKLOAD]
        assert new.last_sync_time == NOW
        assert new.next_sync_time == NOW + timedelta(hours=24)
        assert new.scheduled_sync_interval == "24h"

    def test_over_utilized_license_is_named_in_the_message(self) -> None:
        new = account.synced(
            SmartAccountStatus(),
            spec=SPEC,
            generation=1,
            licenses=[WORKLOAD, ENDPOINT_OVER],
            now=NOW,
            spread=0.0,
        )

        assert condition(new, c.COMPLIANT) == (
            "False",
            c.OVER_UTILIZED,
            "Tetration Endpoint Visibility: 230 in use, 200 entitled",
        )
        assert condition(new, c.READY)[0] == "True"

    def test_spread_pulls_the_first_sync_forward_within_the_window(self) -> None:
        new = account.synced(
            SmartAccountStatus(), spec=SPEC, generation=1, licenses=[], now=NOW, spread=0.5
        )

        assert new.next_sync_time == NOW + timedelta(hours=24) - timedelta(hours=6)

    def test_success_clears_the_failure_record(self) -> None:
        failing = SmartAccountStatus(
            failed_attempts=3, last_failure_time=NOW, next_attempt_time=NOW, stalled_inputs="x"
        )

        new = account.synced(failing, spec=SPEC, generation=1, licenses=[], now=NOW, spread=0.0)

        assert (new.failed_attempts, new.next_attempt_time, new.stalled_inputs) == (0, None, None)


class TestFailed:
    def synced_before(self) -> SmartAccountStatus:
        return account.synced(
            SmartAccountStatus(),
            spec=SPEC,
            generation=1,
            licenses=[WORKLOAD],
            now=NOW - timedelta(days=1),
            spread=0.0,
        )

    def test_transient_failure_keeps_the_license_table_and_schedules_a_retry(self) -> None:
        before = self.synced_before()

        new = account.failed(
            before,
            Failure(c.CSSM_UNAVAILABLE, "CSSM licenses failed: HTTP 503"),
            generation=1,
            now=NOW,
            jitter=0.0,
            fingerprint="f",
        )

        status, reason, message = condition(new, c.READY)
        assert (status, reason) == ("False", c.CSSM_UNAVAILABLE)
        assert message.startswith("CSSM licenses failed: HTTP 503; next attempt at ")
        assert condition(new, c.RECONCILING)[:2] == ("True", c.RETRYING)
        assert condition(new, c.COMPLIANT)[:2] == ("True", c.IN_COMPLIANCE)
        assert new.licenses == [WORKLOAD]
        assert new.failed_attempts == 1
        assert new.next_attempt_time == NOW + timedelta(seconds=30)

    def test_retry_after_longer_than_backoff_is_honoured(self) -> None:
        new = account.failed(
            SmartAccountStatus(),
            Failure(c.RATE_LIMITED, "rate limited", retry_after=timedelta(minutes=2)),
            generation=1,
            now=NOW,
            jitter=0.0,
            fingerprint="f",
        )

        assert new.next_attempt_time == NOW + timedelta(minutes=2)
        assert condition(new, c.COMPLIANT)[:2] == ("Unknown", c.NO_LICENSE_DATA)

    def test_permanent_failure_stalls_on_the_inputs_fingerprint(self) -> None:
        new = account.failed(
            self.synced_before(),
            Failure(c.CREDENTIALS_REJECTED, "CSSM refused the API client credentials"),
            generation=2,
            now=NOW,
            jitter=0.0,
            fingerprint="inputs-1",
        )

        assert condition(new, c.STALLED)[:2] == ("True", c.CREDENTIALS_REJECTED)
        assert condition(new, c.READY)[:2] == ("False", c.CREDENTIALS_REJECTED)
        assert condition(new, c.RECONCILING)[0] == "False"
        assert (new.stalled_inputs, new.next_attempt_time) == ("inputs-1", None)
        assert new.observed_generation == 2


class TestAccountView:
    def ready_status(self, generation: int) -> dict[str, object]:
        synced = account.synced(
            SmartAccountStatus(),
            spec=SPEC,
            generation=generation,
            licenses=[WORKLOAD],
            now=NOW,
            spread=0.0,
        )
        return synced.model_dump(mode="json", by_alias=True, exclude_none=True)

    def test_ready_for_the_current_generation(self) -> None:
        view = account.account_view(
            "ns", "acme", 4, SPEC.model_dump(by_alias=True), self.ready_status(4)
        )

        assert view.ready
        assert view.licenses == (WORKLOAD,)
        assert view.where == "acme.example.com/Datacenter-East"

    def test_an_edited_account_is_not_ready_until_checked_again(self) -> None:
        view = account.account_view(
            "ns", "acme", 5, SPEC.model_dump(by_alias=True), self.ready_status(4)
        )

        assert not view.ready
        assert view.reason == c.SYNCING

    @pytest.mark.parametrize(
        "spec",
        [
            pytest.param({}, id="empty"),
            pytest.param({"server": {"type": "Elsewhere"}}, id="bad-server"),
        ],
    )
    def test_invalid_spec_is_never_ready(self, spec: dict[str, object]) -> None:
        view = account.account_view("ns", "acme", 4, spec, self.ready_status(4))

        assert (view.ready, view.reason, view.spec) == (False, c.INVALID_SPEC, None)

    def test_unreadable_status_counts_as_not_checked(self) -> None:
        view = account.account_view(
            "ns", "acme", 1, SPEC.model_dump(by_alias=True), {"conditions": "garbage"}
        )

        assert (view.ready, view.reason) == (False, c.SYNCING)
