"""At cleanup the runtime starts no pass, lets passes under way finish, then closes its clients."""

from __future__ import annotations

import asyncio

import pytest

from smartlicensing.handlers.runtime import Runtime


class Client:
    def __init__(self) -> None:
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


def with_client(runtime: Runtime) -> Client:
    client = Client()
    runtime._clients[("ns", "acme")] = (None, client)  # type: ignore[assignment]
    return client


async def test_clients_are_closed_only_after_the_pass_under_way() -> None:
    runtime = Runtime()
    client = with_client(runtime)
    lock = runtime.lock_for("uid-1")
    await lock.acquire()  # a pass under way

    closing = asyncio.create_task(runtime.aclose(grace=5))
    await asyncio.sleep(0.05)
    assert runtime.closing is True
    assert client.closed is False  # the pass may still use it

    lock.release()
    await asyncio.wait_for(closing, 5)
    assert client.closed is True


@pytest.mark.looptime
async def test_a_pass_that_does_not_end_holds_cleanup_only_for_the_grace() -> None:
    runtime = Runtime()
    client = with_client(runtime)
    await runtime.lock_for("uid-1").acquire()  # never released

    started = asyncio.get_running_loop().time()
    await runtime.aclose(grace=3)

    assert asyncio.get_running_loop().time() - started == pytest.approx(3)
    assert client.closed is True
