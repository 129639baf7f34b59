"""``smartlicensing demo`` end to end, so the README's first command cannot rot.

The demo starts its own local Kubernetes API and simulator and runs the real operator; only the
deadlines and the timer interval are shorter here than for a person.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from smartlicensing.cli import app
from smartlicensing.testing import demo
from smartlicensing.testing.demo import DemoError, DemoOptions, run_demo

OPERATOR_MISSING = importlib.util.find_spec("smartlicensing.handlers.operator") is None

API_REGISTRATIONS = {"licensing/csw-east", "licensing/csw-west"}
#: Per Api registration: status, register (whose answer is the new status), and one renewal.
CLUSTER_CALL_BUDGET = 3 + 1


@pytest.mark.skipif(OPERATOR_MISSING, reason="the operator (smartlicensing.handlers) is not built")
def test_the_demo_reaches_ready_waits_for_a_person_and_syncs_once_a_day(tmp_path: Path) -> None:
    lines: list[str] = []
    stop = threading.Event()
    stop.set()  # --keep: print how to reach it, then stop at once

    outcome = run_demo(
        keep=True,
        echo=lines.append,
        until=stop,
        options=DemoOptions(deadline=40, timer_interval=0.2, poll_interval=0.05, workdir=tmp_path),
    )

    output = "\n".join(lines)
    assert set(outcome.ready) == {
        "SmartAccount licensing/acme-prod",
        "SmartAccount licensing/acme-onprem",
        "SmartLicenseRegistration licensing/csw-east",
        "SmartLicenseRegistration licensing/csw-west",
    }
    assert list(outcome.awaiting_user) == ["licensing/csw-lab"]
    assert outcome.awaiting_user["licensing/csw-lab"].strip()
    assert outcome.syncs_after_a_day == dict.fromkeys(API_REGISTRATIONS, 1)
    assert 0 < outcome.cluster_calls <= CLUSTER_CALL_BUDGET * len(API_REGISTRATIONS)
    assert outcome.cssm_calls > 0
    assert "smartlicenseregistration.smartlicensing.dev/csw-east" in output
    assert f"kubeconfig: {outcome.kubeconfig}" in output
    assert f"KUBECONFIG={outcome.kubeconfig} kubectl get smartlicensing -A" in output
    # The operator logs to its file, not over the demo; nothing secret reaches either.
    operator_log = outcome.operator_log.read_text()
    assert outcome.operator_log == tmp_path / "operator.log"
    assert "csw-east" in operator_log
    assert "kopf" not in output
    for secret in _world_secrets():
        assert secret not in output
        assert secret not in operator_log


def _world_secrets() -> list[str]:
    world = yaml.safe_load(DemoOptions().world.read_text())
    clients = world["cloud"]["apiClients"] + world["onPrem"][0]["apiClients"]
    return [c["clientSecret"] for c in clients] + [c["apiSecret"] for c in world["clusters"]]


def test_a_missed_deadline_names_what_was_still_missing() -> None:
    with pytest.raises(DemoError, match="Ready: not reached within 0 s; still missing: csw-east"):
        demo._wait("Ready", lambda: ["csw-east"], deadline=0, poll_interval=0)


def test_the_command_exits_non_zero_with_the_demos_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(**_: object) -> None:
        raise DemoError("SmartAccount licensing/acme-prod is not Ready")

    monkeypatch.setattr(demo, "run_demo", fail)

    result = CliRunner().invoke(app, ["demo", "--deadline", "5"])

    assert result.exit_code == 1
    assert "demo failed: SmartAccount licensing/acme-prod is not Ready" in result.output


class _StoppedOperator:
    running = False
    error = RuntimeError("watching failed: 403 Forbidden")


def test_an_operator_that_stopped_on_its_own_ends_the_demo_with_its_error() -> None:
    operator = object.__new__(demo._Operator)
    operator._handle = _StoppedOperator()

    with pytest.raises(DemoError, match="the operator stopped: watching failed: 403 Forbidden"):
        operator.check_running()
