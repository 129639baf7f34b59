"""Structural-schema handling of custom resources: pruning, defaulting, validation.

Order and semantics follow the API server: unknown fields are pruned (or, with
``fieldValidation=Strict``, refused), defaults are applied top-down to what is present, then the
whole object is validated and every problem is reported at once as a cause with a
``spec.path[0].like[this]`` field. Messages use the wording of Kubernetes' OpenAPI validator so
that what a user reads in a test matches what a real cluster prints.

Supported: ``type``, ``required``, ``enum``, ``minimum``/``maximum`` (and ``exclusive*``),
``multipleOf``, ``pattern``, ``minLength``/``maxLength``, ``minItems``/``maxItems``,
``minProperties``/``maxProperties``, ``format`` (date-time, date, uri, uuid, email, hostname,
int32, int64, byte), ``nullable``, ``allOf``/``anyOf``/``oneOf``/``not``,
``x-kubernetes-preserve-unknown-fields``, ``x-kubernetes-int-or-string``,
``x-kubernetes-embedded-resource``, ``x-kubernetes-list-type`` (``set``, ``map`` with
``x-kubernetes-list-map-keys``) and ``x-kubernetes-validations`` (see ``cel.py``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import json
import re
import uuid
from typing import Any
from urllib.parse import urlparse

from smartlicensing.testing.kubeapi import cel
from smartlicensing.testing.kubeapi.errors import (
    CAUSE_DUPLICATE,
    CAUSE_INVALID,
    CAUSE_NOT_SUPPORTED,
    CAUSE_REQUIRED,
    CAUSE_TOO_LONG,
    CAUSE_TOO_MANY,
    CAUSE_TYPE_INVALID,
    FieldError,
    json_type_name,
)

_ROOT_FIELDS = ("apiVersion", "kind", "metadata")
ABSENT: Any = object()  # "no stored value here": transition rules are skipped


def _shown(value: Any) -> str:
    """A value as Kubernetes quotes it in ``Invalid value: ...``."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(json_type_name(value))


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# -- pruning ----------------------------------------------------------------------------------


def prune(
    value: Any, schema: dict[str, Any] | None, path: str = "", root: bool = True
) -> list[str]:
    """Drop fields the schema does not know, in place; returns their paths."""
    if schema is None or not isinstance(value, dict | list):
        return []
    unknown: list[str] = []
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                unknown += prune(item, items, f"{path}[{index}]", root=False)
        return unknown
    properties = schema.get("properties")
    additional = schema.get("additionalProperties")
    preserve = schema.get("x-kubernetes-preserve-unknown-fields") is True
    embedded = schema.get("x-kubernetes-embedded-resource") is True
    for key in list(value):
        if (root or embedded) and key in _ROOT_FIELDS:
            continue
        sub = value[key]
        if properties is not None and key in properties:
            prop = properties[key]
            if sub is None and not prop.get("nullable") and "default" in prop:
                del value[key]
                continue
            unknown += prune(sub, prop, _child(path, key), root=False)
        elif isinstance(additional, dict):
            unknown += prune(sub, additional, _child(path, key), root=False)
        elif preserve or additional is True or _untyped(schema):
            continue
        else:
            unknown.append(_child(path, key))
            del value[key]
    return unknown


def _untyped(schema: dict[str, Any]) -> bool:
    """A node without properties that is not declared an object keeps what it holds."""
    return schema.get("properties") is None and schema.get("type") != "object"


# -- defaulting -------------------------------------------------------------------------------


def apply_defaults(value: Any, schema: dict[str, Any] | None) -> None:
    if schema is None:
        return
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, prop in properties.items():
            if key not in value and "default" in prop:
                value[key] = copy.deepcopy(prop["default"])
            if key in value:
                apply_defaults(value[key], prop)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key, sub in value.items():
                if key not in properties:
                    apply_defaults(sub, additional)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                apply_defaults(item, items)


# -- validation -------------------------------------------------------------------------------

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})$")
_HOSTNAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _format_ok(fmt: str, value: Any) -> bool:
    if not isinstance(value, str):
        if fmt == "int32" and isinstance(value, int) and not isinstance(value, bool):
            return -(2**31) <= value < 2**31
        return True
    if fmt == "date-time":
        if not _DATE_TIME.match(value):
            return False
        try:
            datetime.datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    if fmt == "date":
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if fmt == "uri":
        parsed = urlparse(value)
        return bool(parsed.scheme) and (bool(parsed.netloc) or bool(parsed.path))
    if fmt == "uuid":
        try:
            uuid.UUID(value)
        except ValueError:
            return False
        return len(value) == 36
    if fmt == "email":
        return bool(_EMAIL.match(value))
    if fmt == "hostname":
        return len(value) <= 253 and bool(_HOSTNAME.match(value))
    if fmt == "byte":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return False
        return True
    return True


def _type_ok(expected: str, value: Any) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "array":
        return isinstance(value, list)
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def validate(
    value: Any,
    schema: dict[str, Any] | None,
    path: str = "",
    old: Any = ABSENT,
) -> list[FieldError]:
    """Every way ``value`` breaks ``schema``; ``old`` is the stored value for transition rules."""
    if schema is None:
        return []
    errors: list[FieldError] = []
    if value is None:
        if schema.get("nullable"):
            return []
        expected = schema.get("type")
        if expected:
            errors.append(
                FieldError(
                    CAUSE_TYPE_INVALID,
                    path,
                    f'Invalid value: "null": {path} in body must be of type {expected}: "null"',
                )
            )
        return errors

    expected = schema.get("type")
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or _type_ok("integer", value)):
            return [
                FieldError(
                    CAUSE_TYPE_INVALID,
                    path,
                    f"Invalid value: {_shown(value)}: {path} in body must be of type "
                    f'integer or string: "{json_type_name(value)}"',
                )
            ]
    elif expected and not _type_ok(expected, value):
        return [
            FieldError(
                CAUSE_TYPE_INVALID,
                path,
                f'Invalid value: "{json_type_name(value)}": {path} in body must be of type '
                f'{expected}: "{json_type_name(value)}"',
            )
        ]

    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_shown(option) for option in schema["enum"])
        errors.append(
            FieldError(
                CAUSE_NOT_SUPPORTED,
                path,
                f"Unsupported value: {_shown(value)}: supported values: {supported}",
            )
        )
    errors += _check_number(value, schema, path)
    errors += _check_string(value, schema, path)
    errors += _check_combinators(value, schema, path)

    if isinstance(value, dict):
        errors += _check_object(value, schema, path, old)
    elif isinstance(value, list):
        errors += _check_array(value, schema, path)

    rules = schema.get("x-kubernetes-validations")
    if rules and not errors:
        has_old = old is not ABSENT
        errors += cel.check_rules(rules, value, old if has_old else None, has_old, path or "<nil>")
    return errors


def _check_number(value: Any, schema: dict[str, Any], path: str) -> list[FieldError]:
    if not _type_ok("number", value):
        return []
    errors = []
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    if minimum is not None:
        if schema.get("exclusiveMinimum") and value <= minimum:
            errors.append(f"should be greater than {minimum}")
        elif value < minimum:
            errors.append(f"should be greater than or equal to {minimum}")
    if maximum is not None:
        if schema.get("exclusiveMaximum") and value >= maximum:
            errors.append(f"should be less than {maximum}")
        elif value > maximum:
            errors.append(f"should be less than or equal to {maximum}")
    multiple = schema.get("multipleOf")
    if multiple and (value / multiple) != int(value / multiple):
        errors.append(f"should be a multiple of {multiple}")
    return [
        FieldError(CAUSE_INVALID, path, f"Invalid value: {_shown(value)}: {path} in body {text}")
        for text in errors
    ]


def _check_string(value: Any, schema: dict[str, Any], path: str) -> list[FieldError]:
    if not isinstance(value, str):
        fmt = schema.get("format")
        if fmt and not _format_ok(fmt, value):
            return [
                FieldError(
                    CAUSE_INVALID,
                    path,
                    f"Invalid value: {_shown(value)}: {path} in body must be of type {fmt}",
                )
            ]
        return []
    errors: list[FieldError] = []
    max_length, min_length = schema.get("maxLength"), schema.get("minLength")
    if max_length is not None and len(value) > max_length:
        errors.append(
            FieldError(CAUSE_TOO_LONG, path, f"Too long: may not be more than {max_length} bytes")
        )
    if min_length is not None and len(value) < min_length:
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {_shown(value)}: {path} in body should be at least "
                f"{min_length} chars long",
            )
        )
    pattern = schema.get("pattern")
    if pattern is not None and not re.search(pattern, value):
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {_shown(value)}: {path} in body should match '{pattern}'",
            )
        )
    fmt = schema.get("format")
    if fmt and not _format_ok(fmt, value):
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {_shown(value)}: {path} in body must be of type {fmt}: "
                f"{_shown(value)}",
            )
        )
    return errors


def _check_combinators(value: Any, schema: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for sub in schema.get("allOf") or []:
        errors += validate(value, sub, path)
    any_of = schema.get("anyOf")
    if any_of and not any(not validate(value, sub, path) for sub in any_of):
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {_shown(value)}: {path} in body must match at least one "
                "schema in anyOf",
            )
        )
    one_of = schema.get("oneOf")
    if one_of and sum(1 for sub in one_of if not validate(value, sub, path)) != 1:
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {_shown(value)}: {path} in body must match exactly one "
                "schema in oneOf",
            )
        )
    negated = schema.get("not")
    if isinstance(negated, dict) and not validate(value, negated, path):
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {_shown(value)}: {path} in body should not match the "
                "schema in not",
            )
        )
    return errors


def _check_object(
    value: dict[str, Any], schema: dict[str, Any], path: str, old: Any
) -> list[FieldError]:
    errors: list[FieldError] = []
    for key in schema.get("required") or []:
        if key not in value:
            errors.append(FieldError(CAUSE_REQUIRED, _child(path, key), "Required value"))
    count = len(value)
    if schema.get("minProperties") is not None and count < schema["minProperties"]:
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {count}: {path} in body should have at least "
                f"{schema['minProperties']} properties",
            )
        )
    if schema.get("maxProperties") is not None and count > schema["maxProperties"]:
        errors.append(
            FieldError(
                CAUSE_TOO_MANY,
                path,
                f"Too many: {count}: must have at most {schema['maxProperties']} items",
            )
        )
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    old_map = old if isinstance(old, dict) else {}
    for key, sub in value.items():
        if not path and key in _ROOT_FIELDS:
            continue
        sub_schema = properties.get(key)
        if sub_schema is None and isinstance(additional, dict):
            sub_schema = additional
            sub_path = f"{path}[{key}]"
        else:
            sub_path = _child(path, key)
        errors += validate(sub, sub_schema, sub_path, old_map.get(key, ABSENT))
    return errors


def _check_array(value: list[Any], schema: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    count = len(value)
    if schema.get("minItems") is not None and count < schema["minItems"]:
        errors.append(
            FieldError(
                CAUSE_INVALID,
                path,
                f"Invalid value: {count}: {path} in body should have at least "
                f"{schema['minItems']} items",
            )
        )
    if schema.get("maxItems") is not None and count > schema["maxItems"]:
        errors.append(
            FieldError(
                CAUSE_TOO_MANY,
                path,
                f"Too many: {count}: must have at most {schema['maxItems']} items",
            )
        )
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set" or schema.get("uniqueItems"):
        seen: set[str] = set()
        for index, item in enumerate(value):
            marker = json.dumps(item, sort_keys=True)
            if marker in seen:
                errors.append(
                    FieldError(
                        CAUSE_DUPLICATE, f"{path}[{index}]", f"Duplicate value: {_shown(item)}"
                    )
                )
            seen.add(marker)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or []
        seen_keys: set[str] = set()
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            identity = {key: item.get(key) for key in keys}
            marker = json.dumps(identity, sort_keys=True)
            if marker in seen_keys:
                errors.append(
                    FieldError(
                        CAUSE_DUPLICATE,
                        f"{path}[{index}]",
                        f"Duplicate value: {json.dumps(identity, separators=(',', ':'))}",
                    )
                )
            seen_keys.add(marker)
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            errors += validate(item, items, f"{path}[{index}]")
    return errors
