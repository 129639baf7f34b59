"""Fixtures of the local Kubernetes API's behaviour tests: raw access and the test CRDs."""

from __future__ import annotations

from typing import Any

import pytest

from kubeapi.access import GROUP, MANIFESTS, WIDGETS, RawAPI


@pytest.fixture(scope="session")
def raw(api_client: Any) -> RawAPI:
    return RawAPI(api_client)


@pytest.fixture(scope="session")
def widgets_crd(kube_api: Any) -> str:
    """The test CRDs (namespaced Widget, cluster-scoped Gadget), applied with kubectl."""
    kube_api.apply(MANIFESTS / "widgets.yaml")
    return f"widgets.{GROUP}"


@pytest.fixture
def widgets(widgets_crd: str, namespace: str) -> str:
    """The collection URL of Widgets in this test's namespace."""
    return f"{WIDGETS}/namespaces/{namespace}/widgets"
