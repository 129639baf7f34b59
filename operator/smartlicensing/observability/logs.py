"""Logging setup: text or JSON lines, and nothing secret in either.

The redaction happens twice on purpose. :class:`RedactingFilter` rewrites each record's
message with its arguments already merged and masked, so every handler (ours, kopf's, a test's
``caplog``) sees clean text; the formatters then mask their final output, which also covers
exception tracebacks and fields a ``extra=`` argument smuggled in. Modules log through
``logging.getLogger(__name__)``; nothing here hands out loggers.

A JSON line never fails on an ``extra=``: kopf's per-object loggers attach their settings
object, which cannot be encoded (nor even copied: it holds queues). Of the extras, a JSON line
keeps kopf's ``k8s_ref`` (which object the line is about) and plain scalars, leaves kopf's
plumbing out, and writes anything else as its text.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any, Final, TextIO

from pythonjsonlogger.json import JsonFormatter

from smartlicensing.observability.redaction import SECRETS, SecretRegistry, redact

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"

#: Extras a JSON line carries as they are (when they encode): kopf's object reference.
KEPT_EXTRAS: Final = frozenset({"k8s_ref"})
#: kopf's plumbing, of no use to a reader and not encodable: its settings, its Event switch.
DROPPED_EXTRAS: Final = frozenset({"settings", "k8s_skip"})
_SCALARS: Final = (str, int, float, bool, type(None))


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

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        standard = {self._get_rename(name) for name in self._required_fields}
        for key in list(log_data):
            if key in standard:
                continue
            value = log_data[key]
            if key in DROPPED_EXTRAS:
                del log_data[key]
            elif isinstance(value, _SCALARS):
                continue
            elif key not in KEPT_EXTRAS or not _encodes(value):
                log_data[key] = _as_text(value)


def _encodes(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


def _as_text(value: object) -> str:
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__}>"


_HTTP_LIBRARY_LOGGERS = ("httpx", "httpcore")


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
    # httpx logs every request at INFO; the operator's own clients log their calls at DEBUG, so
    # below DEBUG these lines are noise (thousands a day at scale) and are left out.
    quiet = logging.getLevelName(level) if isinstance(level, int) else level.upper()
    for name in _HTTP_LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if quiet == "DEBUG" else logging.WARNING)
    return handler
