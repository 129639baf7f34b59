"""The ``smartlicensing`` command.

This is the only module that starts processes, servers or event loops; every sub-command is a
thin shell over a function of the layer that owns the work.
"""

from __future__ import annotations

import errno
import socket
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


@app.command()
def sim(
    world: Annotated[Path, typer.Option("--world", help="World file (YAML): examples/world.yaml.")],
    port: Annotated[int, typer.Option("--port", help="TCP port to listen on.")] = 8443,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of tokens and codes.")] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM key.")] = None,
) -> None:
    """Serve the licensing simulator: CSSM, SSM On-Prem and Secure Workload clusters."""
    from smartlicensing.testing.sim import WorldFileError, serve

    if (tls_cert is None) != (tls_key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither")
    if not world.is_file():
        raise typer.BadParameter(f"no world file at {world}", param_hint="--world")
    try:
        serve(
            world,
            host=host,
            port=port,
            seed=seed,
            tls_cert=str(tls_cert) if tls_cert else None,
            tls_key=str(tls_key) if tls_key else None,
            announce=typer.echo,
        )
    except WorldFileError as error:
        raise typer.BadParameter(str(error), param_hint="--world") from None


SETTINGS_ENV_PREFIX = "SMARTLICENSING_"


LIVENESS_EXAMPLE = "http://0.0.0.0:8080/healthz"
METRICS_EXAMPLE = "http://0.0.0.0:9402/metrics"


def liveness_address(endpoint: str) -> tuple[str, int, str]:
    """Host, port and path of a ``--liveness`` URL; ``typer.BadParameter`` says what to fix.

    kopf serves the probe over plain HTTP only and needs a path to route; anything else would
    surface as a traceback from inside the running operator.
    """
    return _address(endpoint, option="--liveness", example=LIVENESS_EXAMPLE, what="liveness")


def metrics_address(endpoint: str) -> tuple[str, int, str]:
    """Host, port and path of a ``--metrics`` URL; ``typer.BadParameter`` says what to fix."""
    option = f"--metrics (or {SETTINGS_ENV_PREFIX}METRICS_ENDPOINT)"
    return _address(endpoint, option=option, example=METRICS_EXAMPLE, what="metrics")


def _address(endpoint: str, *, option: str, example: str, what: str) -> tuple[str, int, str]:
    from smartlicensing.observability.endpoints import listen_address

    try:
        # Port 0 is refused: kopf would quietly serve port 80 for it, and a metrics port
        # chosen at random is one nobody can scrape.
        address = listen_address(endpoint, example=example, what=what)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from None
    return address.host, address.port, address.path


def check_can_listen(host: str, port: int, option: str = "--liveness") -> None:
    """Refuse an address that cannot be bound now, before the operator starts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise typer.BadParameter(
            f"cannot resolve host {host!r}: {error.strerror}", param_hint=option
        ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            why = "address already in use" if error.errno == errno.EADDRINUSE else error.strerror
            raise typer.BadParameter(
                f"cannot listen on {host}:{port}: {why}; choose another port",
                param_hint=option,
            ) from None


def metrics_endpoint(option: str | None, setting: str, liveness: str | None) -> str | None:
    """The metrics URL ``run`` serves (``None``: off), from ``--metrics`` or the setting.

    Checked like ``--liveness``, and refused when it would share the liveness endpoint's port
    (both servers would try to bind it, and the second would fail inside the operator).
    """
    from smartlicensing.config import METRICS_OFF

    endpoint = (option if option is not None else setting).strip()
    if endpoint.lower() in (METRICS_OFF, ""):
        return None
    host, port, _ = metrics_address(endpoint)
    if liveness is not None and liveness_address(liveness)[1] == port:
        raise typer.BadParameter(
            f"the metrics endpoint {endpoint!r} and the liveness endpoint {liveness!r} share "
            f"port {port}; give them different ports",
            param_hint="--metrics",
        )
    check_can_listen(host, port, option="--metrics")
    return endpoint


def settings_problem(location: tuple[int | str, ...], message: str) -> str:
    """One settings error, named by its field and the environment variable that sets it."""
    field = ".".join(str(part) for part in location)
    return f"{field} ({SETTINGS_ENV_PREFIX}{field.upper()}): {message}"


@app.command()
def run(
    namespace: Annotated[
        list[str] | None,
        typer.Option(
            "--namespace",
            "-n",
            help="Watch this namespace (repeatable; globs allowed). Default: all namespaces.",
        ),
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch every namespace (the default).")
    ] = False,
    standalone: Annotated[
        bool,
        typer.Option(
            "--standalone/--peering",
            help="Run without kopf peering (the default; run exactly one replica).",
        ),
    ] = True,
    liveness: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="Serve a liveness endpoint, e.g. http://0.0.0.0:8080/healthz."
        ),
    ] = None,
    metrics: Annotated[
        str | None,
        typer.Option(
            metavar="URL|off",
            help="Serve Prometheus metrics at this http:// URL, or 'off' for none. Default: "
            "SMARTLICENSING_METRICS_ENDPOINT, else http://0.0.0.0:9402/metrics.",
        ),
    ] = None,
    log_format: Annotated[
        str | None, typer.Option(help="text or json (default: SMARTLICENSING_LOG_FORMAT or text).")
    ] = None,
) -> None:
    """Run the operator against the current Kubernetes context (kubeconfig or in-cluster)."""
    import asyncio

    from pydantic import ValidationError

    from smartlicensing.config import OperatorSettings
    from smartlicensing.observability.logs import configure_logging

    if namespace and all_namespaces:
        raise typer.BadParameter("give either --namespace or --all-namespaces, not both")
    if liveness is not None:
        check_can_listen(*liveness_address(liveness)[:2])
    overrides = {"log_format": log_format} if log_format is not None else {}
    try:
        settings = OperatorSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = "; ".join(
            settings_problem(entry["loc"], entry["msg"])
            for entry in error.errors(include_url=False)
        )
        raise typer.BadParameter(f"invalid settings: {problems}") from None
    metrics_url = metrics_endpoint(metrics, settings.metrics_endpoint, liveness)
    configure_logging(settings.log_format, settings.log_level)
    # Imported only now: importing the handlers reads the environment's settings again.
    from smartlicensing.handlers.operator import run_operator, tune_garbage_collector

    tune_garbage_collector(settings.gc_threshold)
    asyncio.run(
        run_operator(
            settings=settings,
            namespaces=namespace or (),
            liveness_endpoint=liveness,
            standalone=standalone,
            metrics_endpoint=metrics_url,
        )
    )


@app.command()
def demo(
    keep: bool = typer.Option(
        False,
        "--keep",
        help="Stay up afterwards and print the kubeconfig path and a kubectl line (Ctrl-C stops).",
    ),
    deadline: float = typer.Option(
        120.0, "--deadline", min=1, help="Seconds each phase may take before the demo fails."
    ),
) -> None:
    """Run the operator on a local Kubernetes API and the licensing simulator, apply examples/."""
    from smartlicensing.testing.demo import DemoError, DemoOptions, run_demo

    try:
        run_demo(keep=keep, echo=typer.echo, options=DemoOptions(deadline=deadline))
    except DemoError as error:
        typer.echo(f"demo failed: {error}", err=True)
        raise typer.Exit(1) from None


def main() -> None:
    app()
