"""Secrets: reading keys with clear errors, writing owned Secrets safely, deleting idempotently.

The fake below keeps Secrets in a dict and behaves like the API server where it matters here:
404 for missing, 409 for create-over-existing and for a stale resourceVersion on replace.
"""

from __future__ import annotations

import base64
import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import V1ObjectMeta, V1OwnerReference, V1Secret
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr

from smartlicensing.kube import (
    KubernetesUnavailable,
    Owner,
    SecretAccessDenied,
    SecretKeyMissing,
    SecretNotFound,
    SecretOwnedByOther,
    SecretValueInvalid,
    SecretWrite,
    apply_owned_secret,
    core_v1_api,
    delete_secret,
    read_secret_key,
)
from smartlicensing.observability.redaction import SECRETS, redact

NS = "licensing"
OWNER = Owner("smartlicensing.dev/v1alpha1", "LicenseReservation", "dark-site-1", "uid-1")


def meta(secret: V1Secret) -> V1ObjectMeta:
    assert secret.metadata is not None
    return secret.metadata


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@dataclass
class FakeSecrets:
    store: dict[tuple[str, str], V1Secret] = field(default_factory=dict)
    version: int = 0
    forbidden: bool = False
    conflicts_on_replace: int = 0
    calls: list[str] = field(default_factory=list)

    def put(self, name: str, data: dict[str, str], owners: list[str] | None = None) -> None:
        self.version += 1
        references = [
            V1OwnerReference(api_version="v1", kind="X", name="x", uid=uid) for uid in owners or []
        ]
        self.store[(NS, name)] = V1Secret(
            metadata=V1ObjectMeta(
                name=name,
                namespace=NS,
                resource_version=str(self.version),
                owner_references=references,
            ),
            data={k: b64(v) for k, v in data.items()},
        )

    def _check(self) -> None:
        if self.forbidden:
            raise ApiException(status=403, reason="Forbidden")

    def read_namespaced_secret(self, name: str, namespace: str) -> V1Secret:
        self.calls.append("read")
        self._check()
        if (namespace, name) not in self.store:
            raise ApiException(status=404, reason="Not Found")
        return copy.deepcopy(self.store[(namespace, name)])

    def create_namespaced_secret(self, namespace: str, body: V1Secret) -> V1Secret:
        self.calls.append("create")
        self._check()
        key = (namespace, str(meta(body).name))
        if key in self.store:
            raise ApiException(status=409, reason="AlreadyExists")
        self.version += 1
        meta(body).resource_version = str(self.version)
        self.store[key] = copy.deepcopy(body)
        return body

    def replace_namespaced_secret(self, name: str, namespace: str, body: V1Secret) -> V1Secret:
        self.calls.append("replace")
        self._check()
        current = self.store[(namespace, name)]
        if self.conflicts_on_replace:
            self.conflicts_on_replace -= 1
            self.version += 1
            meta(current).resource_version = str(self.version)
        if meta(body).resource_version != meta(current).resource_version:
            raise ApiException(status=409, reason="Conflict")
        self.version += 1
        meta(body).resource_version = str(self.version)
        self.store[(namespace, name)] = copy.deepcopy(body)
        return body

    def delete_namespaced_secret(self, name: str, namespace: str) -> Any:
        self.calls.append("delete")
        self._check()
        if self.store.pop((namespace, name), None) is None:
            raise ApiException(status=404, reason="Not Found")
        return None

    def decoded(self, name: str) -> dict[str, str]:
        data = self.store[(NS, name)].data or {}
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
    api.store[(NS, "codes")].data = {"request": stored}
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
    references = meta(stored).owner_references
    assert references is not None
    reference = references[0]
    assert (reference.kind, reference.uid, reference.controller) == (
        "LicenseReservation",
        "uid-1",
        True,
    )
    assert meta(stored).labels == {
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


def test_core_v1_api_logs_in_from_a_kubeconfig(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
        "clusters: [{name: c, cluster: {server: 'https://k8s.test:6443'}}]\n"
        "users: [{name: u, user: {token: canary-kube-token-9}}]\n"
        "contexts: [{name: test, context: {cluster: c, user: u}}]\n"
    )
    api = core_v1_api(str(kubeconfig))

    assert api.api_client.configuration.host == "https://k8s.test:6443"
    assert api.api_client.configuration.api_key == {"BearerToken": "Bearer canary-kube-token-9"}
