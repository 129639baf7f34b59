"""Writes: creation, optimistic concurrency, patches and no-op writes, as Kubernetes does them."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kubeapi.access import JSON_PATCH, MERGE, RawAPI, widget


def test_create_with_generate_name_gets_a_unique_suffixed_name(raw: RawAPI, widgets: str) -> None:
    """metadata.generateName: the server appends a random suffix and reports the final name."""
    body = widget("")
    body["metadata"] = {"generateName": "gen-"}

    first = raw("POST", widgets, body)
    second = raw("POST", widgets, body)

    assert first.status == 201, first.body
    assert second.status == 201, second.body
    names = {first.body["metadata"]["name"], second.body["metadata"]["name"]}
    assert len(names) == 2
    assert all(name.startswith("gen-") and len(name) == len("gen-") + 5 for name in names)


@pytest.mark.parametrize(
    "prefix", [pytest.param(5, id="number"), pytest.param(["gen-"], id="list")]
)
def test_generate_name_that_is_not_a_string_is_a_bad_request(
    raw: RawAPI, widgets: str, prefix: Any
) -> None:
    """metadata.generateName is a string; anything else cannot be decoded (400, not a 500)."""
    body = widget("")
    body["metadata"] = {"generateName": prefix}

    answer = raw("POST", widgets, body)

    assert answer.status == 400, answer.body
    assert answer.body["reason"] == "BadRequest"
    assert "generateName" in answer.body["message"]


def test_create_of_an_existing_name_is_409_already_exists(raw: RawAPI, widgets: str) -> None:
    """A second POST with the same name answers 409 with reason AlreadyExists."""
    assert raw("POST", widgets, widget("twin")).status == 201

    again = raw("POST", widgets, widget("twin"))

    assert again.status == 409
    assert again.body["reason"] == "AlreadyExists"
    assert again.body["message"] == 'widgets.kubeapi.smartlicensing.dev "twin" already exists'


def test_create_without_name_or_generate_name_is_invalid(raw: RawAPI, widgets: str) -> None:
    body = widget("")
    body["metadata"] = {}

    answer = raw("POST", widgets, body)

    assert answer.status == 422
    assert answer.body["details"]["causes"][0]["field"] == "metadata.name"


def test_update_with_a_stale_resource_version_is_409_conflict(raw: RawAPI, widgets: str) -> None:
    """Optimistic concurrency: a PUT carrying an old resourceVersion is refused with 409."""
    created = raw("POST", widgets, widget("stale", size=2))
    newer = raw("PATCH", f"{widgets}/stale", {"spec": {"size": 3}}, content_type=MERGE)
    assert newer.status == 200

    stale = dict(created.body, spec={"color": "green", "size": 4})
    answer = raw("PUT", f"{widgets}/stale", stale)

    assert answer.status == 409
    assert answer.body["reason"] == "Conflict"
    assert "the object has been modified" in answer.body["message"]
    assert raw("GET", f"{widgets}/stale").body["spec"]["size"] == 3


def test_update_with_the_current_resource_version_succeeds(raw: RawAPI, widgets: str) -> None:
    created = raw("POST", widgets, widget("fresh", size=2))

    updated = raw("PUT", f"{widgets}/fresh", dict(created.body, spec={"color": "blue"}))

    assert updated.status == 200, updated.body
    assert updated.body["spec"]["color"] == "blue"
    assert int(updated.rv) > int(created.rv)


def test_failed_json_patch_test_operation_is_422(raw: RawAPI, widgets: str) -> None:
    """RFC 6902 `test` that does not hold: 422, and nothing changes (kopf reads it as conflict)."""
    created = raw("POST", widgets, widget("guarded", size=2))
    operations = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "replace", "path": "/spec/size", "value": 9},
    ]

    answer = raw("PATCH", f"{widgets}/guarded", operations, content_type=JSON_PATCH)

    assert answer.status == 422
    assert answer.body["kind"] == "Status"
    current = raw("GET", f"{widgets}/guarded")
    assert current.body["spec"]["size"] == 2
    assert current.rv == created.rv


def test_json_patch_with_a_passing_test_applies(raw: RawAPI, widgets: str) -> None:
    created = raw("POST", widgets, widget("jp", tags=["a"]))
    operations = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": created.rv},
        {"op": "add", "path": "/spec/tags/-", "value": "b"},
    ]

    answer = raw("PATCH", f"{widgets}/jp", operations, content_type=JSON_PATCH)

    assert answer.status == 200, answer.body
    assert answer.body["spec"]["tags"] == ["a", "b"]


def test_merge_patch_null_removes_a_field_and_replaces_lists(raw: RawAPI, widgets: str) -> None:
    raw("POST", widgets, widget("mp", label="abc", tags=["a", "b"]))

    answer = raw(
        "PATCH", f"{widgets}/mp", {"spec": {"label": None, "tags": ["c"]}}, content_type=MERGE
    )

    assert answer.status == 200, answer.body
    assert "label" not in answer.body["spec"]
    assert answer.body["spec"]["tags"] == ["c"]


def test_merge_patch_carrying_a_stale_resource_version_is_409(raw: RawAPI, widgets: str) -> None:
    created = raw("POST", widgets, widget("mprv"))
    raw("PATCH", f"{widgets}/mprv", {"spec": {"size": 5}}, content_type=MERGE)

    answer = raw(
        "PATCH",
        f"{widgets}/mprv",
        {"metadata": {"resourceVersion": created.rv}, "spec": {"size": 6}},
        content_type=MERGE,
    )

    assert answer.status == 409


def test_a_write_that_changes_nothing_keeps_the_resource_version(raw: RawAPI, widgets: str) -> None:
    """No-op writes are not new versions: same resourceVersion, no watch event."""
    created = raw("POST", widgets, widget("noop", size=4))

    answer = raw("PATCH", f"{widgets}/noop", {"spec": {"size": 4}}, content_type=MERGE)

    assert answer.status == 200
    assert answer.rv == created.rv


def test_server_side_apply_is_refused_with_a_clear_415(
    raw: RawAPI, widgets: str, kube_api: Any
) -> None:
    """Documented limit of the local API; real clusters implement it, so only local runs it."""
    if kube_api.backend != "local":
        pytest.skip("real API servers implement server-side apply")
    raw("POST", widgets, widget("ssa"))

    answer = raw(
        "PATCH",
        f"{widgets}/ssa",
        {"spec": {"size": 2}},
        content_type="application/apply-patch+yaml",
        query={"fieldManager": "test"},
    )

    assert answer.status == 415
    assert "server-side apply is not supported" in answer.body["message"]


def test_secret_string_data_is_merged_into_base64_data(raw: RawAPI, namespace: str) -> None:
    """Secrets: stringData is write-only; it lands base64-encoded in data, over equal keys."""
    body = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds"},
        "data": {"kept": base64.b64encode(b"old").decode(), "both": "eA=="},
        "stringData": {"both": "new", "plain": "text"},
    }

    answer = raw("POST", f"/api/v1/namespaces/{namespace}/secrets", body)

    assert answer.status == 201, answer.body
    decoded = {k: base64.b64decode(v).decode() for k, v in answer.body["data"].items()}
    assert decoded == {"kept": "old", "both": "new", "plain": "text"}
    assert "stringData" not in answer.body
    assert answer.body["type"] == "Opaque"


def test_create_in_a_missing_namespace_is_404(raw: RawAPI, widgets_crd: str) -> None:
    answer = raw(
        "POST",
        "/apis/kubeapi.smartlicensing.dev/v1/namespaces/no-such-namespace-here/widgets",
        widget("lost"),
    )

    assert answer.status == 404
    assert answer.body["reason"] == "NotFound"


def test_dry_run_validates_without_storing(raw: RawAPI, widgets: str) -> None:
    """dryRun=All: the answer is what would be stored (defaults applied); nothing is stored."""
    answer = raw("POST", widgets, widget("dry"), query={"dryRun": "All"})

    assert answer.status == 201, answer.body
    assert answer.body["spec"]["size"] == 3
    assert raw("GET", f"{widgets}/dry").status == 404


def test_delete_with_a_failed_uid_precondition_is_409(raw: RawAPI, widgets: str) -> None:
    raw("POST", widgets, widget("precise"))

    answer = raw(
        "DELETE",
        f"{widgets}/precise",
        {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}},
    )

    assert answer.status == 409
    assert "Precondition failed" in answer.body["message"]
    assert raw("GET", f"{widgets}/precise").status == 200


def test_delete_collection_by_label(raw: RawAPI, widgets: str) -> None:
    for name, team in (("keep-me", "a"), ("drop-me", "b"), ("drop-too", "b")):
        body = widget(name)
        body["metadata"]["labels"] = {"team": team}
        raw("POST", widgets, body)

    answer = raw("DELETE", widgets, query={"labelSelector": "team=b"})

    assert answer.status == 200, answer.body
    remaining = raw("GET", widgets).body["items"]
    assert [item["metadata"]["name"] for item in remaining] == ["keep-me"]


def test_pruned_fields_are_reported_in_a_warning_header(raw: RawAPI, widgets: str) -> None:
    """fieldValidation=Warn (the server's default): pruned, and named in a Warning header."""
    body = widget("warned")
    body["spec"]["bogus"] = 1

    answer = raw("POST", widgets, body, query={"fieldValidation": "Warn"})

    assert answer.status == 201
    assert 'unknown field \\"spec.bogus\\"' in answer.headers.get("Warning", "")
    assert "bogus" not in answer.body["spec"]


def test_protobuf_bodies_are_refused_with_415(raw: RawAPI, namespace: str, kube_api: Any) -> None:
    """Documented limit: typed `kubectl create secret` sends protobuf; the local API is JSON."""
    if kube_api.local is None:
        pytest.skip("real API servers speak protobuf")

    answer = raw(
        "POST",
        f"/api/v1/namespaces/{namespace}/configmaps",
        b"k8s\x00\x0a\x0f",
        content_type="application/vnd.kubernetes.protobuf",
    )

    assert answer.status == 415
    assert "protobuf" in answer.body["message"]


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param({"op": "test", "path": "/data/token", "value": "eA=="}, id="test-fails"),
        pytest.param({"op": "remove", "path": "/data/token/deeper"}, id="path-into-a-string"),
        pytest.param({"op": "remove", "path": "/nothing/here"}, id="missing-path"),
        pytest.param({"op": "move", "from": "/absent", "path": "/x"}, id="missing-from"),
    ],
)
def test_failed_json_patch_never_quotes_the_object(
    raw: RawAPI, namespace: str, operation: dict[str, Any]
) -> None:
    """A failed JSON patch is a 422 naming the operation; a Secret's data stays out of it."""
    secret_value = "never-in-an-error-7Zq"
    secrets = f"/api/v1/namespaces/{namespace}/secrets"
    encoded = base64.b64encode(secret_value.encode()).decode()
    raw(
        "POST",
        secrets,
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s"},
            "data": {"token": encoded},
        },
    )

    answer = raw("PATCH", f"{secrets}/s", [operation], content_type=JSON_PATCH)

    assert answer.status == 422, answer.body
    assert answer.body["kind"] == "Status"
    assert encoded not in answer.body["message"]
    assert secret_value not in answer.body["message"]
