"""One Event per pass: the most important transition leads, every other one is named in it."""

from __future__ import annotations

from typing import Any

import kopf
import pytest
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from smartlicensing.api import conditions as c
from smartlicensing.handlers.status import write_status
from smartlicensing.observability.metrics import Metrics

STAMP = "2026-12-03T10:00:00Z"


class Conditions(BaseModel):
    conditions: list[dict[str, Any]]


def condition(kind: str, status: str, reason: str, message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message or f"{kind} {reason}",
        "lastTransitionTime": STAMP,
        "observedGeneration": 1,
    }


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    events: list[tuple[str, str, str]] = []

    def recorder(kind: str) -> Any:
        def post(_: Any, *, reason: str, message: str) -> None:
            events.append((kind, reason, message))

        return post

    monkeypatch.setattr(kopf, "info", recorder("Normal"))
    monkeypatch.setattr(kopf, "warn", recorder("Warning"))
    return events


def write(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> kopf.Patch:
    patch = kopf.Patch()
    body = kopf.Body({"metadata": {"name": "csw-east", "namespace": "licensing"}})
    write_status(
        patch,
        body,
        {"conditions": old},
        Conditions(conditions=new),
        kind="SmartLicenseRegistration",
        metrics=Metrics(CollectorRegistry()),
    )
    return patch


def test_becoming_ready_is_one_event_naming_every_transition(posted: list[Any]) -> None:
    write(
        [condition(c.READY, "False", c.ACCOUNT_NOT_READY)],
        [
            condition(c.TOKEN_READY, "True", c.TOKEN_ISSUED, "token issued, expires in 30 days"),
            condition(c.REGISTERED, "True", c.REGISTERED, "registered with acme.example.com"),
            condition(c.AUTHORIZED, "True", c.AUTHORIZED),
            condition(c.COMPLIANT, "True", c.IN_COMPLIANCE),
            condition(c.READY, "True", c.REGISTERED, "registered and authorized"),
            condition(c.RECONCILING, "False", c.REGISTERED),
            condition(c.STALLED, "False", c.REGISTERED),
        ],
    )

    ((kind, reason, message),) = posted
    assert (kind, reason) == ("Normal", c.REGISTERED)
    assert message.startswith("Ready is True: registered and authorized | also ")
    assert "TokenReady is True (TokenIssued): token issued, expires in 30 days" in message
    assert "Registered is True (Registered): registered with acme.example.com" in message
    assert f"Authorized is True ({c.AUTHORIZED})" in message
    assert f"Compliant is True ({c.IN_COMPLIANCE})" in message
    # Reconciling and Stalled appeared as False: no transition to tell.
    assert "Reconciling" not in message
    assert "Stalled" not in message


def test_a_stall_leads_as_a_warning_with_its_own_reason(posted: list[Any]) -> None:
    write(
        [condition(c.READY, "True", c.REGISTERED), condition(c.STALLED, "False", c.REGISTERED)],
        [
            condition(c.READY, "False", c.CLUSTER_CLAIMED),
            condition(c.STALLED, "True", c.CLUSTER_CLAIMED, "managed by licensing/csw-east"),
        ],
    )

    ((kind, reason, message),) = posted
    assert (kind, reason) == ("Warning", c.CLUSTER_CLAIMED)
    assert message.startswith("Stalled is True: managed by licensing/csw-east | also Ready")


def test_a_condition_moving_alone_is_its_own_event(posted: list[Any]) -> None:
    ready = condition(c.READY, "True", c.REGISTERED)
    write(
        [ready, condition(c.COMPLIANT, "True", c.IN_COMPLIANCE)],
        [ready, condition(c.COMPLIANT, "False", c.OVER_UTILIZED, "too few licenses")],
    )

    assert posted == [("Normal", c.OVER_UTILIZED, "Compliant is False: too few licenses")]


def test_nothing_moved_is_no_event(posted: list[Any]) -> None:
    same = [condition(c.READY, "True", c.REGISTERED)]
    changed_message = [condition(c.READY, "True", c.REGISTERED, "synced again")]

    write(same, changed_message)

    assert posted == []


def test_waiting_for_the_account_is_normal_and_its_failure_is_a_warning(posted: list[Any]) -> None:
    write(
        [],
        [
            condition(c.READY, "False", c.ACCOUNT_NOT_READY, "SmartAccount acme: not checked yet"),
            condition(c.RECONCILING, "True", c.ACCOUNT_NOT_READY),
        ],
    )
    write(
        [condition(c.READY, "True", c.REGISTERED)],
        [condition(c.READY, "False", c.CSSM_UNAVAILABLE, "CSSM answered 503")],
    )

    assert [(kind, reason) for kind, reason, _ in posted] == [
        ("Normal", c.ACCOUNT_NOT_READY),
        ("Warning", c.CSSM_UNAVAILABLE),
    ]


def test_an_empty_or_repeated_message_is_not_written_again(posted: list[Any]) -> None:
    waiting = "SmartAccount acme has not been checked at CSSM yet"
    write(
        [],
        [
            condition(c.READY, "False", c.ACCOUNT_NOT_READY, waiting),
            condition(c.RECONCILING, "True", c.ACCOUNT_NOT_READY, waiting),
            {**condition(c.TOKEN_READY, "False", c.ACCOUNT_NOT_READY), "message": ""},
        ],
    )

    ((_, _, message),) = posted
    assert message == (
        f"Ready is False: {waiting} | also TokenReady is False (AccountNotReady); "
        "Reconciling is True (AccountNotReady)"
    )
