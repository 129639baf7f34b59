"""`smartlicensing demo` starts the local API, applies the example with kubectl and shows it."""

from __future__ import annotations

import threading

from typer.testing import CliRunner

from smartlicensing.cli import app
from smartlicensing.testing.demo import run_demo


def test_demo_applies_the_example_and_prints_kubectl_get() -> None:
    result = CliRunner().invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    assert "example.demo.smartlicensing.dev/hello created" in result.output
    header, row = result.output.strip().splitlines()[-2:]
    assert header.split() == ["NAME", "MESSAGE", "READY", "AGE"]
    assert row.split()[0] == "hello"
    assert row.split()[-2] == "True"


def test_demo_keep_prints_the_kubeconfig_and_stops_when_told() -> None:
    lines: list[str] = []
    stop = threading.Event()
    stop.set()

    kubeconfig = run_demo(keep=True, echo=lines.append, until=stop)

    assert f"kubeconfig: {kubeconfig}" in lines
    assert kubeconfig.exists()
