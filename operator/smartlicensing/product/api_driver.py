"""The ``api`` driver: drives a cluster through the licensing contract of ``docs/product-api.md``.

Every request is signed with the Secure Workload OpenAPI HMAC scheme (:mod:`.signing`) over the
path the server receives. Retrying follows the same rule as the CSSM client:

- status, deregistration, authorization renewal and reservation requests are safe to repeat
  (the contract makes them idempotent), so 503 and broken connections are retried with backoff;
- registration (uses a token), installing an authorization code and cancelling / returning a
  reservation (each hands out a code exactly once) are repeated only when the request provably
  never left; otherwise :class:`ClusterUnreachable` says ``outcome_unknown`` and the caller
  reads :meth:`ApiDriver.status` before deciding again.

Every status answer is checked against the UUID of the spec: a driver URL pointing at another
cluster raises :class:`ClusterMismatch` instead of registering the wrong cluster.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import httpx
import stamina
from pydantic import SecretStr

from smartlicensing.observability.metrics import METRICS, Metrics
from smartlicensing.observability.redaction import redact, register_secret
from smartlicensing.product import signing
from smartlicensing.product.errors import (
    ERRORS_BY_CODE,
    ClusterCABundleInvalid,
    ClusterCredentialsRejected,
    ClusterMismatch,
    ClusterRequestInvalid,
    ClusterUnreachable,
    ProductError,
    UnexpectedClusterAnswer,
)
from smartlicensing.product.port import (
    AuthorizationState,
    ClusterRole,
    ClusterStatus,
    LicenseUsage,
    Observer,
    RegistrationMode,
    RegistrationState,
    Reservation,
    ReservationKind,
    ReservationState,
    SecretInput,
    StepResult,
)
from smartlicensing.transport import AiohttpTransport

logger = logging.getLogger(__name__)

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)

LICENSING_PATH: Final = "/openapi/v1/licensing"
_MESSAGE_LIMIT = 300
_TLS_CONTEXTS = 64
"""CA bundles whose TLS context is kept; a rotated bundle makes a new one."""


@dataclass(frozen=True)
class ApiCredentials:
    api_key: str
    api_secret: SecretStr


@dataclass(frozen=True)
class DriverPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    """Registration waits for the cluster's own round trip to CSSM."""
    attempts: int = 3
    wait_initial: float = 1.0
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    retry_budget: float = 120.0
    keepalive_expiry: float = 1.0
    """Seconds an idle connection is kept for the next request.

    Short on purpose: a pass reads the cluster's status, then spends a while at CSSM before it
    registers. A server that closed the idle connection meanwhile (uvicorn does after 5 s)
    fails a request sent on it with a broken connection, and a failed registration is not
    repeated (it may have been carried out), so it would wait out a backoff instead.
    """


@functools.lru_cache(maxsize=_TLS_CONTEXTS)
def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """The verifying TLS context for clusters with this CA bundle (PEM text), or for clusters
    with certificates from the system's CAs when ``ca_bundle`` is None.

    One context per bundle is shared by every driver of the process: building one loads the
    certificates anew (the system store takes tens of milliseconds), and a context only reads
    its certificates once built. Raises :class:`ClusterCABundleInvalid` (and caches nothing)
    when the bundle is not PEM certificate text.
    """
    try:
        return ssl.create_default_context(cadata=ca_bundle)
    except (ssl.SSLError, ValueError):
        raise ClusterCABundleInvalid(
            "the cluster's CA bundle is not valid PEM certificate text; check the Secret "
            "the driver's CA bundle comes from"
        ) from None


class _Transient(Exception):
    def __init__(self, description: str, *, sent: bool) -> None:
        super().__init__(description)
        self.description = description
        self.sent = sent


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ApiDriver:
    """One cluster, reached at ``url`` with an API key and secret."""

    def __init__(
        self,
        url: str,
        credentials: ApiCredentials,
        *,
        cluster_uuid: str,
        policy: DriverPolicy | None = None,
        ca_bundle: str | None = None,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if len(credentials.api_secret.get_secret_value().encode()) < signing.SECRET_LENGTH:
            raise ClusterCredentialsRejected(
                f"the cluster's API secret must have at least {signing.SECRET_LENGTH} bytes; "
                "check the api_secret key of the driver's credentials Secret"
            )
        self.cluster_uuid = cluster_uuid
        self.policy = policy or DriverPolicy()
        self._base = url.rstrip("/") + LICENSING_PATH
        self._shown_url = _shown(url)
        self._credentials = credentials
        self._metrics = metrics or METRICS
        self._now = now
        register_secret(credentials.api_secret.get_secret_value())
        verify = tls_context(ca_bundle or None)
        p = self.policy
        self._http = httpx.AsyncClient(
            verify=verify,
            timeout=httpx.Timeout(p.read_timeout, connect=p.connect_timeout),
            transport=transport or AiohttpTransport(verify, keepalive=p.keepalive_expiry),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- the steps -------------------------------------------------------------------------

    async def status(self) -> ClusterStatus:
        body = await self._call("status", "GET", "", idempotent=True)
        return self._status(body)

    async def register(
        self, token: SecretInput, transport_url: str, *, force: bool = False
    ) -> StepResult:
        value = token.value.get_secret_value()
        register_secret(value)
        body = await self._call(
            "register",
            "POST",
            "/registration",
            idempotent=False,
            payload={"token": value, "transportUrl": transport_url, "force": force},
        )
        return StepResult(status=self._status(body))

    async def deregister(self) -> StepResult:
        body = await self._call("deregister", "DELETE", "/registration", idempotent=True)
        return StepResult(status=self._status(body))

    async def renew_authorization(self) -> StepResult:
        body = await self._call(
            "renew_authorization", "POST", "/authorization/renew", idempotent=True
        )
        return StepResult(status=self._status(body))

    async def request_reservation(self, kind: ReservationKind) -> StepResult:
        body = await self._call(
            "request_reservation",
            "POST",
            "/reservation/request",
            idempotent=True,
            payload={"type": kind.value},
        )
        return StepResult(status=self._status(body))

    async def install_authorization(self, code: SecretInput, *, update: bool = False) -> StepResult:
        value = code.value.get_secret_value()
        register_secret(value)
        body = await self._call(
            "install_authorization",
            "POST",
            "/reservation/authorization",
            idempotent=False,
            payload={"authorizationCode": value},
        )
        return StepResult(
            status=self._status(body), confirmation_code=_code(body, "confirmationCode")
        )

    async def cancel_reservation(self, authorization_code: SecretInput | None) -> StepResult:
        payload: dict[str, Any] | None = None
        if authorization_code is not None:
            value = authorization_code.value.get_secret_value()
            register_secret(value)
            payload = {"authorizationCode": value}
        body = await self._call(
            "cancel_reservation", "DELETE", "/reservation", idempotent=False, payload=payload
        )
        return StepResult(status=self._status(body), return_code=_code(body, "returnCode"))

    async def return_reservation(self) -> StepResult:
        body = await self._call(
            "return_reservation", "POST", "/reservation/return", idempotent=False
        )
        returned = _code(body, "returnCode")
        if returned is None:
            raise UnexpectedClusterAnswer(
                "the cluster returned its reservation without a return code",
                operation="return_reservation",
            )
        return StepResult(status=self._status(body), return_code=returned)

    # -- plumbing --------------------------------------------------------------------------

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        idempotent: bool,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        outcome = "error"
        try:
            body = await self._with_retries(
                operation, idempotent, lambda: self._send_once(operation, method, path, payload)
            )
            outcome = "success"
            return body
        except ProductError as error:
            outcome = error.reason
            raise
        finally:
            self._metrics.record_product_call(operation, outcome)
            logger.debug("cluster %s %s: %s", self.cluster_uuid, operation, outcome)

    async def _with_retries(
        self, operation: str, idempotent: bool, once: Callable[[], Awaitable[T]]
    ) -> T:
        p = self.policy

        def retryable(error: Exception) -> bool:
            return isinstance(error, _Transient) and (idempotent or not error.sent)

        try:
            async for attempt in stamina.retry_context(
                on=retryable,
                attempts=p.attempts,
                timeout=p.retry_budget,
                wait_initial=p.wait_initial,
                wait_max=p.wait_max,
                wait_jitter=p.wait_jitter,
            ):
                with attempt:
                    return await once()
        except _Transient as failure:
            unknown = not idempotent and failure.sent
            advice = (
                "; it may have been carried out: read the cluster's status first" if unknown else ""
            )
            raise ClusterUnreachable(
                f"cluster {self.cluster_uuid} at {self._shown_url}: {operation} failed: "
                f"{failure.description}{advice}",
                operation=operation,
                outcome_unknown=unknown,
            ) from None
        raise AssertionError("stamina ended without a result or an error")  # pragma: no cover

    async def _send_once(
        self, operation: str, method: str, path: str, payload: dict[str, Any] | None
    ) -> dict[str, Any]:
        content = json.dumps(payload).encode() if payload is not None else b""
        request = self._http.build_request(method, self._base + path, content=content)
        request.headers.update(
            signing.signed_headers(
                self._credentials.api_key,
                self._credentials.api_secret.get_secret_value(),
                method=method,
                path=request.url.raw_path.decode(),
                body=content,
                now=self._now(),
            )
        )
        try:
            response = await self._http.send(request)
        except _NOT_SENT as error:
            raise _Transient(f"could not connect ({type(error).__name__})", sent=False) from None
        except httpx.TimeoutException as error:
            raise _Transient(f"timed out ({type(error).__name__})", sent=True) from None
        except httpx.TransportError as error:
            raise _Transient(f"connection failed ({type(error).__name__})", sent=True) from None
        if response.status_code in (500, 503, 504):
            raise _Transient(f"HTTP {response.status_code}", sent=True)
        return self._read(operation, response)

    def _read(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400:
            code = body.get("error") if isinstance(body, dict) else None
            message = body.get("message") if isinstance(body, dict) else None
            error_type = ERRORS_BY_CODE.get(str(code), ClusterRequestInvalid)
            if response.status_code == 401:
                error_type = ClusterCredentialsRejected
            text = redact(str(message or f"HTTP {response.status_code}")[:_MESSAGE_LIMIT])
            raise error_type(
                f"cluster {self.cluster_uuid} {operation}: {code or 'error'}: {text}",
                operation=operation,
            )
        if not isinstance(body, dict):
            raise UnexpectedClusterAnswer(
                f"cluster {self.cluster_uuid} {operation}: the answer is not a JSON object",
                operation=operation,
            )
        return body

    def _status(self, body: dict[str, Any]) -> ClusterStatus:
        try:
            status = parse_status(body)
        except (KeyError, TypeError, ValueError) as error:
            raise UnexpectedClusterAnswer(
                f"cluster {self.cluster_uuid}: unreadable licensing status ({type(error).__name__}"
                f": {error})"
            ) from None
        if status.uuid.lower() != self.cluster_uuid.lower():
            raise ClusterMismatch(
                f"the cluster at the driver URL has UUID {status.uuid}, not {self.cluster_uuid}; "
                "check spec.cluster.driver.url"
            )
        return status


def _code(body: dict[str, Any], key: str) -> SecretStr | None:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        return None
    register_secret(value)
    return SecretStr(value)


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a time is not a string")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _shown(url: str) -> str:
    """The driver URL as a message may show it: scheme, host, port and path (no user info)."""
    parts = urlsplit(url.rstrip("/"))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _optional(enum: type[E], value: object) -> E | None:
    return None if value is None else enum(str(value))


def parse_status(body: dict[str, Any]) -> ClusterStatus:
    """The contract's status object as a :class:`ClusterStatus`."""
    cluster = body["cluster"]
    registration = body["registration"]
    authorization = body.get("authorization") or {}
    reservation = body.get("reservation") or {}
    remaining = authorization.get("evaluationRemainingSeconds")
    return ClusterStatus(
        uuid=str(cluster["uuid"]),
        observed_by=Observer.CLUSTER,
        registration=RegistrationState(registration["state"]),
        mode=_optional(RegistrationMode, registration.get("mode")),
        authorization=_optional(AuthorizationState, authorization.get("state")),
        evaluation_remaining=None if remaining is None else timedelta(seconds=int(remaining)),
        usage=tuple(
            LicenseUsage(license=str(u["license"]), in_use=int(u["inUse"]))
            for u in body.get("usage") or ()
        ),
        version=cluster.get("version"),
        role=_optional(ClusterRole, cluster.get("role")),
        name=cluster.get("name"),
        smart_account=registration.get("smartAccount"),
        virtual_account=registration.get("virtualAccount"),
        transport_url=_text(registration.get("transportUrl")),
        registered_at=_time(registration.get("registeredAt")),
        renew_at=_time(registration.get("renewAt")),
        expires_at=_time(registration.get("expiresAt")),
        authorization_expires_at=_time(authorization.get("expiresAt")),
        failure_message=registration.get("failureMessage"),
        last_sync=_time(body.get("lastSyncTime")),
        next_sync=_time(body.get("nextSyncTime")),
        reservation=Reservation(
            state=ReservationState(reservation.get("state", "None")),
            kind=_optional(ReservationKind, reservation.get("type")),
            request_code=reservation.get("requestCode"),
            reserved={str(k): int(v) for k, v in (reservation.get("reserved") or {}).items()},
        ),
    )
