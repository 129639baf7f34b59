"""How the operator runs and reports: kopf's own runner, Events, nothing secret, timer noise."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from kopf.testing import KopfRunner
from licensing_env import (
    EAST,
    FAST,
    LAB,
    Licensing,
    give_the_operator_time,
    licensing,
    licensing_world,
    smartlicensing_crds,
    wait_for,
)

from smartlicensing.handlers import configure

REGISTRATIONS = "SmartLicenseRegistration"


def registered(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")


def test_kopf_runner_runs_the_handlers_module(licensing: Licensing) -> None:
    licensing.stop()
    configure(clock=licensing.sim.clock.now, settings=FAST)
    args = [
        "run",
        "--standalone",
        "--namespace",
        licensing.namespace,
        "-m",
        "smartlicensing.handlers",
    ]

    with KopfRunner(args, timeout=60) as runner:
        registered(licensing)

    assert runner.exception is None, runner.output
    assert runner.exit_code == 0, runner.output
    assert licensing.cluster_calls(EAST, "POST", "*/registration") == 1


def test_every_condition_transition_is_in_an_event(licensing: Licensing) -> None:
    registered(licensing)

    def events() -> list[dict[str, Any]]:
        return licensing.events("csw-east")

    # Events are posted by kopf in the background: wait for the one asserted, by deadline.
    wait_for(
        lambda: [e for e in events() if e["message"].startswith("Ready is True")],
        what="the Event of becoming Ready",
    )
    posted = events()

    (ready,) = [e for e in posted if e["message"].startswith("Ready is True")]
    assert ready["reason"] == "Registered"
    assert ready["type"] == "Normal"
    for transition in (
        "TokenReady is True (TokenIssued): ",
        "Registered is True (Registered): registered with acme.example.com",
        "Authorized is True (Authorized): ",
        "Compliant is True (InCompliance): ",
    ):
        assert transition in ready["message"], ready["message"]
    assert all(not e["reason"].startswith("Timer") for e in posted), "no kopf noise as Events"


def test_no_secret_reaches_logs_status_or_events(
    licensing: Licensing, caplog: pytest.LogCaptureFixture
) -> None:
    registered(licensing)
    token = licensing.secret_value("csw-east-token", "token")
    secrets = [
        token,
        "demo-only-secret-7Qv2LmX9",
        licensing.cluster_credentials(EAST)["api_secret"],
    ]

    seen = "\n".join(
        [
            caplog.text,
            str(licensing.get(REGISTRATIONS, "csw-east")),
            str(licensing.get("SmartAccount", "acme")),
            str(licensing.events("csw-east")),
            str(licensing.events("acme")),
        ]
    )

    for secret in secrets:
        assert secret not in seen


def test_timer_ticks_stay_out_of_info_logs(
    licensing: Licensing, caplog: pytest.LogCaptureFixture
) -> None:
    registered(licensing)
    caplog.clear()

    give_the_operator_time(10)

    ticks = [r for r in caplog.records if r.getMessage().startswith("Timer '")]
    assert all(r.levelno < logging.INFO for r in ticks)


def test_manual_registration_is_looked_for_with_backoff_not_every_tick(
    licensing: Licensing,
) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-lab", LAB, manual=True)
    licensing.wait_condition(REGISTRATIONS, "csw-lab", "Registered", "False", "AwaitingUser")
    looks = len(licensing.cssm_calls("GET", "*/devices"))

    give_the_operator_time(10)
    assert len(licensing.cssm_calls("GET", "*/devices")) == looks, "no look before the poll time"

    licensing.advance(seconds=FAST.manual_poll_base + 1)
    wait_for(lambda: len(licensing.cssm_calls("GET", "*/devices")) == looks + 1, what="a look")
    give_the_operator_time(10)
    licensing.advance(seconds=FAST.manual_poll_base + 1)
    give_the_operator_time(10)

    assert len(licensing.cssm_calls("GET", "*/devices")) == looks + 1, "the second wait is longer"
    status = licensing.get(REGISTRATIONS, "csw-lab")["status"]
    assert status["failedAttempts"] == 0


def test_deletion_during_a_sync_in_flight_deregisters_once(licensing: Licensing) -> None:
    registered(licensing)
    renew = f"/clusters/{EAST}/openapi/v1/licensing/authorization/renew"
    slow = licensing.sim.faults.add({"kind": "slow", "path": renew, "delay": 1.0, "count": 1})
    licensing.sim.calls.clear()

    licensing.advance(days=1, seconds=1)
    wait_for(lambda: slow.hits == 1, what="the renewal in flight")
    licensing.delete(REGISTRATIONS, "csw-east")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    assert licensing.cluster_calls(EAST, "POST", "*/authorization/renew") == 1
    assert licensing.cluster_calls(EAST, "DELETE", "*/registration") == 1
    assert licensing.cluster_calls(EAST, "POST", "*/registration") == 0
    assert licensing.cluster_state(EAST)["registration"]["state"] == "Unregistered"
