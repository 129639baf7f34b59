"""The command's public face: the version, and ``run`` refusing bad options before it starts."""

from __future__ import annotations

import socket
from importlib.metadata import version
from typing import Any

import pytest
from typer.testing import CliRunner

from smartlicensing.cli import app


def test_version_prints_the_installed_distribution_version() -> None:
    result = CliRunner().invoke(app, ["version"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == version("smartlicensing-operator")


# -- smartlicensing run: bad options are refused before the operator starts ---------------------


@pytest.fixture
def collector_tuned() -> list[tuple[int, int]]:
    """What ``tune_garbage_collector`` was called with, and how many starts came before."""
    return []


@pytest.fixture
def operator_started(
    monkeypatch: pytest.MonkeyPatch, collector_tuned: list[tuple[int, int]]
) -> list[dict[str, Any]]:
    """Records the operator's start instead of running it."""
    calls: list[dict[str, Any]] = []

    async def record(**kwargs: Any) -> None:
        calls.append(kwargs)

    monkeypatch.setattr("smartlicensing.handlers.operator.run_operator", record)
    # The collector's settings are process-wide: the test process keeps its own.
    monkeypatch.setattr(
        "smartlicensing.handlers.operator.tune_garbage_collector",
        lambda threshold: collector_tuned.append((threshold, len(calls))),
    )
    monkeypatch.setattr("smartlicensing.observability.logs.configure_logging", lambda *a: None)
    # The default metrics port is the machine's; tests that want it ask for it.
    monkeypatch.setenv("SMARTLICENSING_METRICS_ENDPOINT", "off")
    return calls


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def flat(output: str) -> str:
    """Typer's boxed error message as one line."""
    return " ".join(output.replace("│", " ").split())


def _bad_urls(option: str, port: int, path: str) -> list[Any]:
    """URLs an endpoint option cannot serve, and what its refusal says about each."""
    good = f"http://0.0.0.0:{port}{path}"
    cases = {
        "no-scheme": (path.lstrip("/"), "is not an http:// URL"),
        "https": (f"https://0.0.0.0:{port}{path}", "is not an http:// URL"),
        "port-out-of-range": (f"http://0.0.0.0:65536{path}", "no valid port"),
        "port-zero": (f"http://0.0.0.0:0{path}", "no valid port"),
        "no-path": (f"http://0.0.0.0:{port}", "needs a path"),
        "query": (f"{good}?x=1", "needs a path"),
    }
    return [
        pytest.param(option, url, complaint, good, id=f"{option}-{case}")
        for case, (url, complaint) in cases.items()
    ]


@pytest.mark.parametrize(
    ("option", "endpoint", "complaint", "example"),
    [*_bad_urls("--liveness", 8080, "/healthz"), *_bad_urls("--metrics", 9402, "/metrics")],
)
def test_an_endpoint_url_that_cannot_be_served_is_refused_with_an_example(
    operator_started: list[dict[str, Any]], option: str, endpoint: str, complaint: str, example: str
) -> None:
    result = CliRunner().invoke(app, ["run", option, endpoint])

    assert result.exit_code == 2
    message = flat(result.output)
    assert complaint in message
    assert example in message
    assert option in message
    assert operator_started == []


def test_a_free_liveness_address_reaches_the_operator(
    operator_started: list[dict[str, Any]],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}/healthz"

    result = CliRunner().invoke(app, ["run", "--liveness", endpoint])

    assert result.exit_code == 0, result.output
    assert operator_started[0]["liveness_endpoint"] == endpoint


def test_run_tunes_the_garbage_collector_from_its_setting_before_the_operator_starts(
    operator_started: list[dict[str, Any]],
    collector_tuned: list[tuple[int, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMARTLICENSING_GC_THRESHOLD", "1234")

    result = CliRunner().invoke(app, ["run"])

    assert result.exit_code == 0, result.output
    assert collector_tuned == [(1234, 0)]
    assert len(operator_started) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("timer_interval", "0", id="timer-interval-zero"),
        pytest.param("timer_interval", "abc", id="timer-interval-not-a-number"),
        pytest.param("log_format", "yaml", id="log-format"),
        pytest.param("gc_threshold", "-1", id="gc-threshold-negative"),
    ],
)
def test_a_bad_setting_is_named_by_its_environment_variable(
    operator_started: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    field: str,
    value: str,
) -> None:
    variable = f"SMARTLICENSING_{field.upper()}"
    monkeypatch.setenv(variable, value)

    result = CliRunner().invoke(app, ["run"])

    assert result.exit_code == 2
    message = flat(result.output)
    assert f"invalid settings: {field} ({variable}):" in message
    assert operator_started == []


# -- smartlicensing run --metrics ---------------------------------------------------------------


def test_a_bad_metrics_setting_is_refused_naming_its_environment_variable(
    operator_started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMARTLICENSING_METRICS_ENDPOINT", "9402")

    result = CliRunner().invoke(app, ["run"])

    assert result.exit_code == 2
    message = flat(result.output)
    assert "'9402' is not an http:// URL" in message
    assert "SMARTLICENSING_METRICS_ENDPOINT" in message
    assert operator_started == []


@pytest.mark.parametrize(
    ("option", "path"), [("--liveness", "/healthz"), ("--metrics", "/metrics")]
)
def test_a_port_already_in_use_is_refused_before_the_operator_starts(
    operator_started: list[dict[str, Any]], option: str, path: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["run", option, f"http://127.0.0.1:{port}{path}"])

    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}: address already in use" in flat(result.output)
    assert operator_started == []


def test_metrics_and_liveness_on_one_port_are_refused(
    operator_started: list[dict[str, Any]],
) -> None:
    port = free_port()
    args = ["run", "--liveness", f"http://127.0.0.1:{port}/healthz"]

    result = CliRunner().invoke(app, [*args, "--metrics", f"http://127.0.0.1:{port}/metrics"])

    assert result.exit_code == 2
    assert f"share port {port}; give them different ports" in flat(result.output)
    assert operator_started == []


def test_a_free_metrics_address_reaches_the_operator(
    operator_started: list[dict[str, Any]],
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/metrics"

    result = CliRunner().invoke(app, ["run", "--metrics", endpoint])

    assert result.exit_code == 0, result.output
    assert operator_started[0]["metrics_endpoint"] == endpoint


@pytest.mark.parametrize("off", ["off", "OFF", ""], ids=["off", "upper-case", "empty"])
def test_metrics_can_be_switched_off(
    operator_started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, off: str
) -> None:
    monkeypatch.setenv("SMARTLICENSING_METRICS_ENDPOINT", "http://0.0.0.0:9402/metrics")

    result = CliRunner().invoke(app, ["run", "--metrics", off])

    assert result.exit_code == 0, result.output
    assert operator_started[0]["metrics_endpoint"] is None


def test_metrics_are_served_on_every_interface_port_9402_by_default(
    operator_started: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SMARTLICENSING_METRICS_ENDPOINT")
    checked: list[tuple[str, int, str]] = []
    monkeypatch.setattr(
        "smartlicensing.cli.check_can_listen",
        lambda host, port, option="--liveness": checked.append((host, port, option)),
    )

    result = CliRunner().invoke(app, ["run"])

    assert result.exit_code == 0, result.output
    assert operator_started[0]["metrics_endpoint"] == "http://0.0.0.0:9402/metrics"
    assert checked == [("0.0.0.0", 9402, "--metrics")]
