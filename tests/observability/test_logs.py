"""Log output, text and JSON, never carries a secret: not in messages, arguments or tracebacks."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from smartlicensing.observability.logs import RedactingFilter, configure_logging
from smartlicensing.observability.redaction import SecretRegistry

CANARY = "canary-registered-secret-0417"


@pytest.fixture
def registry() -> SecretRegistry:
    secrets = SecretRegistry()
    secrets.register(CANARY)
    return secrets


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def emit(logger: logging.Logger) -> None:
    logger.info("token %s issued", CANARY)
    logger.warning("header %s", {"Authorization": "Bearer abc.def.ghi"})
    try:
        raise RuntimeError(f"failed with client_secret={CANARY}")
    except RuntimeError:
        logger.exception("call failed")


@pytest.mark.usefixtures("restore_root")
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_output_is_redacted(log_format: str, registry: SecretRegistry) -> None:
    stream = io.StringIO()
    configure_logging(log_format, "DEBUG", stream=stream, registry=registry)
    emit(logging.getLogger("smartlicensing.test"))

    output = stream.getvalue()
    assert CANARY not in output
    assert "abc.def.ghi" not in output
    assert "token *** issued" in output
    assert "RuntimeError" in output  # the traceback is kept, only the secret goes


@pytest.mark.usefixtures("restore_root")
def test_json_lines_carry_level_and_logger(registry: SecretRegistry) -> None:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream, registry=registry)
    logging.getLogger("smartlicensing.cssm.client").info("synced %d licenses", 3)

    record = json.loads(stream.getvalue().splitlines()[-1])
    assert record["message"] == "synced 3 licenses"
    assert record["level"] == "INFO"
    assert record["logger"] == "smartlicensing.cssm.client"


@pytest.mark.usefixtures("restore_root")
def test_configuring_twice_keeps_one_handler(registry: SecretRegistry) -> None:
    configure_logging("text", stream=io.StringIO(), registry=registry)
    configure_logging("json", stream=io.StringIO(), registry=registry)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == "smartlicensing"]
    assert len(ours) == 1


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="'text' or 'json'"):
        configure_logging("xml")


def test_filter_merges_and_masks_arguments(registry: SecretRegistry) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s and %d", (CANARY, 2), None)
    assert RedactingFilter(registry).filter(record) is True
    assert record.getMessage() == "got *** and 2"


def test_filter_survives_bad_arguments(registry: SecretRegistry) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    RedactingFilter(registry).filter(record)
    assert record.getMessage() == "%d items (unformattable arguments dropped)"


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        pytest.param("INFO", False, id="info-hides-requests"),
        pytest.param("DEBUG", True, id="debug-shows-requests"),
    ],
)
def test_http_library_request_lines_only_at_debug(level: str, shown: bool) -> None:
    httpx_logger = logging.getLogger("httpx")
    saved = httpx_logger.level
    stream = io.StringIO()
    try:
        configure_logging("text", level, stream=stream)

        httpx_logger.info("HTTP Request: GET http://cssm.example/ok")
    finally:
        httpx_logger.setLevel(saved)

    assert ("HTTP Request: GET" in stream.getvalue()) is shown
