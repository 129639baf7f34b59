"""Reading and writing the Secrets the operator needs, and nothing else of Kubernetes.

kopf patches the custom resources; Secrets are the one thing the operator reads and writes
itself: credentials and CA bundles it reads, issued tokens and codes it stores. The calls are
made on the event loop (:class:`KubeSecrets`: httpx over aiohttp, as the CSSM client and the
cluster drivers send theirs), logged in by the official ``kubernetes`` client's loaders, as kopf
logs in: in-cluster, else the kubeconfig. That client's own calls ran synchronously in worker
threads, at about twice the CPU per call (its model classes and validation, the thread hop),
which at hundreds of registrations at once was a tenth of the operator's work.

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
import ssl
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol, cast
from urllib.parse import quote, urlsplit

import httpx
from kubernetes import config
from kubernetes.client import Configuration, rest
from kubernetes.client.exceptions import ApiException
from kubernetes.config import ConfigException
from pydantic import SecretStr

from smartlicensing.observability.redaction import register_secret
from smartlicensing.transport import AiohttpTransport

logger = logging.getLogger(__name__)

MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY: Final = "smartlicensing-operator"
_CONFLICT_RETRIES = 3

#: A Secret as the Kubernetes API reads and writes it (its JSON object).
Secret = dict[str, Any]


class SecretsAPI(Protocol):
    """The Secret calls the operator makes; the names and arguments are those of
    ``kubernetes.client.CoreV1Api``, the objects are JSON. A refusal raises the ``kubernetes``
    client's :class:`ApiException` with the HTTP status, ``status=0`` when no answer came."""

    async def read_namespaced_secret(self, name: str, namespace: str) -> Secret: ...

    async def create_namespaced_secret(self, namespace: str, body: Secret) -> Secret: ...

    async def replace_namespaced_secret(
        self, name: str, namespace: str, body: Secret
    ) -> Secret: ...

    async def delete_namespaced_secret(self, name: str, namespace: str) -> None: ...

    async def aclose(self) -> None: ...


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

    def reference(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


class SecretWrite(StrEnum):
    CREATED = "Created"
    UPDATED = "Updated"
    UNCHANGED = "Unchanged"


def _where(namespace: str, name: str) -> str:
    return f"Secret {namespace}/{name}"


def _translate(error: ApiException, namespace: str, name: str, doing: str) -> SecretError:
    where = _where(namespace, name)
    status = error.status or 0
    if status == 0:
        return KubernetesUnavailable(
            f"could not {doing} {where}: the Kubernetes API did not answer ({error.reason})",
            namespace=namespace,
            name=name,
        )
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
        secret = await api.read_namespaced_secret(name, namespace)
    except ApiException as error:
        raise _translate(error, namespace, name, "read") from None
    decoded: dict[str, SecretStr] = {}
    for key, encoded in (secret.get("data") or {}).items():
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
    return decoded, _version(secret)


def _version(secret: Secret) -> str:
    return str((secret.get("metadata") or {}).get("resourceVersion") or "")


async def secret_version(api: SecretsAPI, namespace: str, name: str) -> str:
    """A Secret's ``resourceVersion``, or an empty string when it does not exist."""
    try:
        secret = await api.read_namespaced_secret(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return ""
        raise _translate(error, namespace, name, "read") from None
    return _version(secret)


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


def _owned_by(secret: Secret, owner: Owner) -> bool:
    references = (secret.get("metadata") or {}).get("ownerReferences") or []
    return any(reference.get("uid") == owner.uid for reference in references)


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
            body: Secret = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": all_labels,
                    "ownerReferences": [owner.reference()],
                },
                "type": "Opaque",
                "data": encoded,
            }
            try:
                await api.create_namespaced_secret(namespace, body)
            except ApiException as error:
                if error.status != 409:
                    raise _translate(error, namespace, name, "create") from None
                may_exist = True  # it exists: read it and update
            else:
                logger.info("created %s for %s %s", _where(namespace, name), owner.kind, owner.name)
                return SecretWrite.CREATED

        try:
            existing = await api.read_namespaced_secret(name, namespace)
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
        current = existing.get("data") or {}
        merged = {**current, **encoded}
        if merged == current:
            return SecretWrite.UNCHANGED
        existing["data"] = merged
        try:
            await api.replace_namespaced_secret(name, namespace, existing)
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
        await api.delete_namespaced_secret(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return False
        raise _translate(error, namespace, name, "delete") from None
    return True


HEADERS_MAX_AGE: Final = 10.0
"""Seconds the login headers are used before the loaders are asked again (and at once after
a 401): in-cluster tokens are re-read every minute, exec-plugin tokens live for minutes."""


class KubeSecrets:
    """:class:`SecretsAPI` over HTTP on the event loop, logged in as ``configuration`` says
    (``kubernetes`` client loaders: server, CA bundle, client certificate, token).

    Example::

        secrets = secrets_api()  # in-cluster, else the kubeconfig
        secret = await secrets.read_namespaced_secret("cssm-api-client", "licensing")

    As the ``kubernetes`` client itself connects:

    - the token is the loaders' and is asked for again every :data:`HEADERS_MAX_AGE` seconds and
      after a 401 (the call is then sent once more); asking may run an exec plugin or an OIDC
      refresh, so it runs in a worker thread, never on the event loop;
    - the configuration is loaded on first use, in a worker thread;
    - TLS trusts the configuration's CA bundle (else the system's), presents its client
      certificate, and checks the server's name against ``tls-server-name`` when the kubeconfig
      sets one (the configuration's ``proxy_headers`` are not sent);
    - the proxy is the configuration's: named in the kubeconfig (``proxy-url``) or, from version
      37 of that client, taken from the environment (``HTTPS_PROXY``), and not used for an API
      server its ``NO_PROXY`` names (host, domain, address range or ``*``).

    Every failure is an :class:`ApiException` (``status=0`` when no answer came) that says what
    failed by its type's name, never by text that could carry the request and its token.
    """

    def __init__(
        self,
        configuration: Configuration | Callable[[], Configuration],
        *,
        timeout: httpx.Timeout,
        max_connections: int = 20,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._load = configuration if callable(configuration) else lambda: configuration
        self._timeout = timeout
        self._max_connections = max_connections
        self._transport = transport
        self._configuration: Configuration | None = None
        self._http: httpx.AsyncClient | None = None
        self._opening = asyncio.Lock()
        self._closed = False
        self._headers: dict[str, str] | None = None
        self._headers_at = 0.0
        self._headers_lock = asyncio.Lock()

    async def configuration(self) -> Configuration:
        """The login configuration, loaded on first use in a worker thread: a loader may run
        an exec plugin or an OIDC refresh, which must not hold the event loop."""
        if self._configuration is None:
            async with self._opening:
                if self._configuration is None:
                    configuration = await asyncio.to_thread(self._load)
                    self._http = self._client(configuration)
                    self._configuration = configuration
        return self._configuration

    def _client(self, configuration: Configuration) -> httpx.AsyncClient:
        transport = self._transport or AiohttpTransport(
            _ssl_context(configuration),
            max_connections=self._max_connections,
            proxy=api_server_proxy(configuration),
            server_hostname=configuration.tls_server_name or None,
        )
        return httpx.AsyncClient(
            base_url=str(configuration.host).rstrip("/"),
            transport=transport,
            timeout=self._timeout,
        )

    @staticmethod
    def headers(configuration: Configuration) -> dict[str, str]:
        """The login headers, from the configuration's auth settings (may block: it runs the
        loaders' token refresh)."""
        headers = {"Accept": "application/json"}
        # A TypedDict of the methods this client version knows (bearer token, in 37).
        settings = cast("Mapping[str, Mapping[str, Any]]", configuration.auth_settings())
        for setting in settings.values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[str(setting["key"])] = str(setting["value"])
        return headers

    async def read_namespaced_secret(self, name: str, namespace: str) -> Secret:
        return await self._call("GET", _path(namespace, name))

    async def create_namespaced_secret(self, namespace: str, body: Secret) -> Secret:
        return await self._call("POST", _path(namespace), body)

    async def replace_namespaced_secret(self, name: str, namespace: str, body: Secret) -> Secret:
        return await self._call("PUT", _path(namespace, name), body)

    async def delete_namespaced_secret(self, name: str, namespace: str) -> None:
        await self._call("DELETE", _path(namespace, name))

    async def aclose(self) -> None:
        """Close the connections; a call afterwards fails (``status=0``), it opens none."""
        self._closed = True
        if self._http is not None:
            await self._http.aclose()

    async def _login(self, refused: dict[str, str] | None) -> dict[str, str]:
        """The headers to send: the ones in hand while fresh, unless the API refused them."""
        now = asyncio.get_running_loop().time()
        current = self._headers
        if (
            current is not None
            and current is not refused
            and now - self._headers_at < (HEADERS_MAX_AGE)
        ):
            return current
        async with self._headers_lock:
            if self._headers is not current:
                return self._headers or {}  # renewed by another call meanwhile
            configuration = await self.configuration()
            self._headers = await asyncio.to_thread(self.headers, configuration)
            self._headers_at = asyncio.get_running_loop().time()
            return self._headers

    async def _call(self, method: str, path: str, body: Secret | None = None) -> Secret:
        failure: str | None = None
        refused: dict[str, str] | None = None
        response: httpx.Response | None = None
        for _ in range(2):
            try:
                if self._closed:
                    raise RuntimeError("closed")
                headers = await self._login(refused)
                assert self._http is not None  # opened with the configuration
                response = await self._http.request(method, path, json=body, headers=headers)
            except (httpx.HTTPError, ConfigException, RuntimeError, ValueError, OSError) as error:
                # A closed client, a failed refresh, a header it refused, no connection.
                failure = type(error).__name__
                break
            if response.status_code != 401 or refused is not None:
                break
            refused = headers  # an expired token: renewed, and the call sent once more
        # Raised here, outside the handler: the error must not carry the request (and its
        # token) along as its context.
        if failure is not None or response is None:
            raise ApiException(status=0, reason=failure)
        if response.status_code >= 400:
            raise ApiException(status=response.status_code, reason=response.reason_phrase)
        answer = _json(response)
        if answer is None:
            raise ApiException(status=0, reason="an answer that is not JSON")
        return answer


def _json(response: httpx.Response) -> Secret | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def api_server_proxy(configuration: Configuration) -> str | None:
    """The proxy to reach the API server through, as the ``kubernetes`` client decides it."""
    proxy = configuration.proxy or None
    no_proxy = getattr(configuration, "no_proxy", None)
    if proxy and no_proxy and _bypasses(str(configuration.host), no_proxy):
        return None
    return proxy


def _bypasses(url: str, no_proxy: str) -> bool:
    # The kubernetes client's own matching (address ranges too) where it has one (37 does).
    matches = getattr(rest, "should_bypass_proxies", None)
    if matches is not None:
        return bool(matches(url, no_proxy))
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    return bool(bypass(urlsplit(url).hostname or "", {"no": no_proxy}))


def _path(namespace: str, name: str | None = None) -> str:
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/secrets"
    return f"{path}/{quote(name, safe='')}" if name is not None else path


def _ssl_context(configuration: Configuration) -> ssl.SSLContext:
    # No CA bundle given: the system's trust store, as urllib3 under the kubernetes client.
    context = ssl.create_default_context(
        cafile=configuration.ssl_ca_cert or None,
        cadata=getattr(configuration, "ca_cert_data", None) or None,
    )
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file)
    if configuration.assert_hostname is False:
        context.check_hostname = False
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def kube_configuration(kubeconfig: str | None = None) -> Configuration:
    """The ``kubernetes`` client configuration, loaded the way kopf logs in: in-cluster when
    running in a Pod, else the kubeconfig (``kubeconfig`` path, ``$KUBECONFIG`` or
    ``~/.kube/config``)."""
    configuration = Configuration()
    if kubeconfig is None:
        try:
            # The kubernetes package leaves its config loaders untyped.
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            return configuration
        except config.ConfigException:
            pass
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    return configuration


def secrets_api(
    kubeconfig: str | None = None,
    *,
    request_timeout: float = 60.0,
    connect_timeout: float = 10.0,
) -> KubeSecrets:
    """The Secrets API, logged in as :func:`kube_configuration` says when it is first used;
    seconds to wait for each read of an answer and for connecting (kopf's defaults for its own
    calls)."""
    timeout = httpx.Timeout(request_timeout, connect=connect_timeout)
    return KubeSecrets(lambda: kube_configuration(kubeconfig), timeout=timeout)
