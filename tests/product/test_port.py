"""Both drivers satisfy the port, so handlers hold either as a ``ProductDriver``."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from smartlicensing.observability.metrics import Metrics
from smartlicensing.product import ProductDriver, SecretInput, SecretKeyRef, StepResult
from smartlicensing.product.api_driver import ApiCredentials, ApiDriver
from smartlicensing.product.manual_driver import ManualDriver, ObservedInstance

from .fake_cluster import API_KEY, API_SECRET, UUID, FakeCluster

TOKEN = SecretInput(SecretStr("canary-port-token"), SecretKeyRef("ns", "tok", "token"))


class NoInstances:
    async def find_product_instance(self, cluster_uuid: str) -> ObservedInstance | None:
        return None


def drivers() -> list[ProductDriver]:
    api = ApiDriver(
        "https://sim.test/clusters/" + UUID,
        ApiCredentials(API_KEY, SecretStr(API_SECRET)),
        cluster_uuid=UUID,
        transport=httpx.MockTransport(FakeCluster()),
        metrics=Metrics(CollectorRegistry()),
    )
    return [api, ManualDriver(cluster_uuid=UUID, instances=NoInstances())]


@pytest.mark.parametrize("index", [pytest.param(0, id="api"), pytest.param(1, id="manual")])
async def test_register_then_status_reads_alike(index: int) -> None:
    driver = drivers()[index]
    result = await driver.register(TOKEN, "https://smartreceiver.cisco.com/licservice/license")
    status = await driver.status()
    await driver.aclose()

    assert isinstance(result, StepResult)
    # Exactly one of: the cluster's status (api), or an instruction for a person (manual).
    assert (result.status is None) == result.awaiting_user
    assert status.uuid == UUID
    assert "canary-port-token" not in repr(result)
