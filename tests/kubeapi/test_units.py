"""The local API's pure parts on their own: JSONPath, ages, patches, selectors, schemas, CEL."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from smartlicensing.testing.kubeapi.cel import check_rules
from smartlicensing.testing.kubeapi.errors import StatusError
from smartlicensing.testing.kubeapi.patches import apply_patch, strategic_merge_patch
from smartlicensing.testing.kubeapi.resources import check_crd
from smartlicensing.testing.kubeapi.schema import apply_defaults, prune, validate
from smartlicensing.testing.kubeapi.selectors import parse_field_selector, parse_label_selector
from smartlicensing.testing.kubeapi.tables import human_age, jsonpath

DOCUMENT = {
    "metadata": {"name": "n", "labels": {"app.kubernetes.io/name": "x"}},
    "spec": {"items": [{"n": 1}, {"n": 2}], "flag": True},
    "status": {
        "conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "Synced", "status": "True"},
        ]
    },
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param(".metadata.name", ["n"], id="dotted"),
        pytest.param("{.metadata.name}", ["n"], id="braces"),
        pytest.param(".spec.items[1].n", [2], id="index"),
        pytest.param(".spec.items[-1].n", [2], id="negative-index"),
        pytest.param(".spec.items[*].n", [1, 2], id="wildcard"),
        pytest.param('.status.conditions[?(@.type=="Synced")].status', ["True"], id="filter"),
        pytest.param(".status.conditions[?(@.type!='Synced')].type", ["Ready"], id="filter-ne"),
        pytest.param(".spec.flag", [True], id="boolean"),
        pytest.param(".metadata.labels['app.kubernetes.io/name']", ["x"], id="quoted-key"),
        pytest.param(".spec.missing.deeper", [], id="missing"),
        pytest.param('.status.conditions[?(@.type=="Nope")].status', [], id="filter-no-match"),
    ],
)
def test_jsonpath_selects_what_printer_columns_ask_for(
    expression: str, expected: list[Any]
) -> None:
    assert jsonpath(expression, DOCUMENT) == expected


def test_unsupported_jsonpath_is_a_bad_request() -> None:
    with pytest.raises(StatusError, match="unsupported JSONPath") as caught:
        jsonpath(".spec..deep", DOCUMENT)
    assert caught.value.code == 400


NOW = datetime.datetime(2026, 12, 3, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("created", "age"),
    [
        pytest.param("2026-12-03T11:59:15Z", "45s", id="seconds"),
        pytest.param("2026-12-03T11:55:00Z", "5m", id="minutes"),
        pytest.param("2026-12-03T11:56:30Z", "3m30s", id="minutes-seconds"),
        pytest.param("2026-12-03T09:00:00Z", "3h", id="hours"),
        pytest.param("2026-12-03T10:30:00Z", "90m", id="under-three-hours-in-minutes"),
        pytest.param("2026-11-30T12:00:00Z", "3d", id="days"),
        pytest.param("2024-01-01T00:00:00Z", "2y", id="years"),
        pytest.param("2026-12-04T00:00:00Z", "<invalid>", id="future"),
    ],
)
def test_ages_read_like_kubectl(created: str, age: str) -> None:
    assert human_age(created, NOW) == age


def test_strategic_merge_patch_directives() -> None:
    target = {"data": {"a": "1", "b": "2"}, "metadata": {"labels": {"x": "y", "z": "w"}}}

    replaced = strategic_merge_patch(target, {"data": {"$patch": "replace", "c": "3"}})
    deleted = strategic_merge_patch(target, {"metadata": {"labels": {"$patch": "delete"}}})
    retained = strategic_merge_patch(target, {"data": {"$retainKeys": ["a"], "d": "4"}})

    assert replaced["data"] == {"c": "3"}
    assert "labels" not in deleted["metadata"]
    assert retained["data"] == {"a": "1", "d": "4"}
    assert target["data"] == {"a": "1", "b": "2"}


def test_patch_never_touches_the_stored_object() -> None:
    stored = {"metadata": {"name": "n"}, "spec": {"list": [1]}}

    patched = apply_patch("application/merge-patch+json", stored, {"spec": {"new": 1}})
    patched["spec"]["list"].append(2)

    assert stored == {"metadata": {"name": "n"}, "spec": {"list": [1]}}


@pytest.mark.parametrize(
    "content_type", ["application/apply-patch+yaml", "text/plain"], ids=["apply", "unknown"]
)
def test_unsupported_patch_types_are_415(content_type: str) -> None:
    with pytest.raises(StatusError) as caught:
        apply_patch(content_type, {"metadata": {}}, {})
    assert caught.value.code == 415


@pytest.mark.parametrize(
    "selector", ["a in (b", "=x", "a=b=c"], ids=["unclosed", "no-key", "double-equals-sign"]
)
def test_malformed_label_selectors_are_400(selector: str) -> None:
    with pytest.raises(StatusError) as caught:
        parse_label_selector(selector)
    assert caught.value.code == 400


def test_field_selector_on_event_involved_object() -> None:
    match = parse_field_selector("involvedObject.name=w,involvedObject.kind!=Pod", "events")

    assert match({"metadata": {}, "involvedObject": {"name": "w", "kind": "Widget"}})
    assert not match({"metadata": {}, "involvedObject": {"name": "w", "kind": "Pod"}})


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "port": {"x-kubernetes-int-or-string": True},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "map": {"type": "object", "additionalProperties": {"type": "integer", "default": 0}},
        "either": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[a-z]+$"}]},
        "embedded": {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "properties": {"spec": {"type": "object", "properties": {"a": {"type": "string"}}}},
        },
    },
}


@pytest.mark.parametrize(
    "value",
    [
        {"port": 80},
        {"port": "http"},
        {"free": {"any": {"thing": [1]}}},
        {"map": {"a": 1, "b": 2}},
        {"either": 5},
        {"either": "abc"},
        {"embedded": {"apiVersion": "v1", "kind": "X", "metadata": {"name": "e"}}},
    ],
    ids=["int", "string", "preserved", "map", "any-of-int", "any-of-string", "embedded"],
)
def test_schema_accepts(value: dict[str, Any]) -> None:
    assert validate(value, SCHEMA) == []


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"port": True}, "port"),
        ({"map": {"a": "one"}}, "map[a]"),
        ({"either": "ABC"}, "either"),
    ],
    ids=["int-or-string", "additional-properties", "any-of"],
)
def test_schema_rejects(value: dict[str, Any], field: str) -> None:
    assert [error.field for error in validate(value, SCHEMA)] == [field]


def test_pruning_keeps_embedded_resource_metadata_and_preserved_fields() -> None:
    value = {
        "free": {"kept": 1},
        "embedded": {"apiVersion": "v1", "kind": "X", "spec": {"a": "b", "gone": 1}},
        "unknown": 1,
    }

    removed = prune(value, SCHEMA, root=False)

    assert sorted(removed) == ["embedded.spec.gone", "unknown"]
    assert value == {
        "free": {"kept": 1},
        "embedded": {"apiVersion": "v1", "kind": "X", "spec": {"a": "b"}},
    }


def test_defaults_reach_additional_properties() -> None:
    value: dict[str, Any] = {"map": {"a": 1}}

    apply_defaults(value, SCHEMA)

    assert value == {"map": {"a": 1}}


def test_cel_message_expression_and_field_path() -> None:
    rules = [
        {
            "rule": "self.min <= self.max",
            "messageExpression": "'min ' + string(self.min) + ' exceeds max'",
            "fieldPath": ".min",
            "reason": "FieldValueForbidden",
        }
    ]

    errors = check_rules(rules, {"min": 5, "max": 2}, None, False, "spec")

    assert [(e.field, e.reason) for e in errors] == [("spec.min", "FieldValueForbidden")]
    assert errors[0].message.endswith("min 5 exceeds max")


def test_cel_transition_rules_are_skipped_without_an_old_value() -> None:
    rules = [{"rule": "self == oldSelf", "message": "immutable"}]

    assert check_rules(rules, "a", None, False, "spec.x") == []
    assert [e.message for e in check_rules(rules, "a", "b", True, "spec.x")] == [
        'Invalid value: "string": immutable'
    ]


def test_crd_with_a_broken_cel_rule_or_pattern_is_refused() -> None:
    crd = {
        "metadata": {"name": "bads.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "bads", "kind": "Bad"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-validations": [{"rule": "self.a >"}],
                            "properties": {"p": {"type": "string", "pattern": "(["}},
                        }
                    },
                }
            ],
        },
    }

    fields = [error.field for error in check_crd(crd)]

    assert fields == [
        "spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].rule",
        "spec.versions[0].schema.openAPIV3Schema.properties[p].pattern",
    ]


def _crd_with(version: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "odds.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "odds", "kind": "Odd"},
            "versions": [{"name": "v1", "served": True, "storage": True, **version}],
        },
    }


def _spec_schema(spec: Any) -> dict[str, Any]:
    return {
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": spec}}},
    }


_SPEC = "spec.versions[0].schema.openAPIV3Schema.properties[spec]"


@pytest.mark.parametrize(
    ("version", "field"),
    [
        ({"schema": {"openAPIV3Schema": "x"}}, "spec.versions[0].schema.openAPIV3Schema"),
        (_spec_schema({"type": "objekt"}), f"{_SPEC}.type"),
        (_spec_schema({"type": "string", "maxLength": "9"}), f"{_SPEC}.maxLength"),
        (_spec_schema({"type": "number", "minimum": "1"}), f"{_SPEC}.minimum"),
        (_spec_schema({"type": "number", "multipleOf": 0}), f"{_SPEC}.multipleOf"),
        (_spec_schema({"type": "string", "pattern": 5}), f"{_SPEC}.pattern"),
        (_spec_schema({"type": "object", "properties": "x"}), f"{_SPEC}.properties"),
        (_spec_schema({"type": "object", "required": "a"}), f"{_SPEC}.required"),
        (_spec_schema({"type": "array", "items": "x"}), f"{_SPEC}.items"),
        (_spec_schema({"type": "string", "enum": "abc"}), f"{_SPEC}.enum"),
        (
            {"additionalPrinterColumns": [{"name": "X", "jsonPath": ".a", "priority": "high"}]},
            "spec.versions[0].additionalPrinterColumns[0].priority",
        ),
        (
            {"additionalPrinterColumns": [{"name": "X"}]},
            "spec.versions[0].additionalPrinterColumns[0].jsonPath",
        ),
    ],
    ids=[
        "schema-not-an-object",
        "unknown-type",
        "max-length-string",
        "minimum-string",
        "multiple-of-zero",
        "pattern-number",
        "properties-string",
        "required-string",
        "items-string",
        "enum-string",
        "column-priority-string",
        "column-without-json-path",
    ],
)
def test_crd_with_malformed_schema_keywords_is_refused(version: dict[str, Any], field: str) -> None:
    """Validation of objects trusts the CRD's keywords; a wrong kind of value must be refused
    when the CRD is written, not surface as a 500 on every later write of its objects."""
    assert field in [error.field for error in check_crd(_crd_with(version))]


def test_malformed_crd_is_422_and_the_server_carries_on() -> None:
    import httpx

    from smartlicensing.testing.kubeapi import LocalKubeAPI

    crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    body = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        **_crd_with(_spec_schema({"type": "string", "maxLength": "9"})),
    }
    with LocalKubeAPI() as api, httpx.Client(base_url=api.url) as http:
        answer = http.post(crds, json=body)

        assert answer.status_code == 422
        assert answer.json()["details"]["causes"][0]["field"] == f"{_SPEC}.maxLength"
        assert http.get("/apis/example.com/v1/namespaces/default/odds").status_code == 404
