"""How the behaviour tests reach the API: authenticated raw HTTP and a polling wait.

Everything goes through public interfaces (the ``kubernetes`` client's address and credentials,
and kubectl), so the tests run unchanged against kind or any cluster (``K8S_BACKEND``).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes.watch.watch import iter_resp_lines

MANIFESTS = Path(__file__).parent / "manifests"
GROUP = "kubeapi.smartlicensing.dev"
WIDGETS = f"/apis/{GROUP}/v1"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def rv(self) -> str:
        return str(self.body["metadata"]["resourceVersion"])


class RawAPI:
    """Plain HTTP against the cluster, with the client's address and credentials."""

    def __init__(self, api_client: Any) -> None:
        self.client = api_client

    def _send(
        self,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str],
        query: dict[str, str],
        timeout: float,
    ) -> Any:
        serialized = self.client.param_serialize(
            method,
            path,
            query_params=list(query.items()),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        return self.client.call_api(*serialized, _request_timeout=timeout)

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> Answer:
        headers = {"Content-Type": content_type, "Accept": accept}
        response = self._send(method, path, body, headers, query or {}, 30)
        raw = response.read()
        return Answer(response.status, json.loads(raw) if raw else None, dict(response.headers))

    def watch(
        self,
        path: str,
        query: dict[str, str],
        *,
        until: int | None = None,
        timeout: int = 5,
        accept: str = "application/json",
    ) -> list[dict[str, Any]]:
        """Events of one watch request: ``until`` of them, or all before ``timeout`` seconds."""
        params = {"watch": "true", "timeoutSeconds": str(timeout), **query}
        response = self._send("GET", path, None, {"Accept": accept}, params, timeout + 10)
        events: list[dict[str, Any]] = []
        try:
            for line in iter_resp_lines(response.response):  # type: ignore[no-untyped-call]
                events.append(json.loads(line))
                if until is not None and len(events) >= until:
                    break
        finally:
            response.response.release_conn()
        return events


def wait_for(condition: Any, *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``condition()`` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {condition}")
        time.sleep(interval)


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"color": "green", **spec},
    }
