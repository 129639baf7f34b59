"""An edit that arrives while a pass is under way is judged after that pass, not before it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import kopf
import pytest

from smartlicensing.handlers import registrations
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.reconcile.attempts import Due

UID = "uid-1"
BODY = kopf.Body(cast(kopf.RawBody, {"metadata": {"name": "csw", "namespace": "ns", "uid": UID}}))


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[Due]:
    """Passes started, by why they were due; ``_due`` reads a flag the test sets."""
    started: list[Due] = []

    async def due(runtime: Runtime, body: Any, accounts: Any, *, recheck_stalled: bool) -> Any:
        stalled = runtime.remembered_status(UID) == {"stalledInputs": "before-the-edit"}
        return Due.INPUTS_CHANGED if stalled and recheck_stalled else None

    class Pass:
        def __init__(self, runtime: Runtime, body: Any, patch: Any, accounts: Any, why: Due):
            self.why = why

        async def run(self) -> None:
            started.append(self.why)

    monkeypatch.setattr(registrations, "_due", due)
    monkeypatch.setattr(registrations, "RegistrationPass", Pass)
    return started


async def stall_during_a_pass(runtime: Runtime, *, edited: bool) -> None:
    """A pass holds the lock; an event comes; the pass ends with the object stalled."""
    lock = runtime.lock_for(UID)
    await lock.acquire()
    event = asyncio.create_task(
        registrations._pass_if_due(runtime, BODY, kopf.Patch(), {}, recheck_stalled=edited)
    )
    await asyncio.sleep(0.01)
    runtime._statuses[UID] = {"stalledInputs": "before-the-edit"}
    lock.release()
    await asyncio.wait_for(event, 5)


async def test_an_edit_during_a_pass_is_judged_once_the_pass_is_done(passes: list[Due]) -> None:
    await stall_during_a_pass(Runtime(), edited=True)

    assert passes == [Due.INPUTS_CHANGED]


async def test_a_status_write_during_a_pass_does_not_wait_for_it(passes: list[Due]) -> None:
    await stall_during_a_pass(Runtime(), edited=False)

    assert passes == []


async def test_no_pass_starts_once_the_operator_is_closing(passes: list[Due]) -> None:
    runtime = Runtime(closing=True)
    runtime._statuses[UID] = {"stalledInputs": "before-the-edit"}  # a pass would be due

    await registrations._pass_if_due(runtime, BODY, kopf.Patch(), {}, recheck_stalled=True)

    assert passes == []
