"""A registration's decisions: what stops a pass, the next step, and what status says."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from smartlicensing.api import conditions as c
from smartlicensing.api.registration import (
    AuthorizationState,
    LicenseUsage,
    SmartLicenseRegistrationSpec,
    SmartLicenseRegistrationStatus,
    TokenStatus,
)
from smartlicensing.api.smartaccount import License, LicenseStatus, SmartAccountSpec
from smartlicensing.reconcile import registration as r
from smartlicensing.reconcile.account import AccountView
from smartlicensing.reconcile.attempts import Due, Failure
from smartlicensing.reconcile.conditions import find

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
UUID = "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b"
CLOUD = SmartAccountSpec.model_validate(
    {
        "server": {"type": "Cloud", "url": "http://127.0.0.1:9999"},
        "smartAccount": "acme.example.com",
        "virtualAccount": "Datacenter-East",
        "credentialsSecretRef": {"name": "cssm"},
    }
)
ON_PREM = CLOUD.model_copy(
    update={
        "server": CLOUD.server.model_copy(update={"type": "OnPrem", "url": "https://ssm:8443/"})
    }
)
LICENSES = (
    License(
        name="Tetration Workload Protection",
        quantity=500,
        in_use=120,
        available=380,
        status=LicenseStatus.IN_COMPLIANCE,
    ),
    License(
        name="Tetration Endpoint Visibility",
        quantity=10,
        in_use=40,
        available=0,
        status=LicenseStatus.OUT_OF_COMPLIANCE,
    ),
)


def spec(**overrides: Any) -> SmartLicenseRegistrationSpec:
    cluster = {
        "uuid": UUID,
        "role": overrides.pop("role", "Standalone"),
        "driver": overrides.pop(
            "driver",
            {"type": "Api", "url": "http://sim/clusters/x", "credentialsSecretRef": {"name": "k"}},
        ),
    }
    raw = {
        "accountRef": {"name": "acme"},
        "cluster": cluster,
        "token": {"issue": {}},
        **overrides,
    }
    return SmartLicenseRegistrationSpec.model_validate(raw)


def view(ready: bool = True, licenses: tuple[License, ...] = ()) -> AccountView:
    return AccountView(
        namespace="ns",
        name="acme",
        generation=1,
        ready=ready,
        reason=c.CONNECTED if ready else c.CREDENTIALS_REJECTED,
        message="ok" if ready else "refused",
        spec=CLOUD,
        licenses=licenses,
    )


def observation(**fields: Any) -> r.ClusterObservation:
    base: dict[str, Any] = {"by_cluster": True, "registered": False, "version": "3.9.1.1"}
    return r.ClusterObservation(**{**base, **fields})


REGISTERED_HERE = observation(
    registered=True,
    smart_account="acme.example.com",
    virtual_account="Datacenter-East",
    mode="Connected",
    authorization=AuthorizationState.AUTHORIZED,
    usage=(LicenseUsage(license="Tetration Workload Protection", in_use=120),),
)
REGISTERED_ELSEWHERE = observation(
    registered=True, smart_account="other.example.com", virtual_account="Default"
)


def condition(status: SmartLicenseRegistrationStatus, kind: str) -> tuple[str, str, str]:
    found = find(status.conditions, kind)
    assert found is not None, f"no {kind} condition"
    return found.status.value, found.reason, found.message


def observe(
    status: SmartLicenseRegistrationStatus | None = None, **overrides: Any
) -> SmartLicenseRegistrationStatus:
    """``r.observed`` with the defaults of a first pass over a registered cloud cluster."""
    arguments: dict[str, Any] = {
        "spec": spec(),
        "observation": REGISTERED_HERE,
        "account": view(),
        "token": None,
        "token_reason": None,
        "generation": 1,
        "now": NOW,
        "synced": True,
        "spread": 0.0,
        **overrides,
    }
    return r.observed(status or SmartLicenseRegistrationStatus(), **arguments)


class TestDerivedValues:
    @pytest.mark.parametrize(
        ("account", "given", "want"),
        [
            pytest.param(CLOUD, None, r.CLOUD_TRANSPORT_URL, id="cloud"),
            pytest.param(ON_PREM, None, "https://ssm:8443/SmartTransport", id="on-prem"),
            pytest.param(CLOUD, "https://proxy/x", "https://proxy/x", id="spec-wins"),
        ],
    )
    def test_transport_url(self, account: SmartAccountSpec, given: str | None, want: str) -> None:
        overrides = {"transportURL": given} if given else {}

        assert r.transport_url(spec(**overrides), account) == want

    def test_token_description_is_deterministic_and_within_cssm_limit(self) -> None:
        first = r.token_description("licensing", "csw-east", "0123456789abcdef", "prod")
        again = r.token_description("licensing", "csw-east", "0123456789abcdef", "prod")
        long = r.token_description("n" * 63, "x" * 200, "0123456789abcdef", "y" * 100)

        assert first == again == "smartlicensing licensing/csw-east 01234567 prod"
        assert len(long) == r.TOKEN_DESCRIPTION_LIMIT
        assert long.endswith("/" + "x" * 12 + " 01234567"), "the key survives, the extra goes"

    @pytest.mark.parametrize(
        ("version", "supported"),
        [
            pytest.param("3.9.1.1", True, id="3.9"),
            pytest.param("3.8.0", True, id="3.8"),
            pytest.param("3.7.2.5", False, id="3.7"),
            pytest.param("2.3", False, id="2.3"),
            pytest.param("4.0", True, id="4.0"),
            pytest.param(None, True, id="unknown"),
            pytest.param("dev-build", True, id="unparsable"),
        ],
    )
    def test_version_supported(self, version: str | None, supported: bool) -> None:
        assert r.version_supported(version) is supported

    @pytest.mark.parametrize(
        ("token", "reusable"),
        [
            pytest.param(None, False, id="none"),
            pytest.param(
                {"secretRef": {"name": "t"}, "issued": True, "expiresAt": NOW + timedelta(days=9)},
                True,
                id="issued-fresh",
            ),
            pytest.param(
                {"secretRef": {"name": "t"}, "issued": True, "expiresAt": NOW + timedelta(hours=3)},
                False,
                id="issued-expiring",
            ),
            pytest.param(
                {"secretRef": {"name": "t"}, "issued": False, "expiresAt": NOW + timedelta(days=9)},
                False,
                id="users-secret",
            ),
            pytest.param({"secretRef": {"name": "t"}, "issued": True}, False, id="no-expiry"),
        ],
    )
    def test_token_reusable(self, token: dict[str, Any] | None, reusable: bool) -> None:
        recorded = TokenStatus.model_validate(token) if token else None

        assert r.token_reusable(recorded, NOW) is reusable


class TestWhatStopsAPass:
    def test_standby_registers_nothing(self) -> None:
        block = r.blocker(spec(role="Standby"), SmartLicenseRegistrationStatus(), view())

        assert block is not None
        assert block.reason == c.STANDBY

    def test_missing_account(self) -> None:
        block = r.blocker(spec(), SmartLicenseRegistrationStatus(), None)

        assert block == r.Blocker(
            c.ACCOUNT_NOT_FOUND, "SmartAccount acme does not exist in this namespace"
        )

    def test_account_not_ready_blocks_a_new_registration(self) -> None:
        block = r.blocker(spec(), SmartLicenseRegistrationStatus(), view(ready=False))

        assert block is not None
        assert block.reason == c.ACCOUNT_NOT_READY
        assert "CredentialsRejected: refused" in block.message

    def test_registered_api_cluster_keeps_syncing_while_the_account_is_not_ready(self) -> None:
        registered = observe()

        assert r.blocker(spec(), registered, view(ready=False)) is None


class TestDue:
    def settled(self) -> SmartLicenseRegistrationStatus:
        return observe()

    def waiting(self) -> SmartLicenseRegistrationStatus:
        block = r.blocker(spec(), SmartLicenseRegistrationStatus(), view(ready=False))
        assert block is not None
        return r.blocked(SmartLicenseRegistrationStatus(), block, generation=1, now=NOW)

    @pytest.mark.parametrize(
        ("which", "role", "account_ready", "later", "want"),
        [
            pytest.param("settled", "Standalone", True, timedelta(0), None, id="settled"),
            pytest.param("settled", "Standalone", True, timedelta(days=1), Due.SCHEDULE, id="day"),
            pytest.param("settled", "Standby", True, timedelta(days=9), None, id="standby"),
            pytest.param("waiting", "Standalone", False, timedelta(days=9), None, id="waits"),
            pytest.param(
                "waiting", "Standalone", True, timedelta(0), Due.ACCOUNT_READY, id="account-ready"
            ),
        ],
    )
    def test_registration_due(
        self, which: str, role: str, account_ready: bool, later: timedelta, want: Due | None
    ) -> None:
        status = self.settled() if which == "settled" else self.waiting()

        got = r.registration_due(
            spec(role=role), status, generation=1, now=NOW + later, account=view(account_ready)
        )

        assert got == want


class TestNextAction:
    @pytest.mark.parametrize(
        ("overrides", "seen", "sync_due", "want"),
        [
            pytest.param({}, observation(), False, r.Action.REGISTER, id="unregistered"),
            pytest.param({}, REGISTERED_HERE, False, r.Action.OBSERVE, id="already-ours"),
            pytest.param({}, REGISTERED_HERE, True, r.Action.RENEW, id="ours-sync-due"),
            pytest.param(
                {"forceRegister": True}, REGISTERED_HERE, False, r.Action.OBSERVE, id="force-ours"
            ),
            pytest.param(
                {}, REGISTERED_ELSEWHERE, False, r.Action.REFUSE_ALREADY_REGISTERED, id="elsewhere"
            ),
            pytest.param(
                {"forceRegister": True},
                REGISTERED_ELSEWHERE,
                False,
                r.Action.REGISTER,
                id="elsewhere-forced",
            ),
            pytest.param(
                {},
                observation(version="3.7.2.5"),
                False,
                r.Action.REFUSE_UNSUPPORTED_VERSION,
                id="too-old",
            ),
            pytest.param({"suspend": True}, observation(), False, r.Action.OBSERVE, id="suspended"),
            pytest.param(
                {"suspend": True}, REGISTERED_HERE, True, r.Action.OBSERVE, id="suspended-due"
            ),
            pytest.param(
                {},
                observation(registered=True, failed=True, smart_account="acme.example.com"),
                False,
                r.Action.REGISTER,
                id="failed-registration",
            ),
            pytest.param(
                {"transportURL": "https://proxy.example.com/cisco/licservice/license"},
                replace(REGISTERED_HERE, transport_url=r.CLOUD_TRANSPORT_URL),
                False,
                r.Action.MOVE,
                id="transport-url-changed",
            ),
            pytest.param(
                {},
                replace(REGISTERED_HERE, transport_url=r.CLOUD_TRANSPORT_URL + "/"),
                True,
                r.Action.RENEW,
                id="same-transport-url",
            ),
            pytest.param(
                {"transportURL": "https://proxy.example.com/cisco/licservice/license"},
                REGISTERED_HERE,
                False,
                r.Action.OBSERVE,
                id="transport-url-not-reported",
            ),
            pytest.param(
                {
                    "transportURL": "https://proxy.example.com/cisco/licservice/license",
                    "suspend": True,
                },
                replace(REGISTERED_HERE, transport_url=r.CLOUD_TRANSPORT_URL),
                False,
                r.Action.OBSERVE,
                id="transport-url-changed-suspended",
            ),
        ],
    )
    def test_next_action(
        self, overrides: dict[str, Any], seen: r.ClusterObservation, sync_due: bool, want: r.Action
    ) -> None:
        assert r.next_action(spec(**overrides), seen, CLOUD, sync_due=sync_due) is want


class TestObservedStatus:
    def test_registered_cloud_cluster_is_ready_authorized_and_judged_by_the_table(self) -> None:
        token = TokenStatus.model_validate(
            {"secretRef": {"name": "csw-east-token"}, "issued": True, "expiresAt": NOW}
        )

        new = observe(
            account=view(licenses=LICENSES), token=token, token_reason=c.TOKEN_ISSUED, generation=2
        )

        assert condition(new, c.READY)[:2] == ("True", c.REGISTERED_REASON)
        assert condition(new, c.TOKEN_READY)[:2] == ("True", c.TOKEN_ISSUED)
        assert condition(new, c.REGISTERED) == (
            "True",
            c.REGISTERED_REASON,
            "registered with acme.example.com/Datacenter-East (Connected)",
        )
        assert condition(new, c.AUTHORIZED)[:2] == ("True", c.AUTHORIZED_REASON)
        assert condition(new, c.COMPLIANT)[:2] == ("True", c.IN_COMPLIANCE)
        assert [cond.type for cond in new.conditions] == list(c.REGISTRATION_CONDITIONS)
        assert new.registration is not None
        assert new.registration.state.value == "Registered"
        assert new.token == token
        assert (new.last_sync_time, new.next_sync_time) == (NOW, NOW + timedelta(hours=24))
        assert all(cond.observed_generation == 2 for cond in new.conditions)

    def test_using_an_over_utilized_license_is_not_compliant(self) -> None:
        over = observation(
            **{
                **REGISTERED_HERE.__dict__,
                "usage": (LicenseUsage(license="Tetration Endpoint Visibility", in_use=40),),
            }
        )

        new = observe(observation=over, account=view(licenses=LICENSES))

        assert condition(new, c.COMPLIANT) == (
            "False",
            c.OVER_UTILIZED,
            "Tetration Endpoint Visibility: 40 in use, 10 entitled",
        )
        assert condition(new, c.READY)[0] == "True"

    def test_federation_leader_with_zero_usage_is_compliant(self) -> None:
        leader = observation(
            **{
                **REGISTERED_HERE.__dict__,
                "usage": (
                    LicenseUsage(license="Tetration Workload Protection", in_use=0),
                    LicenseUsage(license="Tetration Endpoint Visibility", in_use=0),
                ),
            }
        )

        new = observe(
            spec=spec(role="FederationLeader"), observation=leader, account=view(licenses=LICENSES)
        )

        assert condition(new, c.COMPLIANT)[:2] == ("True", c.IN_COMPLIANCE)
        assert [u.in_use for u in new.usage] == [0, 0]

    def test_suspended_unregistered_cluster_shows_its_evaluation_time(self) -> None:
        evaluating = observation(
            authorization=AuthorizationState.EVALUATION,
            evaluation_remaining=timedelta(days=89, hours=2),
        )

        new = observe(spec=spec(suspend=True), observation=evaluating, synced=False)

        assert condition(new, c.REGISTERED)[:2] == ("False", c.SUSPENDED)
        assert condition(new, c.AUTHORIZED) == (
            "False",
            c.EVALUATION,
            "the cluster runs in evaluation, 2138h left",
        )
        assert condition(new, c.RECONCILING)[:2] == ("False", c.SUSPENDED)
        assert new.authorization is not None
        assert new.authorization.evaluation_remaining == "2138h"
        assert new.next_sync_time is not None, "suspended objects are still observed daily"

    def test_manual_registration_seen_from_cssm_is_ready_without_authorization(self) -> None:
        seen = observation(by_cluster=False, registered=True, version=None)

        new = observe(spec=spec(driver={"type": "Manual"}), observation=seen)

        assert condition(new, c.READY)[0] == "True"
        assert condition(new, c.AUTHORIZED)[:2] == ("Unknown", c.NO_LICENSE_DATA)
        assert new.authorization is None


class TestOtherStates:
    def test_awaiting_user_says_what_to_do_and_polls_later(self) -> None:
        new = r.awaiting_user(
            SmartLicenseRegistrationStatus(),
            instruction="In Secure Workload, open Manage > Service Settings > Licenses, ...",
            token=None,
            token_reason=c.TOKEN_ISSUED,
            generation=1,
            now=NOW,
            poll_after=timedelta(minutes=1),
        )

        assert condition(new, c.REGISTERED)[:2] == ("False", c.AWAITING_USER)
        assert condition(new, c.REGISTERED)[2].startswith("In Secure Workload, open Manage")
        assert condition(new, c.READY)[:2] == ("False", c.AWAITING_USER)
        assert condition(new, c.RECONCILING)[:2] == ("True", c.AWAITING_USER)
        assert new.next_attempt_time == NOW + timedelta(minutes=1)
        assert new.failed_attempts == 0

    def test_standby_is_ready_and_schedules_nothing(self) -> None:
        block = r.Blocker(c.STANDBY, "standby")

        new = r.blocked(SmartLicenseRegistrationStatus(), block, generation=1, now=NOW)

        assert condition(new, c.READY)[:2] == ("True", c.STANDBY)
        assert condition(new, c.REGISTERED)[:2] == ("False", c.STANDBY)
        assert new.registration is not None
        assert new.registration.state.value == "Standby"
        assert new.next_sync_time is None
        assert find(new.conditions, c.AUTHORIZED) is None

    def test_already_registered_stalls_until_the_inputs_change(self) -> None:
        new = r.failed(
            SmartLicenseRegistrationStatus(),
            Failure(c.ALREADY_REGISTERED, "registered elsewhere", condition=c.REGISTERED),
            generation=1,
            now=NOW,
            jitter=0.0,
            fingerprint="fp",
        )

        assert condition(new, c.STALLED)[:2] == ("True", c.ALREADY_REGISTERED)
        assert condition(new, c.READY)[:2] == ("False", c.ALREADY_REGISTERED)
        assert condition(new, c.REGISTERED)[:2] == ("False", c.ALREADY_REGISTERED)
        assert new.stalled_inputs == "fp"

    def test_failed_daily_sync_keeps_a_registered_cluster_ready(self) -> None:
        registered = observe()

        new = r.failed(
            registered,
            Failure(c.CLUSTER_UNREACHABLE, "cluster did not answer"),
            generation=1,
            now=NOW + timedelta(days=1),
            jitter=0.0,
            fingerprint="fp",
        )

        assert condition(new, c.READY)[0] == "True"
        assert condition(new, c.RECONCILING)[:2] == ("True", c.RETRYING)
        assert new.failed_attempts == 1
        assert new.next_attempt_time == NOW + timedelta(days=1, seconds=30)

    def test_first_registration_failing_says_why_in_ready(self) -> None:
        new = r.failed(
            SmartLicenseRegistrationStatus(),
            Failure(c.CSSM_UNAVAILABLE, "CSSM create_token failed"),
            generation=1,
            now=NOW,
            jitter=0.0,
            fingerprint="fp",
            forget_token=True,
        )

        assert condition(new, c.READY)[:2] == ("False", c.CSSM_UNAVAILABLE)
        assert new.token is None


class TestDeletionPlan:
    @pytest.mark.parametrize(
        ("overrides", "seen", "want"),
        [
            pytest.param({}, REGISTERED_HERE, r.DeletionPlan(True, True), id="deregister-ours"),
            pytest.param({}, observation(), r.DeletionPlan(False, True), id="not-registered"),
            pytest.param({}, REGISTERED_ELSEWHERE, r.DeletionPlan(False, True), id="not-ours"),
            pytest.param(
                {"deletionPolicy": "Orphan"},
                REGISTERED_HERE,
                r.DeletionPlan(False, False),
                id="orphan",
            ),
            pytest.param(
                {"token": {"secretRef": {"name": "t"}}},
                REGISTERED_HERE,
                r.DeletionPlan(True, False),
                id="users-token-not-revoked",
            ),
        ],
    )
    def test_deletion_plan(
        self, overrides: dict[str, Any], seen: r.ClusterObservation, want: r.DeletionPlan
    ) -> None:
        plan = r.deletion_plan(spec(**overrides), SmartLicenseRegistrationStatus(), seen, CLOUD)

        assert plan == want


def test_a_suspended_observation_moves_a_due_schedule_on() -> None:
    first = observe(spec=spec(suspend=True), observation=observation(), synced=False)
    a_day_later = NOW + timedelta(days=1, minutes=1)

    second = observe(
        first, spec=spec(suspend=True), observation=observation(), now=a_day_later, synced=False
    )

    assert second.next_sync_time == NOW + timedelta(days=2)
    assert (
        r.registration_due(
            spec(suspend=True), second, generation=1, now=a_day_later, account=view()
        )
        is None
    )


def test_without_the_account_status_decides_what_was_ours() -> None:
    registered = observe()

    assert r.deletion_plan(spec(), registered, REGISTERED_HERE, None).deregister
    assert not r.deletion_plan(
        spec(), SmartLicenseRegistrationStatus(), REGISTERED_ELSEWHERE, None
    ).deregister
