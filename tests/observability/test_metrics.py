"""The collectors and the server of ``/metrics``: counts, the census read at scrape time, HTTP."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from smartlicensing.observability.endpoints import ListenAddress, listen_address
from smartlicensing.observability.metrics import Metrics, MetricsServer, ObjectCounts


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_reconciles_are_counted_by_kind_and_reason() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.record_reconcile("SmartLicenseRegistration", "Registered")
    metrics.record_reconcile("SmartLicenseRegistration", "Registered")

    value = metrics.registry.get_sample_value(
        "smartlicensing_reconcile_total",
        {"kind": "SmartLicenseRegistration", "reason": "Registered"},
    )

    assert value == 2


def test_the_census_exports_nothing_until_an_operator_binds_it() -> None:
    metrics = Metrics(CollectorRegistry())

    assert metrics.registry.get_sample_value("smartlicensing_registrations", {"state": "x"}) is None
    assert [
        f.name for f in metrics.registry.collect() if f.name.startswith("smartlicensing_r")
    ] == ["smartlicensing_reconcile"]


def test_the_census_reads_the_bound_counts_at_every_scrape() -> None:
    metrics = Metrics(CollectorRegistry())
    current = {"Registered": 3, "AwaitingUser": 1}
    metrics.census.bind(
        lambda: ObjectCounts(
            registrations=dict(current),
            ready={("SmartLicenseRegistration", "True"): current["Registered"]},
        )
    )
    sample = metrics.registry.get_sample_value

    assert sample("smartlicensing_registrations", {"state": "Registered"}) == 3
    assert sample("smartlicensing_registrations", {"state": "AwaitingUser"}) == 1
    current["Registered"] = 2
    assert sample("smartlicensing_registrations", {"state": "Registered"}) == 2
    assert (
        sample("smartlicensing_ready", {"kind": "SmartLicenseRegistration", "ready": "True"}) == 2
    )


def test_unbinding_another_operators_census_keeps_the_current_one() -> None:
    metrics = Metrics(CollectorRegistry())

    def first() -> ObjectCounts:
        return ObjectCounts(registrations={"Registered": 1})

    def second() -> ObjectCounts:
        return ObjectCounts(registrations={"Registered": 2})

    metrics.census.bind(first)
    metrics.census.bind(second)
    metrics.census.unbind(first)
    assert (
        metrics.registry.get_sample_value("smartlicensing_registrations", {"state": "Registered"})
        == 2
    )

    metrics.census.unbind(second)
    assert (
        metrics.registry.get_sample_value("smartlicensing_registrations", {"state": "Registered"})
        is None
    )


# --- the endpoint ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "complaint"),
    [
        pytest.param("localhost:9402/metrics", "is not an http:// URL", id="no-scheme"),
        pytest.param("https://0.0.0.0:9402/metrics", "is not an http:// URL", id="https"),
        pytest.param("http://0.0.0.0:70000/metrics", "no valid port", id="port-out-of-range"),
        pytest.param("http://0.0.0.0:port/metrics", "no valid port", id="port-not-a-number"),
        pytest.param("http://0.0.0.0:9402", "needs a path", id="no-path"),
        pytest.param("http://0.0.0.0:9402/metrics#x", "needs a path", id="fragment"),
    ],
)
def test_an_endpoint_that_cannot_be_served_is_refused_with_an_example(
    endpoint: str, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint) as refused:
        listen_address(endpoint, example="http://0.0.0.0:9402/metrics", what="metrics")

    assert "give e.g. http://0.0.0.0:9402/metrics" in str(refused.value)


def test_port_zero_is_only_for_those_who_ask_for_any_port() -> None:
    with pytest.raises(ValueError, match="no valid port"):
        listen_address("http://127.0.0.1:0/metrics", example="e", what="metrics")

    address = listen_address("http://127.0.0.1:0/m", example="e", what="metrics", any_port=True)

    assert address == ListenAddress("127.0.0.1", 0, "/m")


async def test_the_server_serves_the_registry_at_its_path_until_stopped() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.record_cssm_call("list_tokens", "success", 0.2)
    server = MetricsServer(metrics.registry, ListenAddress("127.0.0.1", 0, "/metrics"))

    async with server, httpx.AsyncClient() as client:
        assert server.url.startswith("http://127.0.0.1:")
        assert not server.url.startswith("http://127.0.0.1:0/")
        scraped = await client.get(server.url)
        elsewhere = await client.get(server.url.replace("/metrics", "/other"))

    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(scraped.text)
    key = (
        "smartlicensing_cssm_calls_total",
        (("operation", "list_tokens"), ("outcome", "success")),
    )
    assert found[key] == 1
    assert elsewhere.status_code == 404
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(server.url)


async def test_the_server_speaks_openmetrics_to_a_scraper_that_asks() -> None:
    metrics = Metrics(CollectorRegistry())
    server = MetricsServer(metrics.registry, ListenAddress("127.0.0.1", 0, "/metrics"))

    async with server, httpx.AsyncClient() as client:
        answer = await client.get(
            server.url, headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )

    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.rstrip().endswith("# EOF")
