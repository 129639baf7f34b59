"""kubectl apply, get (printer columns), wait, describe and delete against the API."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from kubeapi.access import MANIFESTS, MERGE, RawAPI


def test_kubectl_apply_get_wait_describe_delete(
    kube_api: Any, raw: RawAPI, namespace: str, tmp_path: Path
) -> None:
    kube_api.apply(MANIFESTS / "widgets.yaml")
    manifest = MANIFESTS / "widget-red.yaml"

    applied = kube_api.kubectl("apply", "-n", namespace, "-f", str(manifest))
    again = kube_api.kubectl("apply", "-n", namespace, "-f", str(manifest))
    table = kube_api.kubectl("get", "widgets", "-n", namespace)

    assert "widget.kubeapi.smartlicensing.dev/red-one created" in applied.stdout
    assert "unchanged" in again.stdout
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "SIZE", "COLOR", "READY", "AGE"]
    assert row.split()[:3] == ["red-one", "4", "red"]

    waiting = subprocess.Popen(
        kube_api.kubectl_command(
            "wait",
            "-n",
            namespace,
            "--for=condition=Ready",
            "widget/red-one",
            "--timeout=30s",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ready = {"conditions": [{"type": "Ready", "status": "True", "reason": "Test", "message": ""}]}
    raw(
        "PATCH",
        f"/apis/kubeapi.smartlicensing.dev/v1/namespaces/{namespace}/widgets/red-one/status",
        {"status": ready},
        content_type=MERGE,
    )
    out, err = waiting.communicate(timeout=40)
    assert waiting.returncode == 0, err
    assert "condition met" in out

    described = kube_api.kubectl("describe", "widget", "red-one", "-n", namespace)
    assert "Name:         red-one" in described.stdout
    assert "Color:  red" in described.stdout

    labelled = kube_api.kubectl("label", "widget", "red-one", "-n", namespace, "stage=test")
    by_category = kube_api.kubectl("get", "kubeapitest", "-n", namespace, "-l", "stage=test")
    assert "labeled" in labelled.stdout
    assert "red-one" in by_category.stdout

    ready_column = kube_api.kubectl("get", "wdg", "red-one", "-n", namespace, "--no-headers")
    assert ready_column.stdout.split()[3] == "True"

    deleted = kube_api.kubectl("delete", "-n", namespace, "-f", str(manifest))
    assert "deleted" in deleted.stdout
    missing = kube_api.kubectl("get", "widget", "red-one", "-n", namespace, check=False)
    assert missing.returncode != 0
    assert "NotFound" in missing.stderr


def test_kubectl_apply_of_builtins_creates_and_patches_them(
    kube_api: Any, raw: RawAPI, namespace: str, tmp_path: Path
) -> None:
    """Secrets and ConfigMaps through `kubectl apply` (strategic merge patch on re-apply)."""

    def manifest(data: dict[str, str]) -> Path:
        path = tmp_path / "builtins.yaml"
        path.write_text(
            yaml.safe_dump_all(
                [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": "settings", "namespace": namespace},
                        "data": data,
                    },
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": "token", "namespace": namespace},
                        "stringData": {"token": "s3cr3t"},
                    },
                ]
            )
        )
        return path

    kube_api.apply(manifest({"a": "1", "b": "2"}))
    kube_api.apply(manifest({"a": "1", "c": "3"}))

    config_map = raw("GET", f"/api/v1/namespaces/{namespace}/configmaps/settings").body
    secret = raw("GET", f"/api/v1/namespaces/{namespace}/secrets/token").body
    assert config_map["data"] == {"a": "1", "c": "3"}
    assert secret["data"] == {"token": "czNjcjN0"}
