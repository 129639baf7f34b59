"""The status subresource and metadata.generation."""

from __future__ import annotations

from kubeapi.access import MERGE, RawAPI, widget

READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "Done", "message": ""}]}


def test_status_sent_on_create_is_ignored(raw: RawAPI, widgets: str) -> None:
    """With a status subresource, the main resource's writes ignore status (create included)."""
    body = dict(widget("born"), status={"phase": "Forged"})

    answer = raw("POST", widgets, body)

    assert answer.status == 201
    assert "status" not in answer.body


def test_writes_to_the_object_ignore_status(raw: RawAPI, widgets: str) -> None:
    raw("POST", widgets, widget("iso"))
    raw("PATCH", f"{widgets}/iso/status", {"status": {"phase": "Kept"}}, content_type=MERGE)

    answer = raw(
        "PATCH",
        f"{widgets}/iso",
        {"spec": {"size": 7}, "status": {"phase": "Overwritten"}},
        content_type=MERGE,
    )

    assert answer.body["spec"]["size"] == 7
    assert answer.body["status"] == {"phase": "Kept"}


def test_writes_to_status_ignore_everything_else(raw: RawAPI, widgets: str) -> None:
    raw("POST", widgets, widget("only-status", size=2))

    answer = raw(
        "PATCH",
        f"{widgets}/only-status/status",
        {"spec": {"size": 9}, "metadata": {"labels": {"x": "y"}}, "status": READY},
        content_type=MERGE,
    )

    assert answer.status == 200, answer.body
    assert answer.body["status"] == READY
    assert answer.body["spec"]["size"] == 2
    assert "x" not in (answer.body["metadata"].get("labels") or {})


def test_generation_moves_on_spec_changes_only(raw: RawAPI, widgets: str) -> None:
    """metadata.generation: +1 per spec change; status, labels and annotations leave it alone."""
    created = raw("POST", widgets, widget("gen"))
    assert created.body["metadata"]["generation"] == 1

    status = raw("PATCH", f"{widgets}/gen/status", {"status": READY}, content_type=MERGE)
    labels = raw(
        "PATCH", f"{widgets}/gen", {"metadata": {"labels": {"a": "b"}}}, content_type=MERGE
    )
    spec = raw("PATCH", f"{widgets}/gen", {"spec": {"size": 8}}, content_type=MERGE)

    assert status.body["metadata"]["generation"] == 1
    assert labels.body["metadata"]["generation"] == 1
    assert spec.body["metadata"]["generation"] == 2
    assert int(created.rv) < int(status.rv) < int(labels.rv) < int(spec.rv)


def test_status_of_a_kind_without_the_subresource_is_404(raw: RawAPI, widgets_crd: str) -> None:
    path = "/apis/kubeapi.smartlicensing.dev/v1/gadgets"
    raw(
        "POST",
        path,
        {
            "apiVersion": "kubeapi.smartlicensing.dev/v1",
            "kind": "Gadget",
            "metadata": {"name": "plain"},
        },
    )
    try:
        answer = raw("PATCH", f"{path}/plain/status", {"status": {"a": 1}}, content_type=MERGE)
        assert answer.status == 404
    finally:
        raw("DELETE", f"{path}/plain")
