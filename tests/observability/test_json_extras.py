"""JSON log lines survive whatever ``extra=`` a record carries, kopf's object loggers above all.

kopf's per-object logger attaches its settings object (which holds queues that cannot be
copied) and a reference to the object. A JSON line keeps the reference, leaves the settings out,
turns anything else it cannot encode into text, and is never lost to a "Logging error".
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import kopf
import pytest

from smartlicensing.observability.logs import configure_logging
from smartlicensing.observability.redaction import SecretRegistry

CANARY = "canary-registered-secret-0417"
BODY: kopf.RawBody = {
    "apiVersion": "smartlicensing.dev/v1alpha1",
    "kind": "SmartLicenseRegistration",
    "metadata": {"name": "csw-east", "namespace": "licensing", "uid": "u-1"},
}


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = __str__


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    secrets = SecretRegistry()
    secrets.register(CANARY)
    stream = io.StringIO()
    configure_logging("json", "DEBUG", stream=stream, registry=secrets)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)


def last_line(stream: io.StringIO) -> dict[str, Any]:
    lines = stream.getvalue().splitlines()
    assert lines, "nothing was written"
    parsed: dict[str, Any] = json.loads(lines[-1])
    return parsed


def test_a_kopf_object_logger_line_keeps_the_reference_and_drops_the_settings(
    json_lines: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = kopf.ObjectLogger(body=kopf.Body(BODY), settings=kopf.OperatorSettings())

    logger.info("Handler 'registration-create' succeeded.")

    record = last_line(json_lines)
    assert record["message"] == "Handler 'registration-create' succeeded."
    assert record["logger"] == "kopf.objects"
    assert record["k8s_ref"] == {
        "apiVersion": "smartlicensing.dev/v1alpha1",
        "kind": "SmartLicenseRegistration",
        "name": "csw-east",
        "uid": "u-1",
        "namespace": "licensing",
    }
    assert "settings" not in record
    assert "k8s_skip" not in record
    assert "Logging error" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({"attempt": 3}, 3, id="plain-number-kept"),
        pytest.param({"attempt": "third"}, "third", id="plain-text-kept"),
        pytest.param({"attempt": {1, 2}}, "{1, 2}", id="set-as-text"),
        pytest.param({"attempt": Unprintable()}, "<Unprintable>", id="unprintable-as-type"),
        pytest.param({"attempt": f"value {CANARY}"}, "value ***", id="secret-masked"),
    ],
)
def test_other_extras_are_kept_or_turned_into_text(
    json_lines: io.StringIO, extra: dict[str, Any], expected: object
) -> None:
    logging.getLogger("smartlicensing.test").info("tick", extra=extra)

    assert last_line(json_lines)["attempt"] == expected
