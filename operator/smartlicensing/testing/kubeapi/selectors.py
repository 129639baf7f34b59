"""Label and field selectors, parsed once per request and matched against stored objects.

Label selectors take the full Kubernetes grammar (``=``, ``==``, ``!=``, ``in``, ``notin``,
``key`` and ``!key``); field selectors take ``=``, ``==`` and ``!=`` on the fields Kubernetes
indexes for each kind (``metadata.name`` and ``metadata.namespace`` everywhere, plus the
``involvedObject.*`` fields of Events that ``kubectl describe`` asks for). An unknown field is a
400, as on a real server, rather than a selector that silently matches everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from smartlicensing.testing.kubeapi.errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_SET_TERM = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_TERM = re.compile(r"^\s*([^\s!=(),]+)\s*(==|=|!=)\s*([^\s!=(),]*)\s*$")
_EXISTS_TERM = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")

FIELDS_ALWAYS = {"metadata.name", "metadata.namespace"}
FIELDS_BY_PLURAL = {
    "events": {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "secrets": {"type"},
    "namespaces": {"status.phase"},
}


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside an ``in (...)`` value list."""
    terms: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [term for term in terms if term.strip()]


LabelCheck = Callable[[dict[str, str]], bool]


def _label_in(key: str, values: set[str], wanted: bool) -> LabelCheck:
    def check(labels: dict[str, str]) -> bool:
        return (labels.get(key) in values) == wanted

    return check


def _label_exists(key: str, wanted: bool) -> LabelCheck:
    def check(labels: dict[str, str]) -> bool:
        return (key in labels) == wanted

    return check


def _label_term(term: str) -> LabelCheck:
    if match := _SET_TERM.match(term):
        key, operator, raw = match.groups()
        values = {value.strip() for value in raw.split(",") if value.strip()}
        return _label_in(key, values, wanted=operator == "in")
    if match := _EQ_TERM.match(term):
        key, operator, value = match.groups()
        # "!=" also selects objects without the label, as in Kubernetes.
        return _label_in(key, {value}, wanted=operator != "!=")
    if match := _EXISTS_TERM.match(term):
        negated, key = match.groups()
        return _label_exists(key, wanted=not negated)
    raise bad_request(f"unable to parse requirement: invalid label selector: {term!r}")


def parse_label_selector(text: str | None) -> Matcher:
    checks = [_label_term(term) for term in _split_terms(text or "")]

    def matches(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(check(labels) for check in checks)

    return matches


def _field_value(obj: dict[str, Any], path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return ""
    if isinstance(value, dict):
        # Events' ``source`` selects on the reporting component.
        return str(value.get("component", ""))
    return str(value)


def _field_equals(path: str, value: str, wanted: bool) -> Matcher:
    def check(obj: dict[str, Any]) -> bool:
        return (_field_value(obj, path) == value) == wanted

    return check


def parse_field_selector(text: str | None, plural: str) -> Matcher:
    allowed = FIELDS_ALWAYS | FIELDS_BY_PLURAL.get(plural, set())
    checks: list[Matcher] = []
    for term in _split_terms(text or ""):
        match = _EQ_TERM.match(term)
        if not match:
            raise bad_request(f"invalid field selector: {term!r}")
        path, operator, value = match.groups()
        if path not in allowed:
            raise bad_request(f'field label not supported: "{path}"')
        checks.append(_field_equals(path, value, wanted=operator != "!="))
    return lambda obj: all(check(obj) for check in checks)
