"""Starting the operator: kopf's settings, the runtime in ``memo``, and the ways to run it.

Three ways in, one set of handlers:

- ``smartlicensing run`` and embedders call :func:`run_operator` (or, from synchronous code such
  as the demo, :func:`start_operator_thread`), which builds a fresh registry with the given
  settings and hands kopf a ``memo`` holding the :class:`~.runtime.Runtime` with the given clock;
- ``kopf run -m smartlicensing.handlers`` (and ``kopf.testing.KopfRunner``) use kopf's default
  registry, which importing :mod:`smartlicensing.handlers` fills with settings from the
  environment. :func:`configure` is the test seam for that path: it replaces the default
  registry with one built from the given settings (the timer interval is fixed when a handler is
  registered) and sets the clock the startup handler puts into the runtime.

The kopf settings are part of the operator's contract with objects already in a cluster, so
they are set in one place: our finalizer, and the progress of deletion handlers in
``smartlicensing.dev`` annotations (kopf's default ``status.kopf`` would be pruned by our CRD
schema); no diff base at all (:class:`NoDiffBase`); only our own Events are posted; watches and
API requests time out so a silently dead connection heals.

Metrics: :func:`run_operator` serves the registry of its :class:`~.metrics.Metrics` at
``metrics_endpoint`` for exactly as long as kopf runs (the endpoint goes when the operator
stops, so one process can start and stop operators many times); the startup handler binds the
census indexes (:mod:`.census`) to that registry's gauges and the cleanup handler unbinds them.
``kopf run -m smartlicensing.handlers`` serves no metrics endpoint of its own.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import threading
from collections.abc import Callable, Collection
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import kopf

from smartlicensing.api.meta import ANNOTATION_PREFIX, FINALIZER
from smartlicensing.config import METRICS_ENDPOINT, OperatorSettings
from smartlicensing.handlers import accounts, census, registrations
from smartlicensing.handlers.runtime import Clock, Runtime, wall_clock
from smartlicensing.observability.endpoints import listen_address
from smartlicensing.observability.metrics import METRICS, Metrics, MetricsServer

logger = logging.getLogger(__name__)


@dataclass
class _Configuration:
    settings: OperatorSettings | None = None
    clock: Clock | None = None


_configured = _Configuration()


def configure(*, clock: Clock | None = None, settings: OperatorSettings | None = None) -> None:
    """Set the clock and settings of an operator started through kopf's default registry.

    For tests with ``KopfRunner`` and for ``kopf run -m smartlicensing.handlers``; call it
    before the operator starts. ``settings`` rebuilds the default registry (handlers are
    registered with the settings' timer interval); ``clock`` is read by the startup handler.
    """
    if clock is not None:
        _configured.clock = clock
    if settings is not None:
        _configured.settings = settings
        kopf.set_default_registry(build_registry(settings))


def install_default() -> None:
    """Fill kopf's default registry with the handlers, settings from the environment."""
    settings = _configured.settings or OperatorSettings()
    _configured.settings = settings
    install(kopf.get_default_registry(), settings)


def build_registry(settings: OperatorSettings) -> kopf.OperatorRegistry:
    """A registry with every handler of the operator, for these settings."""
    registry = kopf.OperatorRegistry()
    install(registry, settings)
    return registry


def install(registry: kopf.OperatorRegistry, settings: OperatorSettings) -> None:
    """Register the operator's handlers (start-up, accounts, registrations) in ``registry``."""
    kopf.on.login(registry=registry)(login)
    kopf.on.startup(registry=registry)(startup)
    kopf.on.cleanup(registry=registry)(cleanup)
    accounts.install(registry, settings)
    registrations.install(registry, settings)
    census.install(registry)


def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
    """Log in as the ``kubernetes`` client does: in-cluster, else the kubeconfig."""
    return kopf.login_via_client(**kwargs)


class QuietTimers(logging.Filter):
    """Demotes kopf's "Timer ... succeeded." lines to DEBUG.

    The timer runs for every object every ``timer_interval`` and almost always finds nothing
    due; at INFO its success line would drown the lines a person cares about.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and record.getMessage().startswith("Timer '"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_QUIET_TIMERS = QuietTimers()


class NoDiffBase(kopf.DiffBaseStorage):
    """kopf's "last handled configuration", not kept.

    Every handler decides from the object as it is (``generation`` against
    ``observedGeneration``, the timetable in status, the sync annotation), never from kopf's diff
    of two versions, and reacts to watch events (``kopf.on.event``) rather than to kopf's
    create/update causes. Keeping a diff base would cost a PATCH of the object after every
    change, and the watch event it makes, for nothing; building one copies the whole body on
    every event. Objects that carry a ``smartlicensing.dev/last-handled-configuration``
    annotation from an older release keep it; nothing reads it.
    """

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        return {}

    def fetch(self, *, body: Any) -> None:
        return None

    def store(self, *, body: Any, patch: Any, essence: Any) -> None:
        return None


def configure_kopf(settings: kopf.OperatorSettings, ours: OperatorSettings) -> None:
    """kopf's settings for this operator (see the module docstring for why each)."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = NoDiffBase()
    settings.posting.loggers = False
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = ours.watch_server_timeout
    settings.watching.client_timeout = ours.watch_client_timeout
    settings.networking.request_timeout = ours.request_timeout
    settings.networking.connect_timeout = ours.connect_timeout
    settings.execution.default_backoff = ours.unexpected_error_backoff
    # NB: a timer pass still running when its object is deleted holds the finalizer until kopf
    # looks again; with kopf's 60 s default, `kubectl delete` would hang for up to a minute.
    settings.background.cancellation_polling = ours.timer_exit_polling
    objects = logging.getLogger("kopf.objects")
    if _QUIET_TIMERS not in objects.filters:
        objects.addFilter(_QUIET_TIMERS)


def tune_garbage_collector(threshold: int) -> None:
    """Fewer garbage collections, over fewer objects, for an operator process.

    For the process that runs nothing but the operator (``smartlicensing run``), never for an
    embedder's: the settings are process-wide. ``threshold`` sets how many allocations start a
    collection of the youngest generation; every watch event allocates thousands of short-lived
    objects, most freed by reference counting, and with Python's 700 the collector ran hundreds
    of times for 200 registrations, a sixth of the operator's CPU. The older generations are
    still collected every 10 younger collections, as by default, so cyclic garbage does not pile
    up. What is alive after a collection now (modules, their classes, pydantic's validators)
    lives as long as the process, so it is frozen out of every later collection. 0 changes
    nothing: Python's thresholds, nothing frozen.
    """
    if not threshold:
        return
    gc.collect()  # garbage of the imports is freed, not frozen for good
    gc.freeze()
    gc.set_threshold(threshold, 10, 10)


async def startup(settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any) -> None:
    """Configure kopf, put the runtime into ``memo`` (unless the embedder already did), and
    bind the census indexes to the runtime's gauges."""
    runtime = memo.get("runtime")
    if not isinstance(runtime, Runtime):
        runtime = Runtime(
            settings=_configured.settings or OperatorSettings(),
            clock=_configured.clock or wall_clock,
        )
        memo["runtime"] = runtime
    configure_kopf(settings, runtime.settings)
    # kopf hands startup handlers the indexes, still empty, as live views that fill as it lists.
    count = functools.partial(
        census.counts, kwargs[census.REGISTRATION_INDEX], kwargs[census.ACCOUNT_INDEX]
    )
    memo["census"] = count
    runtime.metrics.census.bind(count)
    logger.info("smartlicensing operator started")


async def cleanup(memo: kopf.Memo, **_: Any) -> None:
    """Unbind the census and close the CSSM clients."""
    runtime = memo.get("runtime")
    if isinstance(runtime, Runtime):
        runtime.metrics.census.unbind(memo.get("census"))
        await runtime.aclose()


async def run_operator(
    *,
    clock: Clock | None = None,
    settings: OperatorSettings | None = None,
    namespaces: Collection[str] = (),
    stop_flag: asyncio.Event | threading.Event | None = None,
    ready_flag: asyncio.Event | threading.Event | None = None,
    liveness_endpoint: str | None = None,
    standalone: bool = True,
    metrics_endpoint: str | None = None,
    metrics: Metrics | None = None,
    metrics_served: Callable[[str], None] | None = None,
) -> None:
    """Run the operator until ``stop_flag`` is set (or the task is cancelled).

    ``namespaces`` empty means every namespace (cluster-wide). ``clock`` is the operator's
    notion of now for schedules and status times; the demo and tests pass the simulator's.
    ``metrics_endpoint`` (e.g. ``http://0.0.0.0:9402/metrics``; port 0 picks a free port)
    serves ``metrics`` (default: the process-wide :data:`~.metrics.METRICS`) while the operator
    runs; ``metrics_served`` is called with its URL once it listens. ``None`` serves nothing.
    """
    settings = settings or OperatorSettings()
    metrics = metrics or METRICS
    runtime = Runtime(settings=settings, clock=clock or wall_clock, metrics=metrics)
    async with AsyncExitStack() as serving:
        if metrics_endpoint is not None:
            address = listen_address(
                metrics_endpoint, example=METRICS_ENDPOINT, what="metrics", any_port=True
            )
            server = await serving.enter_async_context(MetricsServer(metrics.registry, address))
            if metrics_served is not None:
                metrics_served(server.url)
        await kopf.operator(
            registry=build_registry(settings),
            memo=kopf.Memo(runtime=runtime),
            clusterwide=not namespaces,
            namespaces=list(namespaces),
            standalone=standalone,
            stop_flag=stop_flag,
            ready_flag=ready_flag,
            liveness_endpoint=liveness_endpoint,
        )


class OperatorThread:
    """The operator running in its own thread and event loop; :meth:`stop` ends it."""

    def __init__(self, thread: threading.Thread, stop_flag: threading.Event) -> None:
        self._thread = thread
        self._stop_flag = stop_flag
        self.error: BaseException | None = None
        #: Where the metrics are served, when ``metrics_endpoint`` was given.
        self.metrics_url: str | None = None

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the operator to stop and wait for its thread."""
        self._stop_flag.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the operator did not stop within {timeout} s")


def start_operator_thread(
    *,
    clock: Clock | None = None,
    settings: OperatorSettings | None = None,
    namespaces: Collection[str] = (),
    ready_timeout: float = 30.0,
    metrics_endpoint: str | None = None,
    metrics: Metrics | None = None,
) -> OperatorThread:
    """Start the operator in a thread; returns once it is ready (or raises).

    With ``metrics_endpoint`` (port 0: a free port) the handle's ``metrics_url`` says where
    ``metrics`` are served.
    """
    stop_flag, ready_flag = threading.Event(), threading.Event()
    handle: OperatorThread

    def main() -> None:
        try:
            asyncio.run(
                run_operator(
                    clock=clock,
                    settings=settings,
                    namespaces=namespaces,
                    stop_flag=stop_flag,
                    ready_flag=ready_flag,
                    metrics_endpoint=metrics_endpoint,
                    metrics=metrics,
                    metrics_served=served,
                )
            )
        except BaseException as error:
            handle.error = error
            ready_flag.set()
            raise

    def served(url: str) -> None:
        handle.metrics_url = url

    thread = threading.Thread(target=main, name="smartlicensing-operator", daemon=True)
    handle = OperatorThread(thread, stop_flag)
    thread.start()
    if not ready_flag.wait(ready_timeout):
        handle.stop()
        raise TimeoutError(f"the operator was not ready within {ready_timeout} s")
    if handle.error is not None:
        raise RuntimeError(f"the operator failed to start: {handle.error}") from handle.error
    return handle
