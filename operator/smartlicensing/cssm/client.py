"""The async client of CSSM (cloud) and Smart Software Manager On-Prem.

One :class:`CSSMClient` per SmartAccount: it binds the endpoint, the OAuth client credentials,
the Smart Account domain and the virtual account, and owns one ``httpx.AsyncClient`` (one
connection pool, TLS verified, optionally against a CA bundle given as PEM text).

Rate limit: CSSM limits per API host, not per Smart Account, so the limiter is shared by every
client of one host. :class:`RateLimits` hands out one ``AsyncLimiter`` per host; the operator
keeps a single ``RateLimits`` for the whole process and passes it to every client it builds.
Every request, the OAuth token fetch included, waits for the limiter.

Retries, and why they differ by call:

- 5xx, timeouts and broken connections are retried with exponential backoff and jitter
  (``stamina``) for calls that are safe to repeat: reads, token revocation.
- Calls that create something (token create, reserve, instance removal) are retried only when
  the request provably never left (connect errors, pool timeouts). Any other failure raises
  :class:`CSSMUnavailable` with ``outcome_unknown=True``: the caller looks the outcome up
  (:meth:`CSSMClient.find_token` by a deterministic description,
  :meth:`CSSMClient.find_product_instance` by cluster UUID) before trying again.
- 429 is a refusal before any work, so every call waits ``Retry-After`` (seconds or an HTTP
  date) and repeats; a wait longer than ``max_retry_after`` raises :class:`RateLimited` at once
  so the reconciler reschedules instead of holding a worker.
- 401 ``invalid_token`` fetches a new OAuth token once and repeats once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import certifi
import httpx
import stamina
from aiolimiter import AsyncLimiter
from pydantic import BaseModel, SecretStr, ValidationError

from smartlicensing.cssm.errors import (
    AccountNotFound,
    CABundleInvalid,
    CredentialsRejected,
    CSSMError,
    CSSMRequestInvalid,
    CSSMUnavailable,
    InstanceRemovalRejected,
    RateLimited,
    ReservationRejected,
    TokenRejected,
    UnexpectedAnswer,
    VirtualAccountNotFound,
)
from smartlicensing.cssm.models import (
    Account,
    AuthorizationCode,
    License,
    LicenseRequest,
    ProductInstance,
    RegistrationToken,
    ReservationType,
    TokenRevocation,
    TokenStatus,
    VirtualAccount,
)
from smartlicensing.observability.metrics import METRICS, Metrics
from smartlicensing.observability.redaction import redact, register_secret
from smartlicensing.transport import AiohttpTransport

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

DEFAULT_TOKEN_URL: Final = "https://id.cisco.com/oauth2/default/v1/token"
DEFAULT_API_URL: Final = "https://swapi.cisco.com"
CLOUD_API_PREFIX: Final = "/services/api/smart-accounts-and-licensing"
ON_PREM_TOKEN_PATH: Final = "/backend/oauth/token"
ON_PREM_API_PREFIX: Final = "/backend/api"

MAX_TOKEN_DESCRIPTION: Final = 100
TOKEN_DAYS_RANGE: Final = range(1, 366)
MAX_LICENSE_PAGE: Final = 1000
_STATUS_MESSAGE_LIMIT = 300
_TLS_CONTEXTS = 64
"""CA bundles whose TLS context is kept; a rotated bundle makes a new one."""


class ServerType(StrEnum):
    CLOUD = "Cloud"
    ON_PREM = "OnPrem"


@dataclass(frozen=True)
class CSSMEndpoint:
    """Where CSSM is: the cloud (token and API hosts apart) or an On-Prem server."""

    server: ServerType
    token_url: str
    api_url: str
    ca_bundle: str | None = field(default=None, repr=False)
    """PEM text of the CAs to trust instead of the system ones (e.g. from a Secret)."""

    @classmethod
    def cloud(
        cls,
        *,
        token_url: str = DEFAULT_TOKEN_URL,
        api_url: str = DEFAULT_API_URL,
        ca_bundle: str | None = None,
    ) -> CSSMEndpoint:
        return cls(ServerType.CLOUD, token_url, api_url.rstrip("/"), ca_bundle)

    @classmethod
    def on_prem(cls, url: str, *, ca_bundle: str | None = None) -> CSSMEndpoint:
        base = url.rstrip("/")
        return cls(ServerType.ON_PREM, base + ON_PREM_TOKEN_PATH, base, ca_bundle)

    @property
    def host(self) -> str:
        """The API host, the unit CSSM rate-limits by."""
        return urlsplit(self.api_url).netloc

    def data_url(self, version: str, relative: str) -> str:
        if self.server is ServerType.ON_PREM:
            # On-Prem serves the v2-only calls under its v1 prefix too.
            return f"{self.api_url}{ON_PREM_API_PREFIX}/v1/{relative}"
        return f"{self.api_url}{CLOUD_API_PREFIX}/{version}/{relative}"


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: SecretStr


@dataclass(frozen=True)
class CallPolicy:
    """Timeouts, retries and waits of one client. Defaults suit production CSSM."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    write_timeout: float = 30.0
    pool_timeout: float = 10.0
    attempts: int = 4
    wait_initial: float = 0.5
    wait_max: float = 10.0
    wait_jitter: float = 1.0
    retry_budget: float = 90.0
    """Seconds after which no further retry starts, whatever ``attempts`` says."""
    max_retry_after: float = 30.0
    """The longest ``Retry-After`` the client waits itself; longer raises RateLimited."""
    default_retry_after: float = 1.0
    """The wait after a 429 without a readable ``Retry-After``."""
    max_rate_limited_waits: int = 3
    token_refresh_margin: float = 60.0
    """An OAuth token is replaced this many seconds before CSSM says it expires."""
    credentials_refusal_hold: float = 30.0
    """Seconds a refusal of the client credentials is answered from memory."""
    page_size: int = 100
    """Product instances per page; a shorter page is the last one."""
    max_in_flight: int = 8
    """Requests of one client on the wire at once; more wait their turn (before the rate limit).

    Also the size of the connection pool: a burst of registrations queues here, not in httpx's
    pool, whose bookkeeping grows with every waiting request and open connection."""


class RateLimits:
    """One ``AsyncLimiter`` per CSSM host, shared by every client of this process."""

    def __init__(self, requests_per_second: float = 5.0) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.requests_per_second = requests_per_second
        self._limiters: dict[str, AsyncLimiter] = {}

    def for_endpoint(self, endpoint: CSSMEndpoint) -> AsyncLimiter:
        limiter = self._limiters.get(endpoint.host)
        if limiter is None:
            # A bucket of one second's worth of requests: bursts stay within the rate.
            limiter = AsyncLimiter(
                max(self.requests_per_second, 1.0), max(1.0, 1 / self.requests_per_second)
            )
            self._limiters[endpoint.host] = limiter
        return limiter


@functools.lru_cache(maxsize=_TLS_CONTEXTS)
def tls_context(ca_bundle: str | None) -> ssl.SSLContext:
    """A verifying TLS context: the public CAs (certifi's, as httpx uses), or only those of
    ``ca_bundle`` (PEM text).

    One context per bundle is shared by every client of the process (building one loads the
    certificates anew); an invalid bundle raises each time and is not cached."""
    if not ca_bundle:
        return ssl.create_default_context(cafile=certifi.where())
    try:
        return ssl.create_default_context(cadata=ca_bundle)
    except (ssl.SSLError, ValueError) as error:
        raise CABundleInvalid(
            "the CA bundle is not valid PEM certificate text; check the caBundleSecretRef "
            f"Secret ({type(error).__name__})"
        ) from None


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


class _Transient(Exception):
    """A failure worth retrying: 5xx, timeout, broken connection. ``sent`` tells whether the
    request may have reached CSSM."""

    def __init__(self, description: str, *, sent: bool) -> None:
        super().__init__(description)
        self.description = description
        self.sent = sent


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class _Call:
    """How to treat one operation: retry safety, and the error type for its refusals."""

    operation: str
    creates: bool = False
    refused_as: type[CSSMRequestInvalid] = CSSMRequestInvalid
    va_scoped: bool = True


class _AccessTokens:
    """The cached OAuth access token; one fetch at a time.

    A refusal of the credentials is remembered for ``refusal_hold`` seconds: calls waiting on
    the lock (or arriving soon after) fail with it instead of each asking CSSM again.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        monotonic: Callable[[], float],
        margin: float,
        refusal_hold: float,
    ) -> None:
        self._fetch = fetch
        self._monotonic = monotonic
        self._margin = margin
        self._refusal_hold = refusal_hold
        self._token: str | None = None
        self._expires_at = 0.0
        self._refused: tuple[float, CredentialsRejected] | None = None
        self._lock = asyncio.Lock()

    def _valid(self) -> str | None:
        if self._token is not None and self._monotonic() < self._expires_at:
            return self._token
        return None

    async def get(self) -> str:
        token = self._valid()
        if token is not None:
            return token
        async with self._lock:
            token = self._valid()
            if token is not None:
                return token
            if self._refused is not None:
                refused_at, refusal = self._refused
                if self._monotonic() - refused_at < self._refusal_hold:
                    raise CredentialsRejected(refusal.message, operation=refusal.operation)
                self._refused = None
            try:
                token, expires_in = await self._fetch()
            except CredentialsRejected as refusal:
                self._refused = (self._monotonic(), refusal)
                raise
            # Never keep a token past half its life when CSSM hands out very short ones.
            lifetime = max(expires_in - self._margin, expires_in / 2)
            self._token, self._expires_at = token, self._monotonic() + lifetime
            return token

    def invalidate(self, token: str) -> None:
        if self._token == token:
            self._token = None


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a shared call's error as seen: every caller of it may have been cancelled."""
    if not future.cancelled():
        future.exception()


class CSSMClient:
    """CSSM seen from one SmartAccount: its domain and virtual account.

    Use as an async context manager, or call :meth:`aclose`. ``transport`` replaces the network
    (tests pass ``httpx.MockTransport`` or an ASGI transport); ``sleep``, ``now`` and
    ``monotonic`` replace the clock.
    """

    def __init__(
        self,
        endpoint: CSSMEndpoint,
        credentials: ClientCredentials,
        *,
        domain: str,
        virtual_account: str,
        policy: CallPolicy | None = None,
        limiter: AsyncLimiter | None = None,
        metrics: Metrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint
        #: How messages name the server: "CSSM", or "On-Prem <host>".
        self.server = "CSSM" if endpoint.server is ServerType.CLOUD else f"On-Prem {endpoint.host}"
        self.domain = domain
        self.virtual_account = virtual_account
        self.policy = policy or CallPolicy()
        self._credentials = credentials
        self._limiter = limiter or RateLimits().for_endpoint(endpoint)
        self._metrics = metrics or METRICS
        self._sleep = sleep
        self._now = now
        self._monotonic = monotonic
        register_secret(credentials.client_secret.get_secret_value())

        p = self.policy
        if p.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._in_flight = asyncio.Semaphore(p.max_in_flight)
        context = tls_context(endpoint.ca_bundle)
        self._http = httpx.AsyncClient(
            verify=context,
            timeout=httpx.Timeout(
                connect=p.connect_timeout,
                read=p.read_timeout,
                write=p.write_timeout,
                pool=p.pool_timeout,
            ),
            transport=transport or AiohttpTransport(context, max_connections=p.max_in_flight),
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )
        self._token_listing: asyncio.Future[list[dict[str, Any]]] | None = None
        self._tokens = _AccessTokens(
            self._fetch_access_token, monotonic, p.token_refresh_margin, p.credentials_refusal_hold
        )

    async def __aenter__(self) -> CSSMClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- access ----------------------------------------------------------------------------

    async def accounts(self) -> list[Account]:
        body = await self._json(_Call("accounts", va_scoped=False), "GET", "v2", "accounts")
        return self._parse_list(body, "accounts", Account, "accounts")

    async def virtual_accounts(self) -> list[VirtualAccount]:
        segment = "" if self.endpoint.server is ServerType.ON_PREM else "customer/"
        body = await self._json(
            _Call("virtual_accounts", va_scoped=False),
            "GET",
            "v1",
            f"accounts/{self.domain}/{segment}virtual-accounts",
        )
        return self._parse_list(body, "virtualAccounts", VirtualAccount, "virtual_accounts")

    async def check_access(self) -> VirtualAccount:
        """Prove the credentials work and the Smart Account and virtual account exist."""
        if not any(account.domain == self.domain for account in await self.accounts()):
            raise AccountNotFound(
                f"Smart Account {self.domain!r} is not visible to these API credentials; check "
                "the domain and that the API client was granted access to it",
                operation="check_access",
            )
        for virtual_account in await self.virtual_accounts():
            if virtual_account.name == self.virtual_account:
                return virtual_account
        raise VirtualAccountNotFound(
            f"Smart Account {self.domain!r} has no virtual account {self.virtual_account!r}",
            operation="check_access",
        )

    # -- registration tokens ---------------------------------------------------------------

    def _tokens_path(self) -> str:
        return f"accounts/{self.domain}/virtual-accounts/{self.virtual_account}/tokens"

    async def list_tokens(self) -> list[RegistrationToken]:
        body = await self._json(_Call("list_tokens"), "GET", "v1", self._tokens_path())
        return self._parse_list(body, "tokens", RegistrationToken, "list_tokens")

    async def find_token(
        self, description: str, *, shared: bool = False
    ) -> RegistrationToken | None:
        """The active token with exactly this description, the longest-lived if several.

        This is how a caller learns whether a :meth:`create_token` whose outcome is unknown
        did create the token: create tokens with a description unique to their purpose.

        ``shared``: a listing already under way may answer. Only safe when this process has not
        asked CSSM to create a token with ``description``: any such token then predates the
        process, so every listing it starts sees it. A burst of first registrations then costs
        one listing (and one parse of it) for all, not one each.
        """
        listing = self._token_listing if shared else None
        if listing is None or listing.done():
            listing = asyncio.ensure_future(self._list_token_items())
            self._token_listing = listing
            listing.add_done_callback(_retrieved)
        items = await asyncio.shield(listing)
        # A virtual account holds a token per registration: only those with this description
        # are read into models, so a look-up costs little more than the JSON of the answer.
        matches = [
            token
            for token in (
                self._parse(item, RegistrationToken, "list_tokens")
                for item in items
                if item.get("description", "") == description
            )
            if token.status is TokenStatus.ACTIVE
        ]
        if not matches:
            return None
        return max(matches, key=lambda t: t.expiration_date or datetime.min.replace(tzinfo=UTC))

    async def _list_token_items(self) -> list[dict[str, Any]]:
        body = await self._json(_Call("list_tokens"), "GET", "v1", self._tokens_path())
        items = body.get("tokens") or []
        if not isinstance(items, list):
            raise UnexpectedAnswer(
                f"{self.server} list_tokens: tokens is not a list", operation="list_tokens"
            )
        return list(_dicts(items, "list_tokens"))

    async def create_token(
        self,
        description: str,
        expires_after_days: int,
        *,
        export_controlled: bool = True,
        max_uses: int | None = None,
    ) -> RegistrationToken:
        """Issue a registration token. Not retried once sent: see the module docstring."""
        if not description or len(description) > MAX_TOKEN_DESCRIPTION:
            raise TokenRejected(
                f"a token description must have 1 to {MAX_TOKEN_DESCRIPTION} characters, "
                f"not {len(description)}",
                operation="create_token",
            )
        if expires_after_days not in TOKEN_DAYS_RANGE:
            raise TokenRejected(
                f"expiresAfterDays must be between 1 and 365, not {expires_after_days}",
                operation="create_token",
            )
        if max_uses is not None and max_uses < 1:
            raise TokenRejected(
                f"maxUses must be at least 1, not {max_uses}", operation="create_token"
            )
        request: dict[str, Any] = {
            "description": description,
            "expiresAfterDays": expires_after_days,
            "exportControlled": "Allowed" if export_controlled else "Not Allowed",
        }
        if max_uses is not None:
            request["maxUses"] = max_uses
        call = _Call("create_token", creates=True, refused_as=TokenRejected)
        body = await self._json(call, "POST", "v1", self._tokens_path(), json=request)
        info = body.get("tokenInfo")
        if not isinstance(info, dict) or not isinstance(info.get("token"), str):
            raise UnexpectedAnswer(
                f"{self.server} create_token: the answer has no tokenInfo.token",
                operation="create_token",
            )
        register_secret(info["token"])
        info.setdefault("status", TokenStatus.ACTIVE.value)
        return self._parse(info, RegistrationToken, "create_token")

    async def revoke_tokens(self, tokens: Sequence[SecretStr | str]) -> list[TokenRevocation]:
        """Revoke tokens; an unknown or already revoked token is reported per token."""
        values = [t.get_secret_value() if isinstance(t, SecretStr) else t for t in tokens]
        if not values:
            return []
        register_secret(*values)
        body = await self._json(
            _Call("revoke_tokens"),
            "POST",
            "v1",
            self._tokens_path() + "/revoke",
            json={"tokens": values},
        )
        return self._parse_list(body, "tokens", TokenRevocation, "revoke_tokens")

    # -- licenses and product instances ----------------------------------------------------

    async def licenses(self) -> list[License]:
        """Every license of the virtual account, all pages."""
        collected: list[License] = []
        offset = 0
        while True:
            body = await self._json(
                _Call("licenses"),
                "POST",
                "v1",
                f"accounts/{self.domain}/licenses",
                json={
                    "virtualAccounts": [self.virtual_account],
                    "limit": MAX_LICENSE_PAGE,
                    "offset": offset,
                },
            )
            page = self._parse_list(body, "licenses", License, "licenses")
            collected.extend(page)
            offset += len(page)
            if len(page) < MAX_LICENSE_PAGE or offset >= _total(body, offset):
                return collected

    async def product_instances(self) -> AsyncIterator[ProductInstance]:
        """The product instances of the virtual account, fetched a page at a time."""
        offset = 0
        path = f"accounts/{self.domain}/virtual-accounts/{self.virtual_account}/devices"
        while True:
            body = await self._json(
                _Call("product_instances"),
                "GET",
                "v1",
                path,
                params={"limit": self.policy.page_size, "offset": offset},
            )
            page = self._parse_list(body, "devices", ProductInstance, "product_instances")
            for instance in page:
                yield instance
            offset += len(page)
            if len(page) < self.policy.page_size or offset >= _total(body, offset):
                return

    async def find_product_instance(self, cluster_uuid: str) -> ProductInstance | None:
        """The product instance of the cluster with this UUID, if CSSM holds one."""
        wanted = cluster_uuid.lower()
        async for instance in self.product_instances():
            if instance.cluster_uuid.lower() == wanted:
                return instance
        return None

    async def remove_product_instance(
        self, instance: ProductInstance, *, return_code: SecretStr | None = None
    ) -> None:
        """Remove a product instance; a reserved one needs the return code of its cluster."""
        request: dict[str, Any] = {
            "sudi": instance.sudi.model_dump(by_alias=True),
            "productTagName": instance.product_tag_name,
        }
        secret = return_code.get_secret_value() if return_code is not None else None
        if secret is not None:
            register_secret(secret)
            request["returnCode"] = secret
        call = _Call("remove_product_instance", creates=True, refused_as=InstanceRemovalRejected)
        await self._json(
            call,
            "POST",
            "v2",
            f"accounts/{self.domain}/virtual-accounts/{self.virtual_account}/devices/remove",
            json={"productInstancesRemoveRequests": [request]},
        )

    async def reserve_licenses(
        self,
        request_code: str,
        reservation_type: ReservationType,
        licenses: Sequence[LicenseRequest],
    ) -> AuthorizationCode:
        """Reserve licenses for a request code; answers the authorization code.

        Not retried once sent. When the outcome is unknown, the caller checks the cluster's
        product instance (:meth:`find_product_instance`, ``license_reservation``).
        """
        request = {
            "reservationRequests": [
                {
                    "reservationCode": request_code,
                    "reservationType": reservation_type.value,
                    "licenses": [
                        {
                            "entitlementTag": line.entitlement_tag,
                            "quantity": line.quantity,
                            "precedence": "LONGEST_TERM_FIRST",
                        }
                        for line in licenses
                    ],
                }
            ]
        }
        call = _Call("reserve_licenses", creates=True, refused_as=ReservationRejected)
        body = await self._json(
            call,
            "POST",
            "v1",
            f"accounts/{self.domain}/virtual-accounts/{self.virtual_account}/reserve-licenses",
            json=request,
        )
        codes = body.get("authorizationCodes")
        if not isinstance(codes, list) or not codes or not isinstance(codes[0], dict):
            raise UnexpectedAnswer(
                f"{self.server} reserve_licenses: the answer has no authorization code",
                operation="reserve_licenses",
            )
        first = codes[0]
        if not first.get("authorizationCode"):
            raise ReservationRejected(
                f"{self.server} reserve_licenses refused: "
                + self._clean(str(first.get("statusMessage") or "no authorization code issued")),
                operation="reserve_licenses",
            )
        register_secret(str(first["authorizationCode"]))
        return self._parse(first, AuthorizationCode, "reserve_licenses")

    # -- plumbing --------------------------------------------------------------------------

    async def _json(
        self,
        call: _Call,
        method: str,
        version: str,
        relative: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        started = self._monotonic()
        outcome = "error"
        try:
            body = await self._with_retries(
                call,
                lambda: self._send(
                    call,
                    method,
                    self.endpoint.data_url(version, relative),
                    json=json,
                    params=params,
                ),
            )
            self._check_envelope(call, body)
            outcome = "success"
            return body
        except CSSMError as error:
            outcome = error.reason
            raise
        finally:
            elapsed = self._monotonic() - started
            self._metrics.record_cssm_call(call.operation, outcome, elapsed)
            logger.debug(
                f"{self.server} %s %s %s: %s in %.3fs",
                call.operation,
                method,
                relative,
                outcome,
                elapsed,
            )

    async def _with_retries(self, call: _Call, attempt_once: Callable[[], Awaitable[T]]) -> T:
        p = self.policy
        last: _Transient | None = None
        try:
            async for attempt in stamina.retry_context(
                on=self._retryable(call),
                attempts=p.attempts,
                timeout=p.retry_budget,
                wait_initial=p.wait_initial,
                wait_max=p.wait_max,
                wait_jitter=p.wait_jitter,
            ):
                with attempt:
                    try:
                        return await attempt_once()
                    except _Transient as failure:
                        last = failure
                        raise
        except _Transient as failure:
            last = failure
        assert last is not None
        unknown = call.creates and last.sent
        advice = (
            "; it may have been carried out: look the outcome up before trying again"
            if unknown
            else ""
        )
        raise CSSMUnavailable(
            f"{self.server} {call.operation} failed: {last.description}{advice}",
            operation=call.operation,
            outcome_unknown=unknown,
        ) from None

    @staticmethod
    def _retryable(call: _Call) -> Callable[[Exception], bool]:
        def retry(error: Exception) -> bool:
            return isinstance(error, _Transient) and (not call.creates or not error.sent)

        return retry

    async def _send(
        self,
        call: _Call,
        method: str,
        url: str,
        *,
        json: dict[str, Any] | None,
        params: dict[str, Any] | None,
    ) -> dict[str, Any]:
        refreshed = False
        waits = 0
        while True:
            token = await self._tokens.get()
            response = await self._exchange(
                method,
                url,
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            if response.status_code == 429:
                waits += 1
                await self._wait_rate_limited(call.operation, response, waits)
                continue
            if response.status_code == 401 and _error_code(response) == "invalid_token":
                self._tokens.invalidate(token)
                if refreshed:
                    # The token endpoint accepted the credentials a moment ago, so this is not a
                    # refusal of them (that is 401 invalid_client there): retry with backoff.
                    raise _Transient("a freshly issued access token was refused", sent=False)
                refreshed = True
                continue
            return self._read(call, response)

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with self._in_flight, self._limiter:
            try:
                response = await self._http.request(method, url, **kwargs)
            except _NOT_SENT as error:
                raise _Transient(
                    f"could not connect ({type(error).__name__})", sent=False
                ) from None
            except httpx.TimeoutException as error:
                raise _Transient(f"timed out ({type(error).__name__})", sent=True) from None
            except httpx.TransportError as error:
                raise _Transient(f"connection failed ({type(error).__name__})", sent=True) from None
        if response.status_code >= 500:
            raise _Transient(f"HTTP {response.status_code}", sent=True)
        return response

    async def _wait_rate_limited(
        self, operation: str, response: httpx.Response, waits: int
    ) -> None:
        p = self.policy
        delay = parse_retry_after(response.headers.get("Retry-After"), self._now())
        if delay is None:
            delay = p.default_retry_after
        if delay > p.max_retry_after or waits > p.max_rate_limited_waits:
            raise RateLimited(
                f"{self.server} {operation} is rate limited; retry after {delay:.0f}s",
                operation=operation,
                retry_after=delay,
            )
        logger.debug("CSSM %s rate limited; waiting %.1fs", operation, delay)
        await self._sleep(delay)

    async def _fetch_access_token(self) -> tuple[str, float]:
        call = _Call("oauth_token", va_scoped=False)
        started = self._monotonic()
        outcome = "error"
        try:
            result = await self._with_retries(call, self._request_access_token)
            outcome = "success"
            return result
        except CSSMError as error:
            outcome = error.reason
            raise
        finally:
            self._metrics.record_cssm_call(call.operation, outcome, self._monotonic() - started)

    async def _request_access_token(self) -> tuple[str, float]:
        fields = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.get_secret_value(),
        }
        waits = 0
        while True:
            if self.endpoint.server is ServerType.ON_PREM:
                response = await self._exchange("POST", self.endpoint.token_url, json=fields)
            else:
                response = await self._exchange("POST", self.endpoint.token_url, data=fields)
            if response.status_code != 429:
                break
            waits += 1
            await self._wait_rate_limited("oauth_token", response, waits)
        if response.status_code in (400, 401, 403):
            code = _error_code(response) or f"HTTP {response.status_code}"
            raise CredentialsRejected(
                f"{self.server} refused the API client credentials ({self._clean(code)}); "
                "check the client_id and client_secret of the credentials Secret (a new API "
                "client can take about 30 minutes to become usable)",
                operation="oauth_token",
            )
        body = self._decode(response, "oauth_token")
        token, expires_in = body.get("access_token"), body.get("expires_in", 3599)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise UnexpectedAnswer(
                f"{self.server} oauth_token: the answer has no usable access_token",
                operation="oauth_token",
            )
        return token, float(expires_in)

    def _read(self, call: _Call, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if status in (401, 403):
            raise CredentialsRejected(
                f"{self.server} {call.operation}: the API client has no access to the Smart "
                f"Accounts API (HTTP {status} {self._clean(_error_code(response) or '')}); ask "
                "Cisco to enable API access for it",
                operation=call.operation,
            )
        if status == 404:
            message = self._status_message(response)
            if call.va_scoped and "virtual" in message.lower():
                raise VirtualAccountNotFound(
                    f"{self.server} {call.operation}: virtual account "
                    f"{self.virtual_account!r} not found in {self.domain!r}: {message}",
                    operation=call.operation,
                )
            raise AccountNotFound(
                f"{self.server} {call.operation}: Smart Account {self.domain!r} or virtual account "
                f"{self.virtual_account!r} not found: {message}",
                operation=call.operation,
            )
        if 400 <= status < 500:
            raise call.refused_as(
                f"{self.server} {call.operation} refused the request (HTTP {status}): "
                f"{self._status_message(response)}",
                operation=call.operation,
            )
        return self._decode(response, call.operation)

    def _check_envelope(self, call: _Call, body: dict[str, Any]) -> None:
        if str(body.get("status", "")).upper() == "ERROR":
            message = self._clean(str(body.get("statusMessage") or "no statusMessage"))
            raise call.refused_as(
                f"{self.server} {call.operation} refused the request: {message}",
                operation=call.operation,
            )

    def _decode(self, response: httpx.Response, operation: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UnexpectedAnswer(
                f"{self.server} {operation}: HTTP {response.status_code} with a body that is "
                "not a JSON object",
                operation=operation,
            )
        return body

    def _status_message(self, response: httpx.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return "no details"
        if isinstance(body, dict):
            text = body.get("statusMessage") or body.get("error_description") or body.get("error")
            if text:
                return self._clean(str(text))
        return "no details"

    def _clean(self, text: str) -> str:
        """Server text fit for an error message: short, and with anything secret masked."""
        return redact(
            text[:_STATUS_MESSAGE_LIMIT], extra=[self._credentials.client_secret.get_secret_value()]
        )

    def _parse(self, data: dict[str, Any], model: type[M], operation: str) -> M:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            raise UnexpectedAnswer(
                f"{self.server} {operation}: unreadable answer "
                f"({error.error_count()} invalid fields)",
                operation=operation,
            ) from None

    def _parse_list(
        self, body: dict[str, Any], key: str, model: type[M], operation: str
    ) -> list[M]:
        items = body.get(key) or []
        if not isinstance(items, list):
            raise UnexpectedAnswer(
                f"{self.server} {operation}: {key} is not a list", operation=operation
            )
        return [self._parse(item, model, operation) for item in _dicts(items, operation)]


def _dicts(items: Iterable[object], operation: str) -> Iterable[dict[str, Any]]:
    for item in items:
        if not isinstance(item, dict):
            raise UnexpectedAnswer(
                f"CSSM {operation}: a list item is not an object", operation=operation
            )
        yield item


def _total(body: dict[str, Any], fetched: int) -> int:
    total = body.get("totalRecords")
    return total if isinstance(total, int) else fetched


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return None
