"""Fixtures for the simulator's tests: the example world and an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sim.harness import Driver, make_simulator
from smartlicensing.testing.sim import Simulator


@pytest.fixture
def sim() -> Simulator:
    return make_simulator()


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


@pytest.fixture
def drv(sim: Simulator, http: httpx.AsyncClient) -> Driver:
    return Driver(sim, http)
