"""``kubectl get`` tables: the ``as=Table`` answer with CRD printer columns or NAME/AGE.

The JSONPath subset is what printer columns use in practice: ``.a.b``, ``['key']``, ``[n]``,
``[*]`` and filters ``[?(@.field=="value")]`` (also ``!=``, and bare ``[?(@.field)]``). Cells
of ``date`` columns become ages ("5m", "3d") the way the API server renders them, so kubectl
prints the same text it would against a real cluster.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from smartlicensing.testing.kubeapi.errors import bad_request
from smartlicensing.testing.kubeapi.resources import PrinterColumn, ResourceType

_TOKEN = re.compile(
    r"""\.(?P<field>[A-Za-z0-9_\-$]+)
      | \[\s*'(?P<quoted>[^']*)'\s*\]
      | \[\s*"(?P<dquoted>[^"]*)"\s*\]
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*\*\s*\]
      | \.\*
      | \[\?\(\s*@(?P<filter_path>(?:\.[A-Za-z0-9_\-]+)+)\s*
            (?:(?P<op>==|!=)\s*(?:"(?P<fdq>[^"]*)"|'(?P<fsq>[^']*)'|(?P<fnum>-?[\d.]+|true|false)))?
        \s*\)\]
    """,
    re.VERBOSE,
)


def _dig(value: Any, dotted: str) -> Any:
    for part in dotted.strip(".").split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def jsonpath(expression: str, document: Any) -> list[Any]:
    """All values ``expression`` selects in ``document`` (empty when nothing matches)."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1].strip()
    text = text.removeprefix("$")
    current = [document]
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise bad_request(f"unsupported JSONPath expression: {expression!r}")
        position = match.end()
        following: list[Any] = []
        token = match.group(0)
        for value in current:
            if (
                match.group("field") is not None
                or match.group("quoted") is not None
                or (match.group("dquoted") is not None)
            ):
                key = match.group("field") or match.group("quoted") or match.group("dquoted")
                if isinstance(value, dict) and key in value:
                    following.append(value[key])
            elif match.group("index") is not None:
                index = int(match.group("index"))
                if isinstance(value, list) and -len(value) <= index < len(value):
                    following.append(value[index])
            elif match.group("filter_path") is not None:
                if isinstance(value, list):
                    following += [item for item in value if _passes(match, item)]
            elif token in ("[*]", ".*") or token.replace(" ", "") == "[*]":
                if isinstance(value, list):
                    following += value
                elif isinstance(value, dict):
                    following += list(value.values())
        current = following
    return current


def _passes(match: re.Match[str], item: Any) -> bool:
    found = _dig(item, match.group("filter_path"))
    operator = match.group("op")
    if operator is None:
        return found is not None
    if match.group("fnum") is not None:
        raw = match.group("fnum")
        expected: Any = {"true": True, "false": False}.get(raw)
        if expected is None:
            expected = float(raw) if "." in raw else int(raw)
    else:
        expected = match.group("fdq") if match.group("fdq") is not None else match.group("fsq")
    return bool(found == expected) if operator == "==" else bool(found != expected)


def human_age(timestamp: str, now: datetime.datetime) -> str:
    """Kubernetes' short duration: ``45s``, ``5m``, ``3h``, ``2d``, ``1y``."""
    try:
        then = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<invalid>"
    seconds = int((now - then).total_seconds())
    if seconds < 0:
        return "<invalid>"
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        rest = seconds % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        rest_minutes = minutes % 60
        return f"{hours}h{rest_minutes}m" if rest_minutes else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 730:
        return f"{days}d"
    return f"{days // 365}y"


_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
_AGE_COLUMN = PrinterColumn(
    name="Age",
    type="date",
    json_path=".metadata.creationTimestamp",
    description="CreationTimestamp is a timestamp representing the server time when this "
    "object was created.",
)


def _cell(column: PrinterColumn, obj: dict[str, Any], now: datetime.datetime) -> Any:
    values = jsonpath(column.json_path, obj)
    if not values:
        return None
    if column.type == "date":
        return human_age(str(values[0]), now) if isinstance(values[0], str) else None
    if len(values) == 1 and not isinstance(values[0], dict | list):
        return values[0]
    return ",".join(v if isinstance(v, str) else json.dumps(v) for v in values)


def table(
    rtype: ResourceType,
    objects: list[dict[str, Any]],
    list_meta: dict[str, Any],
    now: datetime.datetime,
    include_object: str = "Metadata",
) -> dict[str, Any]:
    columns = list(rtype.printer_columns) or [_AGE_COLUMN]
    definitions = [dict(_NAME_COLUMN)] + [
        {
            "name": column.name,
            "type": column.type,
            "format": column.format,
            "description": column.description,
            "priority": column.priority,
        }
        for column in columns
    ]
    rows = []
    for obj in objects:
        row: dict[str, Any] = {
            "cells": [obj["metadata"]["name"]] + [_cell(c, obj, now) for c in columns]
        }
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
