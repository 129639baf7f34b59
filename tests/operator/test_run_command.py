"""``smartlicensing run``: namespaces, peering, liveness and log format reach the operator."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from smartlicensing import cli
from smartlicensing.handlers import operator


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    async def fake_run_operator(**kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr(operator, "run_operator", fake_run_operator)
    monkeypatch.setattr("smartlicensing.observability.logs.configure_logging", lambda *a: None)
    monkeypatch.setenv("SMARTLICENSING_METRICS_ENDPOINT", "off")
    return calls


def test_namespaces_liveness_and_log_format(started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(
        cli.app,
        [
            "run",
            "-n",
            "licensing",
            "-n",
            "team-*",
            "--log-format",
            "json",
            "--liveness",
            "http://0.0.0.0:8080/healthz",
        ],
    )

    assert result.exit_code == 0, result.output
    (call,) = started
    assert call["namespaces"] == ["licensing", "team-*"]
    assert call["liveness_endpoint"] == "http://0.0.0.0:8080/healthz"
    assert call["standalone"] is True
    assert call["settings"].log_format == "json"


def test_all_namespaces_by_default_and_peering_on_request(started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli.app, ["run", "-A", "--peering"])

    assert result.exit_code == 0, result.output
    (call,) = started
    assert (call["namespaces"], call["standalone"]) == ((), False)


def test_namespace_and_all_namespaces_together_are_refused(started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli.app, ["run", "-n", "a", "-A"])

    assert result.exit_code != 0
    assert "either --namespace or --all-namespaces" in result.output
    assert started == []


def test_unknown_log_format_is_refused(started: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli.app, ["run", "--log-format", "xml"])

    assert result.exit_code != 0
    assert "invalid settings: log_format" in result.output
    assert started == []
