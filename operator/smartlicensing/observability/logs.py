"""Logging setup: text or JSON lines, and nothing secret in either.

The redaction happens twice on purpose. :class:`RedactingFilter` rewrites each record's
message with its arguments already merged and masked, so every handler (ours, kopf's, a test's
``caplog``) sees clean text; the formatters then mask their final output, which also covers
exception tracebacks and fields a ``extra=`` argument smuggled in. Modules log through
``logging.getLogger(__name__)``; nothing here hands out loggers.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from smartlicensing.observability.redaction import SECRETS, SecretRegistry, redact

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


class RedactingFilter(logging.Filter):
    """Merges a record's arguments into its message and masks secrets in the result."""

    def __init__(self, registry: SecretRegistry = SECRETS) -> None:
        super().__init__()
        self._registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg!s} (unformattable arguments dropped)"
        record.msg = redact(message, registry=self._registry)
        record.args = None
        return True


class RedactingTextFormatter(logging.Formatter):
    def __init__(self, registry: SecretRegistry = SECRETS) -> None:
        super().__init__(TEXT_FORMAT)
        self._registry = registry

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), registry=self._registry)


class RedactingJsonFormatter(JsonFormatter):
    def __init__(self, registry: SecretRegistry = SECRETS) -> None:
        super().__init__(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"})
        self._registry = registry

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), registry=self._registry)


def configure_logging(
    log_format: str = "text",
    level: str | int = "INFO",
    *,
    stream: TextIO | None = None,
    registry: SecretRegistry = SECRETS,
) -> logging.Handler:
    """Install one redacting handler on the root logger, replacing earlier ones of ours.

    ``log_format`` is ``text`` or ``json``. Returns the handler (tests read what it wrote).
    """
    if log_format not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {log_format!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    formatter: logging.Formatter = (
        RedactingJsonFormatter(registry)
        if log_format == "json"
        else RedactingTextFormatter(registry)
    )
    handler.setFormatter(formatter)
    handler.addFilter(RedactingFilter(registry))
    handler.set_name("smartlicensing")

    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "smartlicensing":
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return handler
