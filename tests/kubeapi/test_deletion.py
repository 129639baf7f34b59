"""Deletion: finalizers, namespace termination and owner-reference garbage collection."""

from __future__ import annotations

from typing import Any

import pytest

from kubeapi.access import JSON_PATCH, MERGE, RawAPI, wait_for, widget


def _gone(raw: RawAPI, path: str) -> bool:
    return raw("GET", path).status == 404


def test_finalizers_hold_deletion_until_the_last_one_is_removed(raw: RawAPI, widgets: str) -> None:
    """Delete with finalizers only sets deletionTimestamp; removing the last one deletes."""
    body = widget("held")
    body["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    raw("POST", widgets, body)

    deleting = raw("DELETE", f"{widgets}/held")

    assert deleting.status in (200, 202)
    held = raw("GET", f"{widgets}/held")
    assert held.status == 200
    assert held.body["metadata"]["deletionTimestamp"]
    assert held.body["metadata"]["deletionGracePeriodSeconds"] == 0

    one_left = raw(
        "PATCH",
        f"{widgets}/held",
        {"metadata": {"finalizers": ["example.com/b"]}},
        content_type=MERGE,
    )
    assert one_left.status == 200
    assert raw("GET", f"{widgets}/held").status == 200

    removal = raw(
        "PATCH",
        f"{widgets}/held",
        [
            {"op": "test", "path": "/metadata/resourceVersion", "value": one_left.rv},
            {"op": "remove", "path": "/metadata/finalizers/0"},
        ],
        content_type=JSON_PATCH,
    )
    assert removal.status == 200
    assert wait_for(lambda: _gone(raw, f"{widgets}/held"))


def test_removing_the_last_finalizer_produces_only_a_deleted_event(
    raw: RawAPI, widgets: str
) -> None:
    """kopf relies on it: the patch's version is the DELETED event's; no MODIFIED in between."""
    body = widget("quiet")
    body["metadata"]["finalizers"] = ["example.com/only"]
    raw("POST", widgets, body)
    marked = raw("DELETE", f"{widgets}/quiet")
    since = raw("GET", f"{widgets}/quiet").rv

    removal = raw(
        "PATCH", f"{widgets}/quiet", {"metadata": {"finalizers": None}}, content_type=MERGE
    )
    events = raw.watch(widgets, {"resourceVersion": since}, until=1)

    assert marked.status in (200, 202)
    assert [event["type"] for event in events] == ["DELETED"]
    assert events[0]["object"]["metadata"]["name"] == "quiet"
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= int(removal.rv)


def test_no_new_finalizers_on_a_deleting_object(raw: RawAPI, widgets: str) -> None:
    body = widget("closing")
    body["metadata"]["finalizers"] = ["example.com/a"]
    raw("POST", widgets, body)
    raw("DELETE", f"{widgets}/closing")

    answer = raw(
        "PATCH",
        f"{widgets}/closing",
        {"metadata": {"finalizers": ["example.com/a", "example.com/late"]}},
        content_type=MERGE,
    )

    assert answer.status == 422
    raw("PATCH", f"{widgets}/closing", {"metadata": {"finalizers": None}}, content_type=MERGE)


def test_a_deleted_namespace_terminates_after_its_contents(
    raw: RawAPI, api_client: Any, widgets_crd: str
) -> None:
    """Namespace deletion: phase Terminating, contents deleted (finalizers honoured), then gone."""
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    name = "t-terminating-ns"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    collection = f"/apis/kubeapi.smartlicensing.dev/v1/namespaces/{name}/widgets"
    held = widget("inside")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    raw("POST", collection, held)
    raw("POST", collection, widget("free"))

    core.delete_namespace(name)

    terminating = wait_for(
        lambda: (
            (ns := raw("GET", f"/api/v1/namespaces/{name}")).status == 200
            and ns.body["status"].get("phase") == "Terminating"
            and ns
        )
    )
    assert terminating.body["metadata"]["deletionTimestamp"]
    wait_for(lambda: _gone(raw, f"{collection}/free"))
    inside = raw("GET", f"{collection}/inside")
    assert inside.status == 200
    assert inside.body["metadata"]["deletionTimestamp"]
    assert raw("GET", f"/api/v1/namespaces/{name}").status == 200

    raw("PATCH", f"{collection}/inside", {"metadata": {"finalizers": None}}, content_type=MERGE)

    wait_for(lambda: _gone(raw, f"/api/v1/namespaces/{name}"), timeout=60)


def test_creating_in_a_terminating_namespace_is_forbidden(
    raw: RawAPI, api_client: Any, widgets_crd: str
) -> None:
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    name = "t-closing-ns"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    collection = f"/apis/kubeapi.smartlicensing.dev/v1/namespaces/{name}/widgets"
    held = widget("anchor")
    held["metadata"]["finalizers"] = ["example.com/hold"]
    raw("POST", collection, held)
    core.delete_namespace(name)

    answer = raw("POST", collection, widget("late"))

    assert answer.status == 403
    assert "being terminated" in answer.body["message"]
    raw("PATCH", f"{collection}/anchor", {"metadata": {"finalizers": None}}, content_type=MERGE)
    wait_for(lambda: _gone(raw, f"/api/v1/namespaces/{name}"), timeout=60)


def _owned_config_map(
    name: str, owner: dict[str, Any], *, finalizers: list[str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "ownerReferences": [
                {
                    "apiVersion": owner["apiVersion"],
                    "kind": owner["kind"],
                    "name": owner["metadata"]["name"],
                    "uid": owner["metadata"]["uid"],
                    "blockOwnerDeletion": True,
                }
            ],
            "finalizers": finalizers or [],
        },
        "data": {"k": "v"},
    }


def test_dependents_are_garbage_collected_when_their_owner_goes(
    raw: RawAPI, widgets: str, namespace: str
) -> None:
    """ownerReferences, background propagation: the owner's deletion removes its dependents."""
    owner = raw("POST", widgets, widget("owner")).body
    config_maps = f"/api/v1/namespaces/{namespace}/configmaps"
    assert raw("POST", config_maps, _owned_config_map("owned", owner)).status == 201

    raw("DELETE", f"{widgets}/owner", {"propagationPolicy": "Background"})

    wait_for(lambda: _gone(raw, f"{config_maps}/owned"), timeout=60)


def test_orphan_propagation_keeps_dependents(raw: RawAPI, widgets: str, namespace: str) -> None:
    owner = raw("POST", widgets, widget("parent")).body
    config_maps = f"/api/v1/namespaces/{namespace}/configmaps"
    raw("POST", config_maps, _owned_config_map("orphan", owner))

    raw("DELETE", f"{widgets}/parent", {"propagationPolicy": "Orphan"})

    wait_for(lambda: _gone(raw, f"{widgets}/parent"))
    orphan = wait_for(
        lambda: (
            not (a := raw("GET", f"{config_maps}/orphan")).body["metadata"].get("ownerReferences")
            and a
        )
    )
    assert orphan.status == 200


def test_foreground_deletion_waits_for_blocking_dependents(
    raw: RawAPI, widgets: str, namespace: str
) -> None:
    """propagationPolicy=Foreground: the owner stays (foregroundDeletion) until they are gone."""
    owner = raw("POST", widgets, widget("patient")).body
    config_maps = f"/api/v1/namespaces/{namespace}/configmaps"
    dependent = _owned_config_map("blocker", owner, finalizers=["example.com/hold"])
    raw("POST", config_maps, dependent)

    raw("DELETE", f"{widgets}/patient", {"propagationPolicy": "Foreground"})

    waiting = wait_for(
        lambda: (
            (a := raw("GET", f"{widgets}/patient")).status == 200
            and "foregroundDeletion" in a.body["metadata"].get("finalizers", [])
            and a
        )
    )
    assert waiting.body["metadata"]["deletionTimestamp"]
    blocker = wait_for(
        lambda: (
            (a := raw("GET", f"{config_maps}/blocker")).body["metadata"].get("deletionTimestamp")
            and a
        )
    )
    assert blocker.status == 200

    raw("PATCH", f"{config_maps}/blocker", {"metadata": {"finalizers": None}}, content_type=MERGE)

    wait_for(lambda: _gone(raw, f"{config_maps}/blocker"), timeout=60)
    wait_for(lambda: _gone(raw, f"{widgets}/patient"), timeout=60)


@pytest.mark.parametrize(
    ("references", "status", "field"),
    [
        pytest.param("not-a-list", 400, "metadata.ownerReferences", id="string"),
        pytest.param([5], 400, "metadata.ownerReferences", id="number-entry"),
        pytest.param([{"uid": 5}], 400, "metadata.ownerReferences.uid", id="number-uid"),
        pytest.param(
            [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}],
            422,
            "metadata.ownerReferences.uid",
            id="missing-uid",
        ),
    ],
)
def test_malformed_owner_references_are_refused(
    raw: RawAPI, widgets: str, references: Any, status: int, field: str
) -> None:
    """ValidateOwnerReferences: every reference names apiVersion, kind, name and uid.

    Garbage collection reads every stored object's references, so a malformed list that got in
    would break later deletions of unrelated objects.
    """
    bystander = raw("POST", widgets, widget("bystander"))
    body = widget("badly-owned")
    body["metadata"]["ownerReferences"] = references

    refused = raw("POST", widgets, body)

    assert refused.status == status, refused.body
    assert field in refused.body["message"]
    assert raw("GET", f"{widgets}/badly-owned").status == 404
    assert bystander.status == 201
    assert raw("DELETE", f"{widgets}/bystander").status in (200, 202)
