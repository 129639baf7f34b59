"""The command's public face: the script runs and reports the installed version."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

from smartlicensing.cli import app


def test_version_prints_the_installed_distribution_version() -> None:
    result = CliRunner().invoke(app, ["version"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == version("smartlicensing-operator")
