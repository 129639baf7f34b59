"""The ``smartlicensing`` command.

This is the only module that starts processes, servers or event loops; every sub-command is a
thin shell over a function of the layer that owns the work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smartlicensing import __version__

app = typer.Typer(
    name="smartlicensing",
    help="Declarative Cisco Secure Workload Smart Licensing for Kubernetes.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Declarative Cisco Secure Workload Smart Licensing for Kubernetes."""


@app.command()
def version() -> None:
    """Print the operator's version."""
    typer.echo(__version__)


@app.command()
def crds(
    output_dir: Annotated[
        Path | None,
        typer.Option(help="Write one file per kind into this directory instead of printing."),
    ] = None,
) -> None:
    """Print the CustomResourceDefinitions, generated from the API models, as YAML."""
    from smartlicensing.api.crds import KINDS, file_name, render_yaml

    if output_dir is None:
        typer.echo(render_yaml(), nl=False)
        return
    output_dir.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        (output_dir / file_name(kind)).write_text(render_yaml([kind]), encoding="utf-8")


def main() -> None:
    app()
