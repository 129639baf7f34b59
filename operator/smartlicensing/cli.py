"""The ``smartlicensing`` command.

This is the only module that starts processes, servers or event loops; every sub-command is a
thin shell over a function of the layer that owns the work.
"""

from __future__ import annotations

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
def demo(
    keep: bool = typer.Option(
        False, "--keep", help="Stay up and print the kubeconfig path (Ctrl-C stops)."
    ),
) -> None:
    """Start the local Kubernetes API, apply an example with kubectl and show `kubectl get`."""
    from smartlicensing.testing.demo import DemoError, run_demo

    try:
        run_demo(keep=keep, echo=typer.echo)
    except DemoError as error:
        typer.echo(f"demo failed: {error}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    app()
