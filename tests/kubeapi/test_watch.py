"""Watches: resume from a resourceVersion, 410 Gone, bookmarks, initial events, selectors."""

from __future__ import annotations

from typing import Any

import pytest

from kubeapi.access import MERGE, TABLE, RawAPI, widget


def test_watch_resumes_after_a_resource_version(raw: RawAPI, widgets: str) -> None:
    """A watch from version N replays exactly the changes after N, in order."""
    created = raw("POST", widgets, widget("resume"))
    raw("PATCH", f"{widgets}/resume", {"spec": {"size": 5}}, content_type=MERGE)
    raw("POST", widgets, widget("later"))
    raw("DELETE", f"{widgets}/resume")

    events = raw.watch(widgets, {"resourceVersion": created.rv}, until=3)

    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("MODIFIED", "resume"),
        ("ADDED", "later"),
        ("DELETED", "resume"),
    ]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions)
    assert versions[0] > int(created.rv)


def test_watch_without_a_version_starts_with_the_current_objects(raw: RawAPI, widgets: str) -> None:
    raw("POST", widgets, widget("present-a"))
    raw("POST", widgets, widget("present-b"))

    events = raw.watch(widgets, {}, until=2)

    assert {(e["type"], e["object"]["metadata"]["name"]) for e in events} == {
        ("ADDED", "present-a"),
        ("ADDED", "present-b"),
    }


def test_watch_from_a_trimmed_version_gets_410_gone(
    raw: RawAPI, widgets: str, kube_api: Any
) -> None:
    """Too old a resourceVersion: an ERROR event with a 410 Expired Status, as kopf expects."""
    if kube_api.local is None:
        pytest.skip("etcd compaction cannot be forced on a real cluster from a test")
    first = raw("POST", widgets, widget("churn"))
    for size in range(kube_api.local.history_size + 5):
        raw("PATCH", f"{widgets}/churn", {"spec": {"size": 1 + size % 10}}, content_type=MERGE)

    events = raw.watch(widgets, {"resourceVersion": first.rv}, until=1)

    assert events[0]["type"] == "ERROR"
    assert events[0]["object"]["kind"] == "Status"
    assert events[0]["object"]["code"] == 410
    assert events[0]["object"]["reason"] == "Expired"


def test_bookmarks_arrive_on_an_idle_watch(raw: RawAPI, widgets: str, kube_api: Any) -> None:
    """allowWatchBookmarks: the server sends BOOKMARK events with the current version."""
    if kube_api.local is None:
        pytest.skip("real API servers send bookmarks about once a minute")
    created = raw("POST", widgets, widget("idle"))

    events = raw.watch(
        widgets, {"resourceVersion": created.rv, "allowWatchBookmarks": "true"}, until=1
    )

    assert events[0]["type"] == "BOOKMARK"
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) >= int(created.rv)
    assert events[0]["object"]["kind"] == "Widget"


def test_send_initial_events_ends_with_a_marked_bookmark(raw: RawAPI, widgets: str) -> None:
    """Streaming lists: ADDED for what exists, then a BOOKMARK annotated initial-events-end."""
    raw("POST", widgets, widget("streamed"))

    events = raw.watch(
        widgets,
        {
            "sendInitialEvents": "true",
            "allowWatchBookmarks": "true",
            "resourceVersionMatch": "NotOlderThan",
        },
        until=2,
    )

    assert (events[0]["type"], events[0]["object"]["metadata"]["name"]) == ("ADDED", "streamed")
    assert events[1]["type"] == "BOOKMARK"
    annotations = events[1]["object"]["metadata"]["annotations"]
    assert annotations["k8s.io/initial-events-end"] == "true"


def test_watch_timeout_seconds_ends_the_stream(raw: RawAPI, widgets: str) -> None:
    created = raw("POST", widgets, widget("short"))

    events = raw.watch(widgets, {"resourceVersion": created.rv}, timeout=1)

    assert events == []


def test_label_selector_turns_leaving_and_entering_into_deleted_and_added(
    raw: RawAPI, widgets: str
) -> None:
    """A selected watch sees an object that stops matching as DELETED, and one that starts as
    ADDED."""
    created = raw("POST", widgets, widget("mover"))
    raw("PATCH", f"{widgets}/mover", {"metadata": {"labels": {"pick": "yes"}}}, content_type=MERGE)
    raw("PATCH", f"{widgets}/mover", {"metadata": {"labels": {"pick": "no"}}}, content_type=MERGE)

    events = raw.watch(
        widgets, {"resourceVersion": created.rv, "labelSelector": "pick=yes"}, until=2
    )

    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


def test_watch_as_table_sends_one_row_tables(raw: RawAPI, widgets: str) -> None:
    """What `kubectl get -w` reads: each event's object is a Table holding that object's row."""
    created = raw("POST", widgets, widget("watched-row", size=6))
    raw("PATCH", f"{widgets}/watched-row", {"spec": {"size": 7}}, content_type=MERGE)

    events = raw.watch(widgets, {"resourceVersion": created.rv}, until=1, accept=TABLE)

    assert events[0]["type"] == "MODIFIED"
    assert events[0]["object"]["kind"] == "Table"
    assert events[0]["object"]["rows"][0]["cells"][:3] == ["watched-row", 7, "green"]
