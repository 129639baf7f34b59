"""``smartlicensing demo``: the whole system on one machine, with no Cisco account and no cluster.

The demo is the README's first command, so it shows what a platform team would see, built from
the same parts they would use. The local Kubernetes API and the licensing simulator (loaded from
``examples/world.yaml``) each run in a thread of their own; the real operator runs in a third,
with the simulator's clock as its clock, so a simulated day passes in milliseconds. The demo then
applies ``crds/`` and ``examples/licensing/`` through the Kubernetes API, exactly the YAML a
person would ``kubectl apply``, and prints the ``kubectl get smartlicensing -A`` table (Table
answers from the API, so the printer columns show) whenever it changes.

It is done when every SmartAccount and every ``Api`` registration is Ready and every ``Manual``
registration waits for a person (``Registered=False``, reason ``AwaitingUser``, the instruction
in its message). Then the simulator's clock moves one day and the demo waits until each ``Api``
registration has synced exactly once more: its ``lastSyncTime`` moved and the simulator's call
log holds one renewal for its cluster. Every wait has a deadline; passing it is a
:class:`DemoError` that names what was still missing.

The examples point at ``http://127.0.0.1:8443``, where ``smartlicensing sim`` listens by
default. The demo's simulator listens on a free port, so loading rewrites that prefix in every
string of the examples to the simulator's real address (:func:`load_manifests`).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import yaml

from smartlicensing.api import conditions
from smartlicensing.config import OperatorSettings
from smartlicensing.observability.logs import RedactingFilter, RedactingTextFormatter
from smartlicensing.testing.sim import Simulator

#: Where the examples expect the simulator (``smartlicensing sim``'s default address).
EXAMPLES_SIMULATOR_URL: Final = "http://127.0.0.1:8443"
GROUP: Final = "smartlicensing.dev"
GROUP_VERSION: Final = f"{GROUP}/v1alpha1"
#: The kinds of the ``smartlicensing`` category, in the order ``kubectl get`` prints them.
KINDS: Final = ("SmartAccount", "SmartLicenseRegistration", "LicenseReservation")
TABLE_ACCEPT: Final = "application/json;as=Table;v=v1;g=meta.k8s.io, application/json"
#: The repository: ``crds/`` and ``examples/`` sit beside ``operator/``.
REPOSITORY: Final = Path(__file__).resolve().parents[3]


class DemoError(Exception):
    """The demo could not show what it promises; the message says what was missing."""


@dataclass(frozen=True)
class DemoOptions:
    """How long the demo waits and how fast its operator looks at its timers."""

    deadline: float = 120.0
    """Seconds each phase (reaching Ready, the day of syncs) may take before the demo fails."""
    timer_interval: float = 0.5
    """The operator's timer interval, in real seconds."""
    poll_interval: float = 0.2
    """Seconds between two looks at the resources."""
    workdir: Path | None = None
    """Where the kubeconfig and the operator's log go; a new temporary directory by default."""
    crds: Path = REPOSITORY / "crds"
    examples: Path = REPOSITORY / "examples" / "licensing"
    world: Path = REPOSITORY / "examples" / "world.yaml"


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo saw; ``smartlicensing demo`` prints it, the tests assert on it."""

    ready: tuple[str, ...]
    """``Kind namespace/name`` of every object that became Ready."""
    awaiting_user: Mapping[str, str]
    """Manual registration (``namespace/name``) to the instruction its condition gives."""
    syncs_after_a_day: Mapping[str, int]
    """Api registration (``namespace/name``) to its renewals in the simulated day."""
    cssm_calls: int
    """Calls that reached CSSM and On-Prem (OAuth included), from the simulator's call log."""
    cluster_calls: int
    """Calls that reached the simulated Secure Workload clusters."""
    kubeconfig: Path
    operator_log: Path


# --- loading the examples ---------------------------------------------------------------------


def rewrite_simulator_url(value: Any, simulator_url: str) -> Any:
    """``value`` with every string that starts with the examples' simulator address moved to
    ``simulator_url``."""
    if isinstance(value, str) and value.startswith(EXAMPLES_SIMULATOR_URL):
        return simulator_url.rstrip("/") + value[len(EXAMPLES_SIMULATOR_URL) :]
    if isinstance(value, dict):
        return {key: rewrite_simulator_url(item, simulator_url) for key, item in value.items()}
    if isinstance(value, list):
        return [rewrite_simulator_url(item, simulator_url) for item in value]
    return value


def load_manifests(directory: Path, simulator_url: str | None = None) -> list[dict[str, Any]]:
    """The Kubernetes objects of every ``*.yaml`` file in ``directory``, in file-name order.

    With ``simulator_url``, the examples' simulator address is rewritten to it.
    """
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise DemoError(f"no *.yaml files in {directory}")
    documents: list[dict[str, Any]] = []
    for path in files:
        try:
            loaded = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as error:
            raise DemoError(f"{path} is not valid YAML: {error}") from None
        for number, document in enumerate(loaded, start=1):
            if document is None:
                continue
            if not isinstance(document, dict) or not {"apiVersion", "kind"} <= document.keys():
                raise DemoError(
                    f"{path}, document {number}: not a Kubernetes object (apiVersion and kind)"
                )
            if simulator_url is not None:
                document = rewrite_simulator_url(document, simulator_url)
            documents.append(document)
    return documents


# --- the Kubernetes API, through the kubernetes client ---------------------------------------


class KubeView:
    """The few things the demo does with the Kubernetes API: apply, list, read tables."""

    def __init__(self, kubeconfig: Path, cache_dir: Path) -> None:
        from kubernetes import config, dynamic

        self._client: Any = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(kubeconfig)
        )
        self._dynamic: Any = dynamic.DynamicClient(  # type: ignore[no-untyped-call]
            self._client, cache_file=str(cache_dir / "discovery.json")
        )

    def close(self) -> None:
        self._client.close()

    def refresh_discovery(self) -> None:
        self._dynamic.resources.invalidate_cache()

    def _resource(self, api_version: str, kind: str) -> Any:
        from kubernetes.dynamic.exceptions import ResourceNotFoundError

        try:
            return self._dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            raise DemoError(f"the Kubernetes API does not serve {kind} ({api_version})") from None

    def apply(self, document: dict[str, Any]) -> str:
        """Create the object, or merge-patch it when it exists; returns what kubectl says."""
        from kubernetes.client.exceptions import ApiException

        resource = self._resource(document["apiVersion"], document["kind"])
        group = f".{resource.group}" if resource.group else ""
        name = f"{resource.kind.lower()}{group}/{document['metadata']['name']}"
        try:
            self._dynamic.create(resource, body=document)
        except ApiException as error:
            if error.status != 409:
                raise DemoError(f"applying {name} failed: {_reason(error)}") from None
            try:
                self._dynamic.patch(
                    resource, body=document, content_type="application/merge-patch+json"
                )
            except ApiException as patch_error:
                raise DemoError(f"applying {name} failed: {_reason(patch_error)}") from None
            return f"{name} configured"
        return f"{name} created"

    def crd_established(self, name: str) -> bool:
        resource = self._resource("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        crd = self._dynamic.get(resource, name=name).to_dict()
        found = crd.get("status", {}).get("conditions", [])
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in found)

    def list(self, kind: str) -> list[dict[str, Any]]:
        """Every object of one of our kinds, in every namespace."""
        items = self._dynamic.get(self._resource(GROUP_VERSION, kind)).to_dict()["items"]
        return list(items)

    def table(self, kind: str) -> dict[str, Any]:
        """The Table answer for one of our kinds across namespaces (what kubectl prints)."""
        resource = self._resource(GROUP_VERSION, kind)
        answer = self._dynamic.request(
            "get", resource.path(), header_params={"Accept": TABLE_ACCEPT}
        )
        return dict(answer.to_dict())


def _reason(error: Any) -> str:
    """The message of a Kubernetes ``Status`` answer, else the HTTP reason."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        body = yaml.safe_load(error.body)
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])
    return f"HTTP {error.status} {error.reason}"


# --- what kubectl get smartlicensing -A prints ------------------------------------------------


def render_tables(tables: Mapping[str, dict[str, Any]]) -> str:
    """The text of ``kubectl get smartlicensing -A`` from one Table answer per kind.

    As kubectl does for a category, each kind gets its own block, names are prefixed with
    ``kind.group/``, kinds without objects are left out, and columns of priority > 0 (shown
    only with ``-o wide``) are hidden.
    """
    blocks: list[str] = []
    for kind, answer in tables.items():
        rows = answer.get("rows") or []
        if not rows:
            continue
        definitions = answer.get("columnDefinitions") or []
        shown = [i for i, d in enumerate(definitions) if not d.get("priority")]
        header = ["NAMESPACE"] + [str(definitions[i]["name"]).upper() for i in shown]
        lines = [header]
        for row in rows:
            cells = row.get("cells") or []
            namespace = row.get("object", {}).get("metadata", {}).get("namespace", "")
            values = [_cell_text(cells[i] if i < len(cells) else None) for i in shown]
            values[0] = f"{kind.lower()}.{GROUP}/{values[0]}"
            lines.append([namespace, *values])
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        blocks.append(
            "\n".join(
                "   ".join(
                    cell.ljust(width) for cell, width in zip(line, widths, strict=True)
                ).rstrip()
                for line in lines
            )
        )
    return "\n\n".join(blocks) if blocks else "No resources found"


def table_signature(tables: Mapping[str, dict[str, Any]]) -> tuple[tuple[str, ...], ...]:
    """What the tables say apart from ages, which change every second by themselves."""
    signature: list[tuple[str, ...]] = []
    for kind, answer in tables.items():
        definitions = answer.get("columnDefinitions") or []
        timeless = [i for i, d in enumerate(definitions) if d.get("type") != "date"]
        for row in answer.get("rows") or []:
            cells = row.get("cells") or []
            signature.append(
                (kind, *(_cell_text(cells[i] if i < len(cells) else None) for i in timeless))
            )
    return tuple(signature)


def _cell_text(value: Any) -> str:
    if value is None or value == "":
        return "<none>"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


# --- reading the objects ------------------------------------------------------------------------


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The condition of type ``kind`` in an object's status, if there is one."""
    for found in obj.get("status", {}).get("conditions", []) or []:
        if found.get("type") == kind:
            return dict(found)
    return None


def is_true(obj: Mapping[str, Any], kind: str = conditions.READY) -> bool:
    found = condition(obj, kind)
    return found is not None and found.get("status") == "True"


def key(obj: Mapping[str, Any]) -> str:
    return f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"


def driver_of(registration: Mapping[str, Any]) -> str:
    return str(registration.get("spec", {}).get("cluster", {}).get("driver", {}).get("type", ""))


@dataclass
class Progress:
    """Where the demo's objects are, read from one listing of each kind."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    registrations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def api_registrations(self) -> list[dict[str, Any]]:
        return [r for r in self.registrations if driver_of(r) == "Api"]

    @property
    def manual_registrations(self) -> list[dict[str, Any]]:
        return [r for r in self.registrations if driver_of(r) == "Manual"]

    def missing(self) -> list[str]:
        """What still keeps the demo from its first goal, one phrase per object."""
        missing = [f"SmartAccount {key(a)} is not Ready" for a in self.accounts if not is_true(a)]
        missing += [
            f"SmartLicenseRegistration {key(r)} is not Ready"
            for r in self.api_registrations
            if not is_true(r)
        ]
        for registration in self.manual_registrations:
            registered = condition(registration, conditions.REGISTERED)
            if (
                registered is None
                or registered.get("status") != "False"
                or registered.get("reason") != conditions.AWAITING_USER
            ):
                missing.append(
                    f"SmartLicenseRegistration {key(registration)} does not wait for a person "
                    f"(Registered={conditions.AWAITING_USER})"
                )
        if not self.accounts:
            missing.append("no SmartAccount was applied")
        return missing


# --- running it -------------------------------------------------------------------------------


@contextlib.contextmanager
def kubeconfig_for_kopf(path: Path) -> Iterator[None]:
    """Point ``$KUBECONFIG`` (and the copy the kubernetes client took of it) at ``path``;
    put both, and the client's default configuration, back afterwards.

    # NB: kopf logs in through ``kubernetes.config.load_kube_config()``, which reads the
    # default location that ``kubernetes.config.kube_config`` captured from ``$KUBECONFIG``
    # when it was first imported. The demo may run in a process that imported it earlier
    # (the tests do), so both are set here and put back afterwards.
    """
    from kubernetes.client import Configuration
    from kubernetes.config import kube_config

    saved_env = os.environ.get("KUBECONFIG")
    saved_default = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    # Loading a kubeconfig also replaces the client's process-wide default configuration.
    saved_configuration = Configuration.get_default_copy()
    os.environ["KUBECONFIG"] = str(path)
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = str(path)
    try:
        yield
    finally:
        Configuration.set_default(saved_configuration)
        kube_config.KUBE_CONFIG_DEFAULT_LOCATION = saved_default
        if saved_env is None:
            os.environ.pop("KUBECONFIG", None)
        else:
            os.environ["KUBECONFIG"] = saved_env


#: Loggers of the operator and the libraries it drives, which the demo sends to a file.
OPERATOR_LOGGERS: Final = (
    "kopf",
    "smartlicensing",
    "asyncio",
    "aiohttp",
    "httpx",
    "httpcore",
    "stamina",
)


@contextlib.contextmanager
def operator_logs_to(path: Path) -> Iterator[None]:
    """Send the operator's log lines to ``path`` instead of the demo's screen, then undo it.

    The file is masked as the operator's own output is: the demo keeps it for people to read.
    """
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(RedactingTextFormatter())
    handler.addFilter(RedactingFilter())
    saved = {}
    for name in OPERATOR_LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, logger.propagate)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield
    finally:
        for name, (level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        handler.close()


class _Operator:
    """The real operator in a thread of this process, on the simulator's clock."""

    def __init__(self, clock: Callable[[], datetime], timer_interval: float) -> None:
        try:
            # Imported by name: the demo is built before and alongside the handlers.
            operator = importlib.import_module("smartlicensing.handlers.operator")
        except ImportError as error:
            raise DemoError(
                f"the operator's handlers are not part of this build ({error}); "
                "the demo needs smartlicensing.handlers.operator"
            ) from None
        settings = OperatorSettings.model_validate({"timer_interval": timer_interval})
        try:
            self._handle = operator.start_operator_thread(clock=clock, settings=settings)
        except (RuntimeError, TimeoutError) as error:
            raise DemoError(f"the operator did not start: {error}") from None

    def check_running(self) -> None:
        """Raise DemoError when the operator's thread has ended on its own."""
        if not self._handle.running:
            error = getattr(self._handle, "error", None)
            raise DemoError(f"the operator stopped: {error or 'its thread ended'}")

    def stop(self) -> None:
        if self._handle.running:
            self._handle.stop()
        # What the operator's loop left behind (aiohttp warns about unclosed connectors when
        # they are collected) is collected now, while its warnings still go to its log.
        gc.collect()


def _wait(
    what: str,
    check: Callable[[], list[str]],
    *,
    deadline: float,
    poll_interval: float,
    on_each: Callable[[], None] = lambda: None,
) -> None:
    """Call ``check`` until it names nothing missing; DemoError after ``deadline`` seconds."""
    give_up = time.monotonic() + deadline
    while True:
        on_each()
        missing = check()
        if not missing:
            return
        if time.monotonic() > give_up:
            raise DemoError(
                f"{what}: not reached within {deadline:g} s; still missing: " + "; ".join(missing)
            )
        time.sleep(poll_interval)


def _count_calls(sim: Simulator, since: int = 0) -> tuple[int, int]:
    """Calls to CSSM / On-Prem and calls to clusters in the simulator's log since ``since``."""
    entries = sim.calls.entries(since)
    to_clusters = sum(1 for entry in entries if entry.get("cluster"))
    return len(entries) - to_clusters, to_clusters


def _renewals(sim: Simulator, uuid: str, since: int) -> int:
    return sum(
        1
        for entry in sim.calls.entries(since)
        if entry.get("cluster") == uuid
        and entry["method"] == "POST"
        and entry["path"].endswith("/authorization/renew")
    )


def run_demo(
    *,
    keep: bool = False,
    echo: Callable[[str], None] = print,
    until: threading.Event | None = None,
    options: DemoOptions | None = None,
) -> DemoOutcome:
    """Run the demo (see the module docstring); with ``keep``, stay up until ``until`` is set
    or Ctrl-C. Raises :class:`DemoError` with what was missing when a deadline passes."""
    from smartlicensing.testing.kubeapi import LocalKubeAPI

    options = options or DemoOptions()
    for needed in (options.crds, options.examples, options.world):
        if not needed.exists():
            raise DemoError(f"{needed} is missing: run the demo from a clone of the repository")
    from kubernetes.client.exceptions import ApiException

    sim = Simulator.from_file(options.world)
    crd_documents = load_manifests(options.crds)

    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="smartlicensing-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    operator_log = workdir / "operator.log"

    with (
        sim.serve_in_thread() as simulator_url,
        LocalKubeAPI() as kube_api,
        operator_logs_to(operator_log),
    ):
        kubeconfig = kube_api.write_kubeconfig(workdir / "kubeconfig")
        echo(f"local Kubernetes API at {kube_api.url}; licensing simulator at {simulator_url}")
        echo(f"the operator's log: {operator_log}")
        echo(f"simulated time starts at {sim.clock.now().isoformat()}")
        examples = load_manifests(options.examples, simulator_url)
        echo(f"examples: {EXAMPLES_SIMULATOR_URL} rewritten to {simulator_url}")
        view = KubeView(kubeconfig, workdir)
        try:
            with kubeconfig_for_kopf(kubeconfig):
                return _run(sim, view, crd_documents, examples, workdir, keep, until, echo, options)
        except ApiException as error:
            raise DemoError(f"the Kubernetes API refused a request: {_reason(error)}") from None
        finally:
            view.close()


def _run(
    sim: Simulator,
    view: KubeView,
    crd_documents: list[dict[str, Any]],
    examples: list[dict[str, Any]],
    workdir: Path,
    keep: bool,
    until: threading.Event | None,
    echo: Callable[[str], None],
    options: DemoOptions,
) -> DemoOutcome:
    echo(f"$ kubectl apply -f {options.crds.name}/")
    for document in crd_documents:
        echo(view.apply(document))
    crd_names = [d["metadata"]["name"] for d in crd_documents]
    _wait(
        "CRDs Established",
        lambda: [name for name in crd_names if not view.crd_established(name)],
        deadline=options.deadline,
        poll_interval=options.poll_interval,
    )
    view.refresh_discovery()

    operator = _Operator(sim.clock.now, options.timer_interval)
    try:
        echo(f"operator running (timer every {options.timer_interval:g} s, simulator clock)")
        echo(f"$ kubectl apply -f examples/{options.examples.name}/")
        for document in examples:
            echo(view.apply(document))

        shown: list[tuple[tuple[str, ...], ...]] = []

        def show_changes() -> None:
            operator.check_running()
            tables = {kind: view.table(kind) for kind in KINDS}
            signature = table_signature(tables)
            if not shown or shown[-1] != signature:
                shown.append(signature)
                echo("$ kubectl get smartlicensing -A")
                echo(render_tables(tables))

        progress = Progress()

        def first_goal() -> list[str]:
            progress.accounts = view.list("SmartAccount")
            progress.registrations = view.list("SmartLicenseRegistration")
            return progress.missing()

        _wait(
            "SmartAccounts and Api registrations Ready, Manual ones waiting for a person",
            first_goal,
            deadline=options.deadline,
            poll_interval=options.poll_interval,
            on_each=show_changes,
        )
        ready = tuple(
            f"{kind} {key(obj)}"
            for kind, objects in (
                ("SmartAccount", progress.accounts),
                ("SmartLicenseRegistration", progress.api_registrations),
            )
            for obj in objects
        )
        awaiting = {
            key(r): str((condition(r, conditions.REGISTERED) or {}).get("message", ""))
            for r in progress.manual_registrations
        }
        for name, instruction in awaiting.items():
            echo(f"{name} waits for a person: {instruction}")

        syncs = _one_day(sim, view, progress.api_registrations, echo, show_changes, options)
        cssm_calls, cluster_calls = _count_calls(sim)
        outcome = DemoOutcome(
            ready=ready,
            awaiting_user=awaiting,
            syncs_after_a_day=syncs,
            cssm_calls=cssm_calls,
            cluster_calls=cluster_calls,
            kubeconfig=workdir / "kubeconfig",
            operator_log=workdir / "operator.log",
        )
        echo(summary(outcome))
        if keep:
            _stay_up(outcome.kubeconfig, until, echo)
        return outcome
    finally:
        operator.stop()


def _one_day(
    sim: Simulator,
    view: KubeView,
    registrations: list[dict[str, Any]],
    echo: Callable[[str], None],
    show_changes: Callable[[], None],
    options: DemoOptions,
) -> dict[str, int]:
    """Move the simulator's clock one day; wait for one sync of every Api registration."""
    before = {key(r): r.get("status", {}).get("lastSyncTime") for r in registrations}
    uuids = {key(r): str(r["spec"]["cluster"]["uuid"]) for r in registrations}
    seq = max((entry["seq"] for entry in sim.calls.entries()), default=0)
    now = sim.clock.advance(days=1)
    echo(f"simulator clock moved one day, to {now.isoformat()}")

    def synced() -> list[str]:
        current = {key(r): r for r in view.list("SmartLicenseRegistration")}
        missing = []
        for name, last in before.items():
            moved = current.get(name, {}).get("status", {}).get("lastSyncTime") != last
            if not moved or _renewals(sim, uuids[name], seq) < 1:
                missing.append(f"{name} has not synced since {last}")
        return missing

    _wait(
        "one sync of every Api registration after a day",
        synced,
        deadline=options.deadline,
        poll_interval=options.poll_interval,
        on_each=show_changes,
    )
    counts = {name: _renewals(sim, uuids[name], seq) for name in before}
    extra = {name: count for name, count in counts.items() if count != 1}
    if extra:
        raise DemoError(
            "after one simulated day each registration should renew once; renewals: "
            + ", ".join(f"{name} {count}" for name, count in sorted(extra.items()))
        )
    return counts


def summary(outcome: DemoOutcome) -> str:
    """The few lines the demo ends with."""
    lines = ["", "Summary"]
    lines += [f"  Ready: {item}" for item in outcome.ready]
    lines += [
        f"  Waiting for a person: {name}: {instruction}"
        for name, instruction in outcome.awaiting_user.items()
    ]
    lines += [
        f"  A simulated day later: {name} synced {count} time{'s' if count != 1 else ''}"
        for name, count in outcome.syncs_after_a_day.items()
    ]
    lines.append(
        f"  Calls (simulator call log): {outcome.cssm_calls} to CSSM and On-Prem, "
        f"{outcome.cluster_calls} to clusters"
    )
    return "\n".join(lines)


def _stay_up(kubeconfig: Path, until: threading.Event | None, echo: Callable[[str], None]) -> None:
    echo(f"kubeconfig: {kubeconfig}")
    echo(f"try: KUBECONFIG={kubeconfig} kubectl get smartlicensing -A   (Ctrl-C stops)")
    stop = until or threading.Event()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        echo("stopping")
