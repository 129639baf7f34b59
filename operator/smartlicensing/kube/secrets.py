"""Reading and writing the Secrets the operator needs, and nothing else of Kubernetes.

kopf patches the custom resources; Secrets are the one thing the operator reads and writes
itself: credentials and CA bundles it reads, issued tokens and codes it stores. The official
``kubernetes`` client is synchronous, so each call runs in a worker thread
(``asyncio.to_thread``) and never blocks the event loop; it is the client kopf deployments
already carry, with in-cluster and kubeconfig auth built in.

Secrets the operator writes carry an ownerReference to the custom resource they belong to, so
Kubernetes deletes them with it. A Secret of the same name that belongs to somebody else is never
overwritten. Every value read is registered for log redaction before it is returned, and errors
name namespace, Secret and key, never a value.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol

from kubernetes import config
from kubernetes.client import (
    ApiClient,
    Configuration,
    CoreV1Api,
    V1ObjectMeta,
    V1OwnerReference,
    V1Secret,
)
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr

from smartlicensing.observability.redaction import register_secret

logger = logging.getLogger(__name__)

MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "smartlicensing-operator"
_CONFLICT_RETRIES = 3


class SecretsAPI(Protocol):
    """The part of ``kubernetes.client.CoreV1Api`` used here."""

    def read_namespaced_secret(self, name: str, namespace: str) -> V1Secret: ...

    def create_namespaced_secret(self, namespace: str, body: V1Secret) -> V1Secret: ...

    def replace_namespaced_secret(self, name: str, namespace: str, body: V1Secret) -> V1Secret: ...

    def delete_namespaced_secret(self, name: str, namespace: str) -> Any: ...


class SecretError(Exception):
    reason = "SecretError"

    def __init__(self, message: str, *, namespace: str, name: str) -> None:
        super().__init__(message)
        self.message = message
        self.namespace = namespace
        self.name = name


class SecretNotFound(SecretError):
    reason = "SecretNotFound"


class SecretKeyMissing(SecretError):
    reason = "SecretKeyMissing"

    def __init__(self, message: str, *, namespace: str, name: str, key: str) -> None:
        super().__init__(message, namespace=namespace, name=name)
        self.key = key


class SecretValueInvalid(SecretKeyMissing):
    """The key exists but its value is not base64 of UTF-8 text (or is empty)."""

    reason = "SecretValueInvalid"


class SecretAccessDenied(SecretError):
    """The operator's ServiceAccount may not read or write this Secret (RBAC)."""

    reason = "SecretAccessDenied"


class SecretOwnedByOther(SecretError):
    """A Secret of the wanted name exists and does not belong to the resource writing it."""

    reason = "SecretOwnedByOther"


class KubernetesUnavailable(SecretError):
    """The Kubernetes API failed (5xx, connection); retry later."""

    reason = "KubernetesUnavailable"


@dataclass(frozen=True)
class Owner:
    """The custom resource a written Secret belongs to."""

    api_version: str
    kind: str
    name: str
    uid: str

    def reference(self) -> V1OwnerReference:
        return V1OwnerReference(
            api_version=self.api_version,
            kind=self.kind,
            name=self.name,
            uid=self.uid,
            controller=True,
            block_owner_deletion=True,
        )


class SecretWrite(StrEnum):
    CREATED = "Created"
    UPDATED = "Updated"
    UNCHANGED = "Unchanged"


def _where(namespace: str, name: str) -> str:
    return f"Secret {namespace}/{name}"


def _translate(error: ApiException, namespace: str, name: str, doing: str) -> SecretError:
    where = _where(namespace, name)
    status = error.status or 0
    if status == 404:
        return SecretNotFound(f"{where} does not exist", namespace=namespace, name=name)
    if status in (401, 403):
        return SecretAccessDenied(
            f"the operator may not {doing} {where} (HTTP {status}); check its RBAC",
            namespace=namespace,
            name=name,
        )
    return KubernetesUnavailable(
        f"could not {doing} {where}: HTTP {status} {error.reason or ''}".rstrip(),
        namespace=namespace,
        name=name,
    )


async def read_secret(api: SecretsAPI, namespace: str, name: str) -> dict[str, SecretStr]:
    """Every key of a Secret, decoded. Values are registered for redaction."""
    values, _ = await read_secret_versioned(api, namespace, name)
    return values


async def read_secret_versioned(
    api: SecretsAPI, namespace: str, name: str
) -> tuple[dict[str, SecretStr], str]:
    """Every key of a Secret, decoded, and its ``resourceVersion`` (which changes with it)."""
    try:
        secret = await asyncio.to_thread(api.read_namespaced_secret, name, namespace)
    except ApiException as error:
        raise _translate(error, namespace, name, "read") from None
    decoded: dict[str, SecretStr] = {}
    for key, encoded in (secret.data or {}).items():
        try:
            text = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise SecretValueInvalid(
                f"key {key!r} of {_where(namespace, name)} is not base64-encoded UTF-8 text",
                namespace=namespace,
                name=name,
                key=key,
            ) from None
        register_secret(text, text.strip())
        decoded[key] = SecretStr(text)
    version = str(secret.metadata.resource_version or "") if secret.metadata else ""
    return decoded, version


async def secret_version(api: SecretsAPI, namespace: str, name: str) -> str:
    """A Secret's ``resourceVersion``, or an empty string when it does not exist."""
    try:
        secret = await asyncio.to_thread(api.read_namespaced_secret, name, namespace)
    except ApiException as error:
        if error.status == 404:
            return ""
        raise _translate(error, namespace, name, "read") from None
    return str(secret.metadata.resource_version or "") if secret.metadata else ""


def key_of(values: dict[str, SecretStr], key: str, *, namespace: str, name: str) -> SecretStr:
    """One key of already read Secret values, stripped and not empty (as read_secret_key)."""
    if key not in values:
        present = ", ".join(sorted(values)) or "none"
        raise SecretKeyMissing(
            f"{_where(namespace, name)} has no key {key!r} (keys present: {present})",
            namespace=namespace,
            name=name,
            key=key,
        )
    value = values[key].get_secret_value().strip()
    if not value:
        raise SecretValueInvalid(
            f"key {key!r} of {_where(namespace, name)} is empty",
            namespace=namespace,
            name=name,
            key=key,
        )
    return SecretStr(value)


async def read_secret_key(api: SecretsAPI, namespace: str, name: str, key: str) -> SecretStr:
    """One key of a Secret, decoded, stripped of surrounding whitespace, and not empty."""
    values = await read_secret(api, namespace, name)
    return key_of(values, key, namespace=namespace, name=name)


def _encode(data: Mapping[str, str | SecretStr]) -> dict[str, str]:
    encoded = {}
    for key, value in data.items():
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        register_secret(text)
        encoded[key] = base64.b64encode(text.encode()).decode()
    return encoded


def _owned_by(secret: V1Secret, owner: Owner) -> bool:
    references = (secret.metadata.owner_references if secret.metadata else None) or []
    return any(reference.uid == owner.uid for reference in references)


async def apply_owned_secret(
    api: SecretsAPI,
    namespace: str,
    name: str,
    data: Mapping[str, str | SecretStr],
    owner: Owner,
    *,
    labels: Mapping[str, str] | None = None,
) -> SecretWrite:
    """Create the Secret, or bring its keys up to date; leave it alone when already so.

    Keys not in ``data`` are kept (a person may add keys to a codes Secret). A Secret of that
    name owned by another resource raises :class:`SecretOwnedByOther` and is not touched.
    """
    encoded = _encode(data)
    all_labels = {MANAGED_BY_LABEL: MANAGED_BY, **(labels or {})}
    # Created first, read only when it turns out to exist: the Secrets written here are almost
    # always new (an issued token, a code), so that is one call where reading first was two.
    may_exist = False
    for _ in range(_CONFLICT_RETRIES):
        if not may_exist:
            body = V1Secret(
                metadata=V1ObjectMeta(
                    name=name,
                    namespace=namespace,
                    labels=all_labels,
                    owner_references=[owner.reference()],
                ),
                type="Opaque",
                data=encoded,
            )
            try:
                await asyncio.to_thread(api.create_namespaced_secret, namespace, body)
            except ApiException as error:
                if error.status != 409:
                    raise _translate(error, namespace, name, "create") from None
                may_exist = True  # it exists: read it and update
            else:
                logger.info("created %s for %s %s", _where(namespace, name), owner.kind, owner.name)
                return SecretWrite.CREATED

        try:
            existing = await asyncio.to_thread(api.read_namespaced_secret, name, namespace)
        except ApiException as error:
            if error.status != 404:
                raise _translate(error, namespace, name, "read") from None
            may_exist = False  # deleted meanwhile: create it
            continue

        if not _owned_by(existing, owner):
            raise SecretOwnedByOther(
                f"{_where(namespace, name)} exists and does not belong to {owner.kind} "
                f"{owner.name}; delete or rename it",
                namespace=namespace,
                name=name,
            )
        merged = {**(existing.data or {}), **encoded}
        if merged == (existing.data or {}):
            return SecretWrite.UNCHANGED
        existing.data = merged
        try:
            await asyncio.to_thread(api.replace_namespaced_secret, name, namespace, existing)
        except ApiException as error:
            if error.status == 409:
                continue  # changed meanwhile (resourceVersion): read again
            raise _translate(error, namespace, name, "update") from None
        logger.info("updated %s for %s %s", _where(namespace, name), owner.kind, owner.name)
        return SecretWrite.UPDATED
    raise KubernetesUnavailable(
        f"{_where(namespace, name)} kept changing while being written; retry later",
        namespace=namespace,
        name=name,
    )


async def delete_secret(api: SecretsAPI, namespace: str, name: str) -> bool:
    """Delete a Secret; ``False`` when it was already gone."""
    try:
        await asyncio.to_thread(api.delete_namespaced_secret, name, namespace)
    except ApiException as error:
        if error.status == 404:
            return False
        raise _translate(error, namespace, name, "delete") from None
    return True


def core_v1_api(kubeconfig: str | None = None) -> CoreV1Api:
    """A CoreV1Api logged in the way kopf logs in: in-cluster when running in a Pod, else the
    kubeconfig (``kubeconfig`` path, ``$KUBECONFIG`` or ``~/.kube/config``)."""
    configuration = Configuration()
    if kubeconfig is None:
        try:
            # The kubernetes package leaves its config loaders untyped.
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return CoreV1Api(ApiClient(configuration))
        except config.ConfigException:
            pass
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    return CoreV1Api(ApiClient(configuration))
