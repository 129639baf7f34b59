"""Secrets: reading keys with clear errors, writing owned Secrets safely, deleting idempotently.

The fake below keeps Secrets in a dict and behaves like the API server where it matters here:
404 for missing, 409 for create-over-existing and for a stale resourceVersion on replace.
"""

from __future__ import annotations

import base64
import copy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes.client import Configuration
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr

from smartlicensing.kube import (
    KubernetesUnavailable,
    KubeSecrets,
    Owner,
    SecretAccessDenied,
    SecretKeyMissing,
    SecretNotFound,
    SecretOwnedByOther,
    SecretValueInvalid,
    SecretWrite,
    apply_owned_secret,
    delete_secret,
    read_secret_key,
    read_secret_versioned,
    secrets_api,
)
from smartlicensing.kube.secrets import api_server_proxy
from smartlicensing.observability.redaction import SECRETS, redact
from smartlicensing.testing.kubeapi import LocalKubeAPI
from smartlicensing.transport import proxy_for

NS = "licensing"
OWNER = Owner("smartlicensing.dev/v1alpha1", "LicenseReservation", "dark-site-1", "uid-1")


def meta(secret: dict[str, Any]) -> dict[str, Any]:
    metadata = secret["metadata"]
    assert isinstance(metadata, dict)
    return metadata


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class FakeSecrets:
    store: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    version: int = 0
    forbidden: bool = False
    conflicts_on_replace: int = 0
    calls: list[str] = field(default_factory=list)

    def put(self, name: str, data: dict[str, str], owners: list[str] | None = None) -> None:
        self.version += 1
        references = [
            {"apiVersion": "v1", "kind": "X", "name": "x", "uid": uid} for uid in owners or []
        ]
        self.store[(NS, name)] = {
            "metadata": {
                "name": name,
                "namespace": NS,
                "resourceVersion": str(self.version),
                "ownerReferences": references,
            },
            "data": {k: b64(v) for k, v in data.items()},
        }

    def _check(self) -> None:
        if self.forbidden:
            raise ApiException(status=403, reason="Forbidden")

    async def read_namespaced_secret(self, name: str, namespace: str) -> dict[str, Any]:
        self.calls.append("read")
        self._check()
        if (namespace, name) not in self.store:
            raise ApiException(status=404, reason="Not Found")
        return copy.deepcopy(self.store[(namespace, name)])

    async def create_namespaced_secret(
        self, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls.append("create")
        self._check()
        key = (namespace, str(meta(body)["name"]))
        if key in self.store:
            raise ApiException(status=409, reason="AlreadyExists")
        self.version += 1
        meta(body)["resourceVersion"] = str(self.version)
        self.store[key] = copy.deepcopy(body)
        return body

    async def replace_namespaced_secret(
        self, name: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        self.calls.append("replace")
        self._check()
        current = self.store[(namespace, name)]
        if self.conflicts_on_replace:
            self.conflicts_on_replace -= 1
            self.version += 1
            meta(current)["resourceVersion"] = str(self.version)
        if meta(body)["resourceVersion"] != meta(current)["resourceVersion"]:
            raise ApiException(status=409, reason="Conflict")
        self.version += 1
        meta(body)["resourceVersion"] = str(self.version)
        self.store[(namespace, name)] = copy.deepcopy(body)
        return body

    async def delete_namespaced_secret(self, name: str, namespace: str) -> None:
        self.calls.append("delete")
        self._check()
        if self.store.pop((namespace, name), None) is None:
            raise ApiException(status=404, reason="Not Found")

    async def aclose(self) -> None:
        return None

    def decoded(self, name: str) -> dict[str, str]:
        data = self.store[(NS, name)].get("data") or {}
        return {k: base64.b64decode(v).decode() for k, v in data.items()}


async def test_reads_a_key_and_registers_it_for_redaction() -> None:
    api = FakeSecrets()
    api.put("cssm-api-client", {"client_id": "me", "client_secret": " canary-kube-secret-1\n"})
    value = await read_secret_key(api, NS, "cssm-api-client", "client_secret")

    assert value.get_secret_value() == "canary-kube-secret-1"
    assert "canary-kube-secret-1" not in redact("leak canary-kube-secret-1", registry=SECRETS)


async def test_missing_secret_names_namespace_and_name() -> None:
    with pytest.raises(SecretNotFound, match="Secret licensing/absent does not exist"):
        await read_secret_key(FakeSecrets(), NS, "absent", "token")


async def test_missing_key_names_the_key_and_the_keys_present_not_values() -> None:
    api = FakeSecrets()
    api.put("codes", {"request": "canary-request-value"})
    with pytest.raises(SecretKeyMissing) as raised:
        await read_secret_key(api, NS, "codes", "confirmation")

    assert str(raised.value) == (
        "Secret licensing/codes has no key 'confirmation' (keys present: request)"
    )
    assert raised.value.key == "confirmation"


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        pytest.param(b64("   "), "is empty", id="blank"),
        pytest.param("***not base64***", "not base64", id="not-base64"),
        pytest.param(base64.b64encode(b"\xff\xfe").decode(), "not base64", id="not-utf8"),
    ],
)
async def test_unusable_values_are_refused(stored: str, message: str) -> None:
    api = FakeSecrets()
    api.put("codes", {})
    api.store[(NS, "codes")]["data"] = {"request": stored}
    with pytest.raises(SecretValueInvalid, match=message):
        await read_secret_key(api, NS, "codes", "request")


async def test_rbac_refusal_is_its_own_error() -> None:
    api = FakeSecrets(forbidden=True)
    with pytest.raises(SecretAccessDenied, match="RBAC"):
        await read_secret_key(api, NS, "codes", "request")


async def test_apply_creates_an_owned_secret() -> None:
    api = FakeSecrets()
    written = await apply_owned_secret(
        api,
        NS,
        "dark-site-1-authorization",
        {"code": SecretStr("<specificPLR/>")},
        OWNER,
        labels={"smartlicensing.dev/reservation": "dark-site-1"},
    )

    assert written is SecretWrite.CREATED
    assert api.calls == ["create"]  # a new Secret costs one call
    stored = api.store[(NS, "dark-site-1-authorization")]
    references = meta(stored)["ownerReferences"]
    reference = references[0]
    assert (reference["kind"], reference["uid"], reference["controller"]) == (
        "LicenseReservation",
        "uid-1",
        True,
    )
    assert meta(stored)["labels"] == {
        "app.kubernetes.io/managed-by": "smartlicensing-operator",
        "smartlicensing.dev/reservation": "dark-site-1",
    }
    assert api.decoded("dark-site-1-authorization") == {"code": "<specificPLR/>"}


async def test_apply_updates_keys_and_keeps_others() -> None:
    api = FakeSecrets()
    api.put("codes", {"request": "CB-1", "note": "typed by a person"}, owners=["uid-1"])
    written = await apply_owned_secret(api, NS, "codes", {"request": "CB-2"}, OWNER)

    assert written is SecretWrite.UPDATED
    assert api.decoded("codes") == {"request": "CB-2", "note": "typed by a person"}


async def test_apply_without_change_does_not_write() -> None:
    api = FakeSecrets()
    api.put("codes", {"request": "CB-1"}, owners=["uid-1"])
    written = await apply_owned_secret(api, NS, "codes", {"request": "CB-1"}, OWNER)

    assert written is SecretWrite.UNCHANGED
    assert api.calls == ["create", "read"]


async def test_apply_never_overwrites_a_secret_of_somebody_else() -> None:
    api = FakeSecrets()
    api.put("codes", {"request": "theirs"}, owners=["uid-other"])
    with pytest.raises(SecretOwnedByOther, match="does not belong to LicenseReservation"):
        await apply_owned_secret(api, NS, "codes", {"request": "ours"}, OWNER)
    assert api.decoded("codes") == {"request": "theirs"}


async def test_apply_rereads_after_a_conflict() -> None:
    api = FakeSecrets(conflicts_on_replace=1)
    api.put("codes", {"request": "CB-1"}, owners=["uid-1"])
    written = await apply_owned_secret(api, NS, "codes", {"request": "CB-2"}, OWNER)

    assert written is SecretWrite.UPDATED
    assert api.calls == ["create", "read", "replace", "read", "replace"]
    assert api.decoded("codes")["request"] == "CB-2"


async def test_apply_gives_up_when_conflicts_persist() -> None:
    api = FakeSecrets(conflicts_on_replace=10)
    api.put("codes", {"request": "CB-1"}, owners=["uid-1"])
    with pytest.raises(KubernetesUnavailable, match="kept changing"):
        await apply_owned_secret(api, NS, "codes", {"request": "CB-2"}, OWNER)


async def test_delete_is_idempotent() -> None:
    api = FakeSecrets()
    api.put("codes", {"request": "CB-1"})
    assert await delete_secret(api, NS, "codes") is True
    assert await delete_secret(api, NS, "codes") is False
    assert (NS, "codes") not in api.store


def kubeconfig_for(path: Path, server: str, token: str = "canary-kube-token-9") -> str:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        f"clusters: [{{name: c, cluster: {{server: '{server}'}}}}]\n"
        f"users: [{{name: u, user: {{token: {token}}}}}]\n"
        "contexts: [{name: test, context: {cluster: c, user: u}}]\n"
    )
    return str(path)


async def test_secrets_api_logs_in_from_a_kubeconfig(tmp_path: Path) -> None:
    api = secrets_api(kubeconfig_for(tmp_path / "config", "https://k8s.test:6443"))
    try:
        configuration = await api.configuration()
        assert configuration.host == "https://k8s.test:6443"
        assert api.headers(configuration)["authorization"] == "Bearer canary-kube-token-9"
    finally:
        await api.aclose()


async def test_the_secrets_api_reads_writes_and_deletes_on_a_kubernetes_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As the kubernetes client does: the environment's proxy, but not for a host in NO_PROXY.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    for name in ("no_proxy", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy_for.cache_clear()
    with LocalKubeAPI() as kube:
        http = httpx.AsyncClient(base_url=kube.url, trust_env=False)
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}
        (await http.post("/api/v1/namespaces", json=namespace)).raise_for_status()
        api = secrets_api(kubeconfig_for(tmp_path / "config", kube.url))
        try:
            values = {"code": SecretStr("canary-kube-code-3")}
            assert await apply_owned_secret(api, NS, "codes", values, OWNER) is SecretWrite.CREATED
            assert (await read_secret_key(api, NS, "codes", "code")).get_secret_value() == (
                "canary-kube-code-3"
            )
            changed = {"code": SecretStr("canary-kube-code-4")}
            assert await apply_owned_secret(api, NS, "codes", changed, OWNER) is SecretWrite.UPDATED
            _, version = await read_secret_versioned(api, NS, "codes")
            assert version
            stored = (await http.get(f"/api/v1/namespaces/{NS}/secrets/codes")).json()
            assert stored["metadata"]["ownerReferences"][0]["uid"] == OWNER.uid
            assert await delete_secret(api, NS, "codes") is True
            with pytest.raises(SecretNotFound, match="licensing/codes does not exist"):
                await read_secret_key(api, NS, "codes", "code")
        finally:
            await api.aclose()
            await http.aclose()
    proxy_for.cache_clear()


async def test_an_api_server_that_does_not_answer_is_unavailable_and_named(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    api = secrets_api(kubeconfig_for(tmp_path / "config", closed), connect_timeout=2.0)
    try:
        with pytest.raises(KubernetesUnavailable) as raised:
            await read_secret_key(api, NS, "codes", "code")
    finally:
        await api.aclose()
    message = str(raised.value)
    assert "could not read Secret licensing/codes: the Kubernetes API did not answer" in message


class RotatingToken:
    """A loaders' refresh hook: a new token each time it is asked, noting the thread it ran on."""

    def __init__(self) -> None:
        self.issued = 0
        self.threads: list[str] = []

    def __call__(self, configuration: Configuration) -> None:
        self.issued += 1
        self.threads.append(threading.current_thread().name)
        configuration.api_key["BearerToken"] = f"canary-kube-token-{self.issued}"


def logged_in(hook: RotatingToken | None = None) -> Configuration:
    configuration = Configuration(host="https://k8s.test:6443")
    configuration.api_key = {"BearerToken": "canary-kube-token-0"}
    configuration.api_key_prefix = {"BearerToken": "Bearer"}
    configuration.refresh_api_key_hook = hook  # type: ignore[assignment]  # typed None there
    return configuration


def kube_secrets(
    configuration: Configuration | Callable[[], Configuration], handler: Any
) -> KubeSecrets:
    return KubeSecrets(
        configuration, timeout=httpx.Timeout(5.0), transport=httpx.MockTransport(handler)
    )


async def test_an_expired_token_is_renewed_off_the_event_loop_and_the_call_sent_again() -> None:
    hook = RotatingToken()
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        if len(seen) == 1:
            return httpx.Response(401, json={"kind": "Status", "code": 401})
        return httpx.Response(200, json={"metadata": {"resourceVersion": "7"}, "data": {}})

    api = kube_secrets(logged_in(hook), answer)
    _, version = await read_secret_versioned(api, NS, "codes")

    assert version == "7"
    assert seen == ["Bearer canary-kube-token-1", "Bearer canary-kube-token-2"]
    assert threading.current_thread().name not in hook.threads  # a worker thread ran the hook

    # Fresh headers are reused: the loaders are not asked again on every call.
    await read_secret_versioned(api, NS, "codes")
    assert hook.issued == 2


async def test_a_token_refused_twice_is_access_denied_without_a_third_try() -> None:
    calls: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(401, json={"kind": "Status", "code": 401})

    with pytest.raises(SecretAccessDenied, match="HTTP 401"):
        await read_secret_key(kube_secrets(logged_in(RotatingToken()), answer), NS, "a", "b")
    assert len(calls) == 2


async def test_a_failed_call_carries_neither_the_token_nor_the_request_along() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(KubernetesUnavailable) as raised:
        await read_secret_key(kube_secrets(logged_in(), refuse), NS, "codes", "code")

    chain: list[BaseException] = []
    error: BaseException | None = raised.value
    while error is not None and len(chain) < 10:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert not any(isinstance(link, httpx.HTTPError) for link in chain)
    assert all("canary-kube-token" not in repr(link) for link in chain)
    assert "did not answer (ConnectError)" in str(raised.value)


@pytest.mark.parametrize("used_before", [True, False], ids=["used", "never-used"])
async def test_a_call_after_closing_is_unavailable_and_sends_nothing(used_before: bool) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {}})

    api = kube_secrets(logged_in(), answer)
    if used_before:
        await read_secret_versioned(api, NS, "codes")
    await api.aclose()
    with pytest.raises(KubernetesUnavailable, match="did not answer"):
        await read_secret_key(api, NS, "codes", "code")
    assert len(sent) == (1 if used_before else 0)


async def test_the_login_is_loaded_on_first_use_in_a_worker_thread() -> None:
    loaded_on: list[str] = []

    def load() -> Configuration:
        loaded_on.append(threading.current_thread().name)
        return logged_in()

    api = kube_secrets(load, lambda request: httpx.Response(200, json={"data": {}}))
    assert loaded_on == []  # made without logging in
    await read_secret_versioned(api, NS, "codes")
    await read_secret_versioned(api, NS, "codes")

    assert len(loaded_on) == 1
    assert loaded_on[0] != threading.current_thread().name


@pytest.mark.parametrize(
    ("no_proxy", "through"),
    [
        pytest.param("10.0.0.0/8,.svc", None, id="address-range"),
        pytest.param("*", None, id="everything"),
        pytest.param("example.com", "http://proxy.internal:3128", id="other-hosts"),
    ],
)
def test_the_api_server_proxy_is_decided_as_the_kubernetes_client_decides_it(
    no_proxy: str, through: str | None
) -> None:
    configuration = Configuration(host="https://10.96.0.1:443")
    configuration.proxy = "http://proxy.internal:3128"
    configuration.no_proxy = no_proxy
    assert api_server_proxy(configuration) == through
