"""The operator's Prometheus metrics, all named ``smartlicensing_*``, and the server of them.

One :class:`Metrics` object owns the collectors and the registry they live in. The process uses
:data:`METRICS` (registered in the default registry, beside ``prometheus_client``'s process and
platform collectors); tests build their own on a fresh :class:`~prometheus_client.CollectorRegistry`
so counts start at zero. Labels are low-cardinality on purpose: an operation name, an outcome
word, a kind, a reason and a state, never an object name, a domain or anything secret.

Counters are incremented where the work happens. The counts of objects by state are not: a
gauge kept by increments and decrements drifts as soon as one deletion or restart is missed.
:class:`Census` instead asks, at scrape time, a function the running operator binds to it (the
operator counts its kopf indexes, which kopf itself keeps right across deletions and restarts).

:class:`MetricsServer` serves one registry over HTTP on the operator's own event loop, with
``prometheus_client``'s exposition (text, or OpenMetrics when the scraper asks for it), so a
scrape reads the operator's state on the thread that changes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType

from aiohttp import web
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from smartlicensing.observability.endpoints import ListenAddress

logger = logging.getLogger(__name__)

CSSM_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""CSSM answers in about a second; retries with backoff can stretch one call to a minute."""


@dataclass(frozen=True)
class ObjectCounts:
    """How many objects the operator sees, by state, at one moment."""

    #: SmartLicenseRegistrations by ``status.registration.state``.
    registrations: Mapping[str, int] = field(default_factory=dict)
    #: Objects by (kind, status of their Ready condition).
    ready: Mapping[tuple[str, str], int] = field(default_factory=dict)


class Census:
    """A collector of :class:`ObjectCounts`, read at scrape time from the bound function.

    Unbound (no operator running in this process), it exports nothing rather than zeros that
    would claim there are no registrations.
    """

    def __init__(self) -> None:
        self._count: Callable[[], ObjectCounts] | None = None

    def bind(self, count: Callable[[], ObjectCounts]) -> None:
        """Read counts from ``count`` from now on (the latest operator to start wins)."""
        self._count = count

    def unbind(self, count: Callable[[], ObjectCounts] | None) -> None:
        """Stop reading ``count``; another operator's binding is left alone."""
        if self._count is count:
            self._count = None

    def describe(self) -> Iterable[Metric]:
        return self._families(ObjectCounts())

    def collect(self) -> Iterable[Metric]:
        if self._count is None:
            return []
        return self._families(self._count())

    @staticmethod
    def _families(counts: ObjectCounts) -> list[Metric]:
        registrations = GaugeMetricFamily(
            "smartlicensing_registrations",
            "SmartLicenseRegistrations by registration state (Unknown: none observed yet).",
            labels=["state"],
        )
        for state, count in sorted(counts.registrations.items()):
            registrations.add_metric([state], count)
        ready = GaugeMetricFamily(
            "smartlicensing_ready",
            "Objects by kind and the status of their Ready condition (True, False, Unknown).",
            labels=["kind", "ready"],
        )
        for (kind, status), count in sorted(counts.ready.items()):
            ready.add_metric([kind, status], count)
        return [registrations, ready]


class Metrics:
    """Every collector the operator exports, in one registry."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.registry = registry
        self.cssm_calls = Counter(
            "smartlicensing_cssm_calls",
            "Calls to CSSM or On-Prem, by operation and outcome.",
            ["operation", "outcome"],
            registry=registry,
        )
        self.cssm_call_seconds = Histogram(
            "smartlicensing_cssm_call_duration_seconds",
            "Time one CSSM operation took, retries and waits included.",
            ["operation"],
            buckets=CSSM_LATENCY_BUCKETS,
            registry=registry,
        )
        self.product_calls = Counter(
            "smartlicensing_product_calls",
            "Calls to Secure Workload clusters through the api driver, by operation and outcome.",
            ["operation", "outcome"],
            registry=registry,
        )
        self.reconciles = Counter(
            "smartlicensing_reconcile",
            "Reconcile passes, by kind and the reason of their resulting Ready condition.",
            ["kind", "reason"],
            registry=registry,
        )
        self.census = Census()
        registry.register(self.census)

    def record_cssm_call(self, operation: str, outcome: str, seconds: float) -> None:
        self.cssm_calls.labels(operation=operation, outcome=outcome).inc()
        self.cssm_call_seconds.labels(operation=operation).observe(seconds)

    def record_product_call(self, operation: str, outcome: str) -> None:
        self.product_calls.labels(operation=operation, outcome=outcome).inc()

    def record_reconcile(self, kind: str, reason: str) -> None:
        self.reconciles.labels(kind=kind, reason=reason).inc()


METRICS = Metrics()
"""The process-wide collectors, served by the operator's metrics endpoint."""


class MetricsServer:
    """Serves a registry at ``http://host:port/path`` on the running event loop until stopped.

    Use it as ``async with MetricsServer(registry, address) as server:``; :attr:`url` then has
    the port really bound (port 0 asks for a free one). Other paths answer 404.
    """

    def __init__(self, registry: CollectorRegistry, address: ListenAddress) -> None:
        self.registry = registry
        self.address = address
        self._runner: web.AppRunner | None = None
        self._port = address.port

    @property
    def url(self) -> str:
        return ListenAddress(self.address.host, self._port, self.address.path).url

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(self.address.path, self._scrape)
        # No access log: a scrape every few seconds would drown the lines a person reads.
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.address.host, self.address.port, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        logger.info("serving metrics at %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _scrape(self, request: web.Request) -> web.Response:
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(self.registry), headers={"Content-Type": content_type})
