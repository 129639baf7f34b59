"""Canary secrets never surface: not in logs (text or JSON), Events, status, any field of any
custom resource, or the metrics endpoint, through a run with successes, refusals, an outage and
deletions.

The canaries are the CSSM client secret, a cluster's API secret and the tokens a registration
reads from its Secret (one the cluster rejects, one it accepts), plus the token the operator
issues itself. Logs are captured at DEBUG, kopf's included, both as the operator formats them
and as raw records before any redaction.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from licensing_env import EAST, LAB, WEST, Licensing, world_text

from scenarios.steps import ACCOUNTS, REGISTRATIONS, CSSMPortal, status_of, wait_gone
from smartlicensing.api.meta import GROUP, VERSION
from smartlicensing.observability.logs import (
    RedactingFilter,
    RedactingJsonFormatter,
    RedactingTextFormatter,
)

CLIENT_SECRET = "canary-cssm-client-secret-Hq7Zp3"
API_SECRET = "canary-cluster-api-secret-9dK2vXw4LmQ8rT6yB1nC"
REJECTED_TOKEN = "canary-rejected-token-Jf4s8Wq2"


def canary_world(world: dict[str, Any]) -> None:
    world["cloud"]["apiClients"][0]["clientSecret"] = CLIENT_SECRET
    for cluster in world["clusters"]:
        if cluster["uuid"] == EAST:
            cluster["apiSecret"] = API_SECRET


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[dict[str, io.StringIO]]:
    """The operator's log lines in both formats, at DEBUG, for the whole test."""
    caplog.set_level(logging.DEBUG)
    streams = {"text": io.StringIO(), "json": io.StringIO()}
    formatters: dict[str, logging.Formatter] = {
        "text": RedactingTextFormatter(),
        "json": RedactingJsonFormatter(),
    }
    handlers = []
    for name, stream in streams.items():
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatters[name])
        handler.addFilter(RedactingFilter())
        handlers.append(handler)
        logging.getLogger().addHandler(handler)
    try:
        yield streams
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)


def everything_in_the_api(licensing: Licensing) -> str:
    """Every field of every custom resource and Event in the namespace, as text."""
    found: list[Any] = []
    for plural in ("smartaccounts", "smartlicenseregistrations"):
        found.append(
            licensing.custom.list_namespaced_custom_object(
                GROUP, VERSION, licensing.namespace, plural
            )
        )
    events = licensing.core.list_namespaced_event(licensing.namespace)
    found.append(licensing.api_client.sanitize_for_serialization(events))
    return json.dumps(found)


def canary_account(licensing: Licensing) -> None:
    licensing.ready_cloud_account(client_secret=CLIENT_SECRET)


@pytest.mark.parametrize("licensing_world", [world_text(edit=canary_world)], ids=["canaries"])
def test_no_canary_surfaces_anywhere(
    licensing: Licensing,
    captured_logs: dict[str, io.StringIO],
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary_account(licensing)
    portal = CSSMPortal(licensing, secret=CLIENT_SECRET)
    accepted_token = portal.issue()
    licensing.secret("east-token", {"token": accepted_token})
    licensing.secret("west-token", {"token": REJECTED_TOKEN})

    # Accepted, rejected, and issued through a CSSM outage.
    licensing.registration("csw-east", EAST, token={"secretRef": {"name": "east-token"}})
    licensing.registration("csw-west", WEST, token={"secretRef": {"name": "west-token"}})
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")
    licensing.wait_condition(REGISTRATIONS, "csw-west", "Stalled", "True", "InvalidToken")
    outage = licensing.sim.faults.add({"kind": "error", "path": "/services/*", "status": 503})
    licensing.registration("csw-lab", LAB)
    licensing.wait_condition(REGISTRATIONS, "csw-lab", "Ready", "False", "CSSMUnavailable")
    requested = licensing.advance(minutes=1).isoformat()
    licensing.request_sync(ACCOUNTS, "acme", requested)
    licensing.wait_condition(ACCOUNTS, "acme", "Ready", "False", "CSSMUnavailable")
    licensing.sim.faults.remove(outage.id)
    licensing.advance(hours=1, seconds=1)
    licensing.wait_condition(ACCOUNTS, "acme", "Ready", "True")
    licensing.wait_condition(REGISTRATIONS, "csw-lab", "Ready", "True")
    issued_token = licensing.secret_value("csw-lab-token", "token")
    assert status_of(licensing, "csw-lab")["token"]["issued"] is True
    before_deletion = everything_in_the_api(licensing)

    for name in ("csw-east", "csw-west", "csw-lab"):
        licensing.delete(REGISTRATIONS, name)
    for name in ("csw-east", "csw-west", "csw-lab"):
        wait_gone(licensing, name)
    assert licensing.cluster_state(EAST)["registration"]["state"] == "Unregistered"

    canaries = [CLIENT_SECRET, API_SECRET, REJECTED_TOKEN, accepted_token, issued_token]
    places = {
        "text log": captured_logs["text"].getvalue(),
        "JSON log": captured_logs["json"].getvalue(),
        "raw log records": "\n".join(
            f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records
        ),
        "the API before deletion": before_deletion,
        "the API after deletion": everything_in_the_api(licensing),
        "the metrics endpoint": licensing.scrape(),
    }
    assert all(places.values()), "every place was captured"
    assert "InvalidToken" in places["the API before deletion"]
    json_lines = places["JSON log"].splitlines()
    assert json_lines, "the JSON handler wrote lines"
    assert all("message" in json.loads(line) for line in json_lines), "each line is JSON"
    for canary in canaries:
        encoded = base64.b64encode(canary.encode()).decode()
        for place, text in places.items():
            assert canary not in text, f"a canary surfaced in {place}"
            assert encoded not in text, f"a base64 canary surfaced in {place}"
