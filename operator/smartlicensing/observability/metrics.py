"""The operator's Prometheus metrics, all named ``smartlicensing_*``.

One :class:`Metrics` object owns the collectors and the registry they live in. The process uses
:data:`METRICS` (registered in the default registry that ``prometheus_client`` serves); tests
build their own on a fresh :class:`~prometheus_client.CollectorRegistry` so counts start at zero.
Labels are low-cardinality on purpose: an operation name, an outcome word, a kind and a reason,
never an object name, a domain or anything secret.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

CSSM_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""CSSM answers in about a second; retries with backoff can stretch one call to a minute."""


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
        self.registrations = Gauge(
            "smartlicensing_registrations",
            "SmartLicenseRegistrations by registration state.",
            ["state"],
            registry=registry,
        )

    def record_cssm_call(self, operation: str, outcome: str, seconds: float) -> None:
        self.cssm_calls.labels(operation=operation, outcome=outcome).inc()
        self.cssm_call_seconds.labels(operation=operation).observe(seconds)

    def record_product_call(self, operation: str, outcome: str) -> None:
        self.product_calls.labels(operation=operation, outcome=outcome).inc()

    def record_reconcile(self, kind: str, reason: str) -> None:
        self.reconciles.labels(kind=kind, reason=reason).inc()

    def set_registrations(self, counts: dict[str, int]) -> None:
        """Replace the per-state counts (states absent from ``counts`` drop to zero)."""
        self.registrations.clear()
        for state, count in counts.items():
            self.registrations.labels(state=state).set(count)


METRICS = Metrics()
"""The process-wide collectors, served by the operator's metrics endpoint."""
