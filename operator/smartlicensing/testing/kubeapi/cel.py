"""``x-kubernetes-validations`` rules, evaluated with ``cel-python``.

A rule sees ``self`` (the value at its schema node, after defaulting) and, for transition rules,
``oldSelf`` (the stored value at the same place). As in Kubernetes, a rule that mentions
``oldSelf`` is skipped on create and wherever the old object has no value there. Compiled
programs are cached by rule text, and outcomes by the rules and the values they saw (a rule is a
pure function of ``self`` and ``oldSelf``): the same CRD validates thousands of objects, and every
status patch of an object validates its unchanged spec again.

Kubernetes' CEL library extensions (``isURL``, ``quantity``, ``format`` and friends) are not
available; the standard CEL functions and macros (``has``, ``all``, ``exists``, ``size``,
``matches``, ``startsWith``, ...) are.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import celpy
from celpy.adapter import json_to_cel

from smartlicensing.testing.kubeapi.errors import CAUSE_INVALID, FieldError, json_type_name

_OLD_SELF = re.compile(r"\boldSelf\b")
_ALLOWED_REASONS = {
    "FieldValueInvalid",
    "FieldValueForbidden",
    "FieldValueRequired",
    "FieldValueDuplicate",
}


@functools.lru_cache(maxsize=1024)
def _program(expression: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(expression))


def compile_problem(expression: str) -> str | None:
    """Why ``expression`` does not compile, or None when it does."""
    try:
        _program(expression)
    except Exception as error:  # cel-python raises several unrelated types for bad syntax
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return None


def check_rules(
    rules: list[dict[str, Any]], value: Any, old_value: Any, has_old: bool, path: str
) -> list[FieldError]:
    """Every rule of ``rules`` that ``value`` (with ``old_value`` for transition rules) breaks."""
    transitions = has_old and any(_OLD_SELF.search(rule.get("rule", "")) for rule in rules)
    try:
        key = json.dumps(
            [rules, value, old_value if transitions else None, has_old, path], sort_keys=True
        )
    except (TypeError, ValueError):  # not JSON (never from the API): evaluate, do not cache
        return _check_rules(rules, value, old_value, has_old, path)
    return list(_cached_check(key))


@functools.lru_cache(maxsize=4096)
def _cached_check(key: str) -> tuple[FieldError, ...]:
    rules, value, old_value, has_old, path = json.loads(key)
    return tuple(_check_rules(rules, value, old_value, has_old, path))


def _check_rules(
    rules: list[dict[str, Any]], value: Any, old_value: Any, has_old: bool, path: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    for rule in rules:
        expression = rule.get("rule", "")
        transition = bool(_OLD_SELF.search(expression))
        if transition and not has_old:
            continue
        activation: dict[str, Any] = {"self": json_to_cel(value)}
        if transition:
            activation["oldSelf"] = json_to_cel(old_value)
        field = path
        if rule.get("fieldPath"):
            field = f"{path}{rule['fieldPath']}" if path else rule["fieldPath"].lstrip(".")
        reason = rule.get("reason") or CAUSE_INVALID
        if reason not in _ALLOWED_REASONS:
            reason = CAUSE_INVALID
        try:
            passed = _program(expression).evaluate(activation)
        except Exception as error:
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    field,
                    f'Invalid value: "{json_type_name(value)}": rule evaluation error: {error}',
                )
            )
            continue
        if passed is True or (not isinstance(passed, Exception) and bool(passed)):
            continue
        message = rule.get("message") or f"failed rule: {expression}"
        if rule.get("messageExpression"):
            try:
                rendered = _program(rule["messageExpression"]).evaluate(activation)
                if isinstance(rendered, str) and rendered.strip():
                    message = str(rendered)
            except Exception:
                pass
        shown = json_type_name(value)
        errors.append(FieldError(reason, field, f'Invalid value: "{shown}": {message}'))
    return errors
