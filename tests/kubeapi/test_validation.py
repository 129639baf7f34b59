"""Schema validation, CEL rules, pruning and defaults of custom resources."""

from __future__ import annotations

from typing import Any

import pytest

from kubeapi.access import MERGE, RawAPI, widget

REJECTED = [
    pytest.param(
        {"size": "big"}, "spec.size", "FieldValueTypeInvalid", "must be of type integer", id="type"
    ),
    pytest.param(
        {"color": "pink"},
        "spec.color",
        "FieldValueNotSupported",
        'Unsupported value: "pink": supported values: "red", "green", "blue"',
        id="enum",
    ),
    pytest.param(
        {"size": 0},
        "spec.size",
        "FieldValueInvalid",
        "should be greater than or equal to 1",
        id="minimum",
    ),
    pytest.param(
        {"size": 11},
        "spec.size",
        "FieldValueInvalid",
        "should be less than or equal to 10",
        id="maximum",
    ),
    pytest.param(
        {"ratio": 0},
        "spec.ratio",
        "FieldValueInvalid",
        "should be greater than 0",
        id="exclusive-minimum",
    ),
    pytest.param(
        {"label": "ABC"}, "spec.label", "FieldValueInvalid", "should match '^[a-z]+$'", id="pattern"
    ),
    pytest.param(
        {"label": "a"}, "spec.label", "FieldValueInvalid", "at least 2 chars long", id="min-length"
    ),
    pytest.param(
        {"label": "abcdefghij"},
        "spec.label",
        "FieldValueTooLong",
        "may not be more than 8",
        id="max-length",
    ),
    pytest.param(
        {"tags": ["a", "b", "c", "d"]},
        "spec.tags",
        "FieldValueTooMany",
        "must have at most 3 items",
        id="max-items",
    ),
    pytest.param(
        {"parts": []},
        "spec.parts",
        "FieldValueInvalid",
        "should have at least 1 items",
        id="min-items",
    ),
    pytest.param(
        {"tags": ["a", "a"]},
        "spec.tags[1]",
        "FieldValueDuplicate",
        "Duplicate value",
        id="list-type-set",
    ),
    pytest.param(
        {"parts": [{"name": "x"}, {"name": "x", "count": 2}]},
        "spec.parts[1]",
        "FieldValueDuplicate",
        'Duplicate value: {"name":"x"}',
        id="list-map-keys",
    ),
    pytest.param(
        {"parts": [{"count": 2}]},
        "spec.parts[0].name",
        "FieldValueRequired",
        "Required value",
        id="required-nested",
    ),
    pytest.param(
        {"homepage": "not a uri"},
        "spec.homepage",
        "FieldValueInvalid",
        "must be of type uri",
        id="format-uri",
    ),
    pytest.param(
        {"id": "1234"}, "spec.id", "FieldValueInvalid", "must be of type uuid", id="format-uuid"
    ),
    pytest.param(
        {"since": "yesterday"},
        "spec.since",
        "FieldValueInvalid",
        "must be of type date-time",
        id="format-date-time",
    ),
    pytest.param(
        {"port": 1.5}, "spec.port", "FieldValueTypeInvalid", "integer or string", id="int-or-string"
    ),
    pytest.param(
        {"label": None},
        "spec.label",
        "FieldValueTypeInvalid",
        'must be of type string: "null"',
        id="null-not-nullable",
    ),
]


@pytest.mark.parametrize(("spec", "field", "reason", "text"), REJECTED)
def test_schema_violations_are_422_with_kubernetes_shaped_causes(
    raw: RawAPI, widgets: str, spec: dict[str, Any], field: str, reason: str, text: str
) -> None:
    """OpenAPI v3 schema: 422 Invalid, one cause per problem with reason, field and message."""
    body = widget("bad")
    body["spec"].update(spec)

    answer = raw("POST", widgets, body)

    assert answer.status == 422, answer.body
    assert answer.body["kind"] == "Status"
    assert answer.body["reason"] == "Invalid"
    assert answer.body["message"].startswith('Widget.kubeapi.smartlicensing.dev "bad" is invalid: ')
    causes = {cause["field"]: cause for cause in answer.body["details"]["causes"]}
    assert field in causes, causes
    assert causes[field]["reason"] == reason
    assert text in causes[field]["message"]


def test_a_missing_required_field_is_field_value_required(raw: RawAPI, widgets: str) -> None:
    body = widget("nocolor")
    del body["spec"]["color"]

    answer = raw("POST", widgets, body)

    assert answer.status == 422
    assert answer.body["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.color"}
    ]
    assert answer.body["message"].endswith("is invalid: spec.color: Required value")


def test_accepted_values_pass(raw: RawAPI, widgets: str) -> None:
    body = widget(
        "good",
        size=10,
        ratio=0.5,
        label="abc",
        homepage="https://example.com/x",
        id="5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b",
        since="2026-12-03T10:00:00Z",
        note=None,
        port="http",
        tags=["a", "b"],
        parts=[{"name": "x"}, {"name": "y"}],
    )

    answer = raw("POST", widgets, body)

    assert answer.status == 201, answer.body


def test_cel_rule_failure_reports_the_rules_message(raw: RawAPI, widgets: str) -> None:
    """x-kubernetes-validations: a false rule is 422 with the rule's message on its field."""
    answer = raw("POST", widgets, widget("big-red", color="red", size=6))

    assert answer.status == 422
    causes = answer.body["details"]["causes"]
    assert [(c["field"], c["reason"]) for c in causes] == [("spec", "FieldValueInvalid")]
    assert "red widgets are at most size 5" in causes[0]["message"]
    assert "red widgets are at most size 5" in answer.body["message"]


def test_cel_transition_rule_compares_with_the_stored_object(raw: RawAPI, widgets: str) -> None:
    """oldSelf: a rule on updates only; create passes, changing the serial is refused."""
    created = raw("POST", widgets, widget("serial", serial="A-1"))
    assert created.status == 201

    answer = raw("PATCH", f"{widgets}/serial", {"spec": {"serial": "B-2"}}, content_type=MERGE)

    assert answer.status == 422
    assert "serial is immutable once set" in answer.body["message"]


def test_unknown_fields_are_pruned(raw: RawAPI, widgets: str) -> None:
    """Structural schemas: fields the schema does not declare are dropped on write."""
    body = widget("pruned", extra={"free": {"form": 1}})
    body["spec"]["unknown"] = "dropped"
    body["spec"]["options"] = {"mode": "slow", "turbo": True}
    body["surprise"] = 1

    answer = raw("POST", widgets, body)

    assert answer.status == 201, answer.body
    assert "unknown" not in answer.body["spec"]
    assert "surprise" not in answer.body
    assert answer.body["spec"]["options"] == {"mode": "slow"}
    assert answer.body["spec"]["extra"] == {"free": {"form": 1}}


def test_strict_field_validation_refuses_unknown_fields(raw: RawAPI, widgets: str) -> None:
    """fieldValidation=Strict (what kubectl sends): unknown fields are a 400, not pruned."""
    body = widget("strict")
    body["spec"]["unknown"] = "x"

    answer = raw("POST", widgets, body, query={"fieldValidation": "Strict"})

    assert answer.status == 400
    assert 'unknown field "spec.unknown"' in answer.body["message"]


def test_null_for_a_defaulted_field_is_replaced_by_the_default(raw: RawAPI, widgets: str) -> None:
    """Kubernetes prunes null of a non-nullable field that has a default, then defaults it."""
    answer = raw("POST", widgets, widget("nulled", size=None))

    assert answer.status == 201, answer.body
    assert answer.body["spec"]["size"] == 3


def test_defaults_are_applied_to_absent_fields(raw: RawAPI, widgets: str) -> None:
    """Defaults: top-down; a defaulted object gets its own properties' defaults too."""
    answer = raw("POST", widgets, widget("defaults", parts=[{"name": "x"}]))

    assert answer.status == 201
    assert answer.body["spec"]["size"] == 3
    assert answer.body["spec"]["options"] == {"mode": "fast"}
    assert answer.body["spec"]["parts"] == [{"name": "x", "count": 1}]


@pytest.mark.parametrize(
    "labels",
    [
        {"tier": "caf\u00e9"},
        {"bad key!": "x"},
        {"tier": "x" * 64},
        {"Not_A_Domain/tier": "x"},
    ],
    ids=["unicode-value", "key-with-space", "value-too-long", "bad-prefix"],
)
def test_invalid_labels_are_422_on_metadata_labels(
    raw: RawAPI, widgets: str, labels: dict[str, str]
) -> None:
    """ValidateLabels: keys are [prefix/]name, values empty or a name of at most 63 characters."""
    body = widget("labelled")
    body["metadata"]["labels"] = labels

    answer = raw("POST", widgets, body)

    assert answer.status == 422, answer.body
    assert [c["field"] for c in answer.body["details"]["causes"]] == ["metadata.labels"]


def test_valid_labels_with_a_prefix_and_an_empty_value_are_accepted(
    raw: RawAPI, widgets: str
) -> None:
    body = widget("labelled-ok")
    body["metadata"]["labels"] = {"smartlicensing.dev/tier": "Gold_1.a", "empty": ""}

    assert raw("POST", widgets, body).status == 201


def test_annotations_over_256_kib_are_422(raw: RawAPI, widgets: str) -> None:
    """ValidateAnnotationsSize: keys and values together at most 262144 bytes."""
    body = widget("annotated")
    body["metadata"]["annotations"] = {"note": "x" * (256 * 1024)}

    answer = raw("POST", widgets, body)

    assert answer.status == 422, answer.body
    assert answer.body["details"]["causes"][0]["field"] == "metadata.annotations"
