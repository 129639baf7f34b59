"""Reading: label and field selectors, pagination, Table answers and discovery."""

from __future__ import annotations

import pytest

from kubeapi.access import GROUP, MERGE, TABLE, WIDGETS, RawAPI, widget

LABELLED = {
    "w-a": {"tier": "front", "env": "prod"},
    "w-b": {"tier": "back", "env": "prod"},
    "w-c": {"tier": "front"},
    "w-d": {},
}


@pytest.fixture
def labelled(raw: RawAPI, widgets: str) -> str:
    for name, labels in LABELLED.items():
        body = widget(name)
        body["metadata"]["labels"] = labels
        assert raw("POST", widgets, body).status == 201
    return widgets


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("tier=front", {"w-a", "w-c"}, id="equals"),
        pytest.param("tier==front", {"w-a", "w-c"}, id="double-equals"),
        pytest.param("tier!=front", {"w-b", "w-d"}, id="not-equals-includes-unlabelled"),
        pytest.param("tier in (front,back)", {"w-a", "w-b", "w-c"}, id="in"),
        pytest.param("tier notin (front)", {"w-b", "w-d"}, id="notin"),
        pytest.param("env", {"w-a", "w-b"}, id="exists"),
        pytest.param("!env", {"w-c", "w-d"}, id="not-exists"),
        pytest.param("tier=front,env=prod", {"w-a"}, id="and"),
        pytest.param("tier in (front, back),!env", {"w-c"}, id="set-and-not-exists"),
    ],
)
def test_label_selectors_select_as_kubernetes_does(
    raw: RawAPI, labelled: str, selector: str, expected: set[str]
) -> None:
    answer = raw("GET", labelled, query={"labelSelector": selector})

    assert answer.status == 200, answer.body
    assert {item["metadata"]["name"] for item in answer.body["items"]} == expected


def test_field_selector_on_metadata_name(raw: RawAPI, labelled: str) -> None:
    answer = raw("GET", labelled, query={"fieldSelector": "metadata.name=w-b"})

    assert [item["metadata"]["name"] for item in answer.body["items"]] == ["w-b"]


def test_field_selector_on_an_unindexed_field_is_400(raw: RawAPI, labelled: str) -> None:
    answer = raw("GET", labelled, query={"fieldSelector": "spec.color=green"})

    assert answer.status == 400


def test_list_answers_carry_kind_and_resource_version(raw: RawAPI, labelled: str) -> None:
    answer = raw("GET", labelled)

    assert answer.body["kind"] == "WidgetList"
    assert answer.body["apiVersion"] == f"{GROUP}/v1"
    assert int(answer.body["metadata"]["resourceVersion"]) > 0


def test_list_pagination_with_limit_and_continue_returns_every_object_once(
    raw: RawAPI, widgets: str
) -> None:
    names = {f"page-{index:02d}" for index in range(7)}
    for name in names:
        raw("POST", widgets, widget(name))

    seen: list[str] = []
    pages = 0
    token = ""
    while True:
        query = {"limit": "3", **({"continue": token} if token else {})}
        answer = raw("GET", widgets, query=query)
        assert answer.status == 200, answer.body
        assert len(answer.body["items"]) <= 3
        seen += [item["metadata"]["name"] for item in answer.body["items"]]
        pages += 1
        token = answer.body["metadata"].get("continue", "")
        if not token:
            break

    assert pages == 3
    assert sorted(seen) == sorted(names)


def test_table_answer_has_the_crd_printer_columns(raw: RawAPI, widgets: str) -> None:
    """additionalPrinterColumns, including a JSONPath filter on conditions by type."""
    raw("POST", widgets, widget("tabled", size=4, color="blue"))
    conditions = [
        {"type": "Other", "status": "False", "reason": "X", "message": ""},
        {"type": "Ready", "status": "True", "reason": "Done", "message": ""},
    ]
    raw(
        "PATCH",
        f"{widgets}/tabled/status",
        {"status": {"conditions": conditions}},
        content_type=MERGE,
    )

    answer = raw("GET", widgets, accept=TABLE)

    assert answer.body["kind"] == "Table"
    columns = [column["name"] for column in answer.body["columnDefinitions"]]
    assert columns == ["Name", "Size", "Color", "Ready", "Age"]
    cells = answer.body["rows"][0]["cells"]
    assert cells[:4] == ["tabled", 4, "blue", "True"]
    assert cells[4].endswith("s")
    assert answer.body["rows"][0]["object"]["metadata"]["name"] == "tabled"


def test_table_for_a_builtin_has_name_and_age(raw: RawAPI, namespace: str) -> None:
    path = f"/api/v1/namespaces/{namespace}/configmaps"
    raw("POST", path, {"metadata": {"name": "cm"}, "data": {"a": "b"}})

    answer = raw("GET", f"{path}/cm", accept=TABLE)

    assert [c["name"] for c in answer.body["columnDefinitions"]][:1] == ["Name"]
    assert answer.body["rows"][0]["cells"][0] == "cm"


def test_discovery_lists_an_applied_crd_with_its_subresources(
    raw: RawAPI, widgets_crd: str
) -> None:
    group = raw("GET", f"/apis/{GROUP}")
    resources = raw("GET", WIDGETS)
    groups = raw("GET", "/apis")

    assert group.body["preferredVersion"]["version"] == "v1"
    assert GROUP in {g["name"] for g in groups.body["groups"]}
    by_name = {r["name"]: r for r in resources.body["resources"]}
    assert by_name["widgets"]["kind"] == "Widget"
    assert by_name["widgets"]["namespaced"] is True
    assert by_name["widgets"]["shortNames"] == ["wdg"]
    assert {"list", "watch", "patch"} <= set(by_name["widgets"]["verbs"])
    assert "widgets/status" in by_name
    assert by_name["gadgets"]["namespaced"] is False
    assert "gadgets/status" not in by_name


def test_crds_are_established_with_names_accepted(raw: RawAPI, widgets_crd: str) -> None:
    crd = raw("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{widgets_crd}")

    statuses = {c["type"]: c["status"] for c in crd.body["status"]["conditions"]}
    assert statuses["Established"] == "True"
    assert statuses["NamesAccepted"] == "True"


def test_core_discovery_and_version(raw: RawAPI) -> None:
    core = raw("GET", "/api/v1")
    version = raw("GET", "/version")

    names = {r["name"] for r in core.body["resources"]}
    assert {"namespaces", "secrets", "configmaps", "events"} <= names
    assert version.body["major"] == "1"
    assert raw("GET", "/api").body["versions"] == ["v1"]
