"""The demo's operator log file: every operator logger goes there, masked, not to the screen."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from smartlicensing.observability.redaction import SECRETS
from smartlicensing.testing.demo import operator_logs_to

CANARY = "canary-demo-log-secret-5521"


class Screen(logging.Handler):
    """What would reach the demo's screen: the root logger's output."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def screen() -> Iterator[Screen]:
    handler = Screen()
    root = logging.getLogger()
    root.addHandler(handler)
    SECRETS.register(CANARY)
    yield handler
    SECRETS.forget(CANARY)
    root.removeHandler(handler)


@pytest.mark.parametrize(
    "logger_name", ["stamina", "smartlicensing.cssm.client", "kopf.objects", "httpx"]
)
def test_operator_loggers_go_to_the_file_only(
    tmp_path: Path, screen: Screen, logger_name: str
) -> None:
    path = tmp_path / "operator.log"
    with operator_logs_to(path):
        logging.getLogger(logger_name).warning("stamina.retry_scheduled attempt=%d", 2)

    assert "stamina.retry_scheduled attempt=2" in path.read_text()
    assert screen.lines == []


def test_the_file_is_masked(tmp_path: Path, screen: Screen) -> None:
    path = tmp_path / "operator.log"
    with operator_logs_to(path):
        logging.getLogger("smartlicensing.handlers").info("issued %s", CANARY)
        logging.getLogger("httpx").info("sent client_secret=hunter2-value")

    written = path.read_text()
    assert CANARY not in written
    assert "hunter2-value" not in written
    assert "issued ***" in written
