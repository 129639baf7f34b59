"""Behaviour of the local API itself that a real cluster does not share: discovery follows CRD
deletion immediately, and the reported version."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from smartlicensing.testing.kubeapi import LocalKubeAPI

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "things.local.test"},
    "spec": {
        "group": "local.test",
        "scope": "Cluster",
        "names": {"plural": "things", "kind": "Thing"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object"}},
            }
        ],
    },
}


def test_kubeconfig_points_at_the_server_with_a_default_namespace(tmp_path: Path) -> None:
    with LocalKubeAPI() as api:
        written = api.write_kubeconfig(tmp_path / "kc")

        config = yaml.safe_load(written.read_text())
        assert config["clusters"][0]["cluster"]["server"] == api.url
        assert config["contexts"][0]["context"]["namespace"] == "default"
        assert api.url.startswith("http://127.0.0.1:")


def test_deleting_a_crd_removes_its_objects_and_its_discovery(tmp_path: Path) -> None:
    import httpx

    with LocalKubeAPI() as api, httpx.Client(base_url=api.url) as http:
        crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        assert http.post(crds, json=CRD).status_code == 201
        thing = {"apiVersion": "local.test/v1", "kind": "Thing", "metadata": {"name": "t"}}
        assert http.post("/apis/local.test/v1/things", json=thing).status_code == 201

        http.delete(f"{crds}/things.local.test")

        assert http.get("/apis/local.test/v1").status_code == 404
        assert http.get(f"{crds}/things.local.test").status_code == 404
        assert "local.test" not in {g["name"] for g in http.get("/apis").json()["groups"]}


def test_a_second_start_is_refused_and_stop_is_idempotent() -> None:
    api = LocalKubeAPI().start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            api.start()
    finally:
        api.stop()
        api.stop()


def test_stop_ends_open_watches_promptly() -> None:
    """A watch still open at stop() is closed by the server; stop() does not wait on clients."""
    import threading
    import time

    import httpx

    api = LocalKubeAPI().start()
    opened, ended = threading.Event(), threading.Event()

    def watch() -> None:
        with (
            httpx.Client(base_url=api.url, timeout=30) as http,
            http.stream("GET", "/api/v1/namespaces", params={"watch": "true"}) as reply,
        ):
            opened.set()
            for _ in reply.iter_lines():
                pass
        ended.set()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert opened.wait(10)

    started = time.monotonic()
    api.stop()

    assert ended.wait(10)
    assert time.monotonic() - started < 5


def test_malformed_bodies_are_400_not_server_errors() -> None:
    import httpx

    with LocalKubeAPI() as api, httpx.Client(base_url=api.url) as http:
        config_maps = "/api/v1/namespaces/default/configmaps"
        assert http.post(config_maps, json={"metadata": {"name": "solid"}}).status_code == 201
        headers = {"Content-Type": "application/json"}

        answers = [
            http.post(config_maps, content=b"{not json", headers=headers),
            http.request("DELETE", f"{config_maps}/solid", content=b"[1,", headers=headers),
            http.post(config_maps, json=[1, 2]),
            http.patch(f"{config_maps}/solid", content=b"{}", headers={"Content-Type": "x/y"}),
            http.get(config_maps, params={"limit": "many"}),
            http.get(config_maps, params={"watch": "true", "resourceVersion": "abc"}),
        ]

        assert [answer.status_code for answer in answers] == [400, 400, 400, 415, 400, 400]
        assert all(answer.json()["kind"] == "Status" for answer in answers)
        assert http.get(f"{config_maps}/solid").status_code == 200


def test_a_body_over_the_limit_is_413_and_the_server_carries_on() -> None:
    import httpx

    with LocalKubeAPI() as api, httpx.Client(base_url=api.url) as http:
        config_maps = "/api/v1/namespaces/default/configmaps"
        huge = {"metadata": {"name": "huge"}, "data": {"k": "x" * (9 * 1024 * 1024)}}

        answer = http.post(config_maps, json=huge)

        assert answer.status_code == 413
        assert answer.json()["reason"] == "RequestEntityTooLarge"
        assert "limit is" in answer.json()["message"]
        assert http.post(config_maps, json={"metadata": {"name": "small"}}).status_code == 201


def test_yaml_aliases_are_refused_so_an_alias_bomb_cannot_hold_the_server() -> None:
    import httpx

    levels = [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = "\n".join(
        [
            "apiVersion: v1",
            "kind: ConfigMap",
            "metadata: {name: bomb}",
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]",
            *levels,
            "data: {k: v}",
        ]
    )
    with LocalKubeAPI() as api, httpx.Client(base_url=api.url, timeout=10) as http:
        config_maps = "/api/v1/namespaces/default/configmaps"

        answer = http.post(
            config_maps, content=bomb.encode(), headers={"Content-Type": "application/yaml"}
        )

        assert answer.status_code == 400
        assert "alias" in answer.json()["message"]
        plain = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {k: v}\n"
        created = http.post(
            config_maps, content=plain.encode(), headers={"Content-Type": "application/yaml"}
        )
        assert created.status_code == 201, created.text
