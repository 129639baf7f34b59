"""Overlapping reads of one Secret are one GET; reads that do not overlap each go to the API."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from smartlicensing import kube
from smartlicensing.handlers.runtime import Runtime


class GatedSecrets:
    """A SecretsAPI whose reads wait for ``gate`` and are counted per Secret name."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.reads: dict[str, int] = {}
        self.version = 1

    async def read_namespaced_secret(self, name: str, namespace: str) -> dict[str, Any]:
        self.reads[name] = self.reads.get(name, 0) + 1
        await asyncio.wait_for(self.gate.wait(), 10)
        if name == "missing":
            raise ApiException(status=404, reason="Not Found")
        value = base64.b64encode(f"value-of-{name}".encode()).decode()
        return {
            "metadata": {"name": name, "resourceVersion": str(self.version)},
            "data": {"key": value},
        }

    async def create_namespaced_secret(self, namespace: str, body: Any) -> Any:
        raise AssertionError("unexpected create")

    async def replace_namespaced_secret(self, name: str, namespace: str, body: Any) -> Any:
        raise AssertionError("unexpected replace")

    async def delete_namespaced_secret(self, name: str, namespace: str) -> None:
        raise AssertionError("unexpected delete")

    async def aclose(self) -> None:
        return None


async def until(condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


async def test_overlapping_reads_of_one_secret_share_one_get() -> None:
    api = GatedSecrets()
    runtime = Runtime(secrets_factory=lambda: api)
    readers = [asyncio.create_task(runtime.read_secret("ns", "creds")) for _ in range(20)]
    other = asyncio.create_task(runtime.read_secret("ns", "other"))
    await until(lambda: api.reads.get("creds") == 1 and api.reads.get("other") == 1)
    api.gate.set()
    answers = await asyncio.gather(*readers)
    assert {values["key"].get_secret_value() for values, _ in answers} == {"value-of-creds"}
    assert {version for _, version in answers} == {"1"}
    assert (await other)[0]["key"].get_secret_value() == "value-of-other"
    assert api.reads == {"creds": 1, "other": 1}

    # Nothing is kept: the next read asks the API again and sees the new version.
    api.version = 2
    assert (await runtime.read_secret("ns", "creds"))[1] == "2"
    assert api.reads["creds"] == 2


async def test_every_overlapping_reader_gets_the_error() -> None:
    api = GatedSecrets()
    runtime = Runtime(secrets_factory=lambda: api)
    readers = [asyncio.create_task(runtime.read_secret("ns", "missing")) for _ in range(5)]
    await until(lambda: api.reads.get("missing") == 1)
    api.gate.set()
    for reader in readers:
        with pytest.raises(kube.SecretNotFound, match="ns/missing does not exist"):
            await reader
    assert api.reads == {"missing": 1}


async def test_a_cancelled_reader_does_not_cancel_the_others() -> None:
    api = GatedSecrets()
    runtime = Runtime(secrets_factory=lambda: api)
    first = asyncio.create_task(runtime.read_secret("ns", "creds"))
    second = asyncio.create_task(runtime.read_secret("ns", "creds"))
    await until(lambda: api.reads.get("creds") == 1)
    first.cancel()
    api.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await first
    values, _ = await second
    assert values["key"].get_secret_value() == "value-of-creds"
    assert api.reads == {"creds": 1}


async def test_a_fresh_read_does_not_join_one_begun_before_and_later_reads_join_it() -> None:
    api = GatedSecrets()
    runtime = Runtime(secrets_factory=lambda: api)
    old = asyncio.create_task(runtime.read_secret("ns", "creds"))
    await until(lambda: api.reads.get("creds") == 1)
    fresh = asyncio.create_task(runtime.read_secret("ns", "creds", fresh=True))
    await until(lambda: api.reads.get("creds") == 2)
    joined = asyncio.create_task(runtime.read_secret("ns", "creds"))
    api.gate.set()
    await asyncio.gather(old, fresh, joined)
    assert api.reads == {"creds": 2}  # the fresh read, not a third one, answered the last caller
