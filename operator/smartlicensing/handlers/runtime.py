"""What the handlers share across objects for the life of one operator process.

One :class:`Runtime` lives in kopf's ``memo``. It holds the settings and the clock (tests and
the demo inject the simulator's virtual clock), one CSSM client per SmartAccount, the product
drivers' factory, the counter that spreads first syncs (a Weyl sequence, see
``reconcile.schedule``), and one lock per object so that a sync and a deregistration of the
same object never run together.

The CSSM client of an account is rebuilt only when what it was built from changes: the
endpoint, the Smart Account and virtual account, or the ``resourceVersion`` of the credentials
or CA Secret. The old client is closed then, and every client at cleanup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr

from smartlicensing.api.meta import DriverType
from smartlicensing.api.registration import SmartLicenseRegistrationSpec
from smartlicensing.api.smartaccount import ServerType, SmartAccountSpec
from smartlicensing.config import OperatorSettings
from smartlicensing.cssm import (
    CallPolicy,
    ClientCredentials,
    CSSMClient,
    CSSMEndpoint,
    RateLimits,
)
from smartlicensing.kube import (
    SecretError,
    SecretsAPI,
    key_of,
    read_secret_versioned,
    secret_version,
    secrets_api,
)
from smartlicensing.observability.metrics import METRICS, Metrics
from smartlicensing.product import ProductDriver, RegistrationMode
from smartlicensing.product.api_driver import ApiCredentials, ApiDriver, DriverPolicy
from smartlicensing.product.manual_driver import ManualDriver
from smartlicensing.reconcile import schedule

logger = logging.getLogger(__name__)

T = TypeVar("T")

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


def _copy(value: object) -> object:
    return dict(value) if isinstance(value, Mapping) else value


@dataclass(frozen=True)
class _ClientKey:
    api_url: str
    token_url: str
    domain: str
    virtual_account: str
    credentials_version: str
    ca_version: str


@dataclass
class Runtime:
    """Per-process state of the operator; kopf hands it to every handler as ``memo.runtime``."""

    settings: OperatorSettings = field(default_factory=OperatorSettings)
    clock: Clock = wall_clock
    metrics: Metrics = METRICS
    #: Makes the Secrets API on first use; None: :func:`~smartlicensing.kube.secrets_api`, with
    #: the settings' timeouts.
    secrets_factory: Callable[[], SecretsAPI] | None = None
    _secrets: SecretsAPI | None = None
    _rate_limits: RateLimits | None = None
    _clients: dict[tuple[str, str], tuple[_ClientKey, CSSMClient]] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _spread_index: int = 0
    #: Objects whose deletion has begun: no registration may start for them any more.
    deleting: set[str] = field(default_factory=set)
    #: The operator is stopping: no pass or sync starts any more.
    closing: bool = False
    #: Per object: how many looks at CSSM found a manual registration not done yet.
    manual_polls: dict[str, int] = field(default_factory=dict)
    #: Per stalled object: when its Secrets were last looked at (operator clock).
    stalled_checked: dict[str, datetime] = field(default_factory=dict)
    #: Objects whose token this process has asked CSSM to create (its outcome may be unknown).
    tokens_requested: set[str] = field(default_factory=set)
    #: Per object: the last ``sync-requested-at`` value looked at (answered once, not per tick).
    sync_requests_seen: dict[str, str] = field(default_factory=dict)
    #: Per object: generation, labels and annotations at the last event looked at.
    _edits_seen: dict[str, tuple[object, object, object]] = field(default_factory=dict)
    _statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per object and kind of input: the input last parsed and what parsing it gave.
    _parsed: dict[tuple[str, str], tuple[object, Any]] = field(default_factory=dict)
    #: Secret reads under way, by namespace and name: a caller that comes while one is out
    #: shares its answer instead of sending the same GET again.
    _secret_reads: dict[tuple[str, str], asyncio.Future[tuple[dict[str, SecretStr], str]]] = field(
        default_factory=dict
    )

    # --- shared things ------------------------------------------------------------------

    @property
    def secrets(self) -> SecretsAPI:
        """The Secrets API, logged in on first use (as kopf logs in)."""
        if self._secrets is None:
            if self.secrets_factory is not None:
                self._secrets = self.secrets_factory()
            else:
                self._secrets = secrets_api(
                    request_timeout=self.settings.request_timeout,
                    connect_timeout=self.settings.connect_timeout,
                )
        return self._secrets

    @property
    def rate_limits(self) -> RateLimits:
        if self._rate_limits is None:
            self._rate_limits = RateLimits(self.settings.cssm_requests_per_second)
        return self._rate_limits

    def now(self) -> datetime:
        """The operator's clock, always timezone-aware."""
        moment = self.clock()
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def next_spread(self) -> float:
        """The next point of the golden-ratio sequence that spreads first syncs over a window."""
        self._spread_index += 1
        return schedule.weyl_spread(self._spread_index)

    def lock_for(self, uid: str) -> asyncio.Lock:
        """The lock that serialises every pass over the object with this uid."""
        lock = self._locks.get(uid)
        if lock is None:
            lock = self._locks[uid] = asyncio.Lock()
        return lock

    def remember_status(self, uid: str, status: BaseModel) -> None:
        """Keep the status just decided for the object, until kopf has written it."""
        self._statuses[uid] = status.model_dump(mode="json", by_alias=True, exclude_none=True)

    def remembered_status(self, uid: str) -> dict[str, Any] | None:
        """The status last decided for the object by this process, if any."""
        return self._statuses.get(uid)

    def parsed(self, uid: str, what: str, source: object, parse: Callable[[], T]) -> T:
        """What ``parse`` gives for the object's ``what`` when read from ``source``.

        The timer looks at every object every ``timer_interval`` and almost always finds its
        spec and status as they were: parsing them again each time (pydantic over kopf's
        views) was a good part of the operator's CPU with many objects. ``source`` is what
        the parse depends on (a ``resourceVersion``, or the remembered status itself); the
        last result is kept while it compares equal.
        """
        key = (uid, what)
        cached = self._parsed.get(key)
        if cached is not None and (cached[0] is source or cached[0] == source):
            result: T = cached[1]
            return result
        value = parse()
        self._parsed[key] = (source, value)
        return value

    def edited_since_last_look(self, uid: str, meta: Mapping[str, Any]) -> bool:
        """Whether the object's generation, labels or annotations changed since the last look.

        True on the first look. Watch events come for status writes too; this tells the ones a
        person (or kopf's own bookkeeping of labels and annotations) made.
        """
        seen = (meta.get("generation"), meta.get("labels"), meta.get("annotations"))
        if self._edits_seen.get(uid) == seen:
            return False
        self._edits_seen[uid] = (seen[0], _copy(seen[1]), _copy(seen[2]))
        return True

    def forget(self, uid: str) -> None:
        """Drop what the runtime keeps about an object that is gone."""
        self._edits_seen.pop(uid, None)
        self.tokens_requested.discard(uid)
        self._statuses.pop(uid, None)
        for what in ("spec", "status"):
            self._parsed.pop((uid, what), None)
        self._locks.pop(uid, None)
        self.deleting.discard(uid)
        self.manual_polls.pop(uid, None)
        self.stalled_checked.pop(uid, None)
        self.sync_requests_seen.pop(uid, None)

    def stalled_recheck_due(self, uid: str) -> bool:
        """Whether a stalled object's Secrets may be looked at again (and note that they are)."""
        now = self.now()
        last = self.stalled_checked.get(uid)
        if last is not None and now - last < timedelta(seconds=self.settings.stalled_recheck):
            return False
        self.stalled_checked[uid] = now
        return True

    async def read_secret(
        self, namespace: str, name: str, *, fresh: bool = False
    ) -> tuple[dict[str, SecretStr], str]:
        """A Secret's decoded keys and its ``resourceVersion``; raises the ``kube`` errors.

        Reads of the same Secret that overlap are one GET: a burst of registrations of one
        account would otherwise read its credentials once each, all at the same moment. An
        answer is never kept after it arrives, so a change is seen by the next read. ``fresh``:
        a read that began before the caller learned of a change will not do (a stalled object
        rechecking the Secret whose new version it has just seen): send a new GET, which later
        callers then share.
        """
        key = (namespace, name)
        read = self._secret_reads.get(key)
        if read is None or fresh:
            # A task of its own: a caller cancelled while waiting does not cancel the others.
            read = asyncio.ensure_future(read_secret_versioned(self.secrets, namespace, name))
            self._secret_reads[key] = read
            read.add_done_callback(lambda done: self._read_done(key, done))
        return await asyncio.shield(read)

    def _read_done(self, key: tuple[str, str], read: asyncio.Future[Any]) -> None:
        if self._secret_reads.get(key) is read:
            del self._secret_reads[key]
        if not read.cancelled():
            read.exception()  # retrieved: every caller may have been cancelled meanwhile

    async def secret_versions(self, namespace: str, names: list[str]) -> dict[str, str]:
        """The ``resourceVersion`` of each named Secret ("" when absent, "unreadable" on error).

        What a permanent failure's fingerprint is made of: versions, never contents.
        """
        versions: dict[str, str] = {}
        for name in names:
            try:
                versions[name] = await secret_version(self.secrets, namespace, name)
            except SecretError:
                versions[name] = "unreadable"
        return versions

    # --- CSSM ---------------------------------------------------------------------------

    def _call_policy(self) -> CallPolicy:
        s = self.settings
        return CallPolicy(
            connect_timeout=s.cssm_connect_timeout,
            read_timeout=s.cssm_read_timeout,
            attempts=s.call_attempts,
            wait_initial=s.call_wait_initial,
            max_retry_after=s.cssm_max_retry_after,
            max_in_flight=s.cssm_max_in_flight,
        )

    async def cssm_client(
        self, namespace: str, name: str, spec: SmartAccountSpec, *, fresh: bool = False
    ) -> tuple[CSSMClient, str]:
        """The CSSM client of SmartAccount ``namespace/name``, and its credentials' version.

        Raises the ``kube`` errors of reading the credentials (or CA) Secret as they are.
        """
        ref = spec.credentials_secret_ref
        values, version = await self.read_secret(namespace, ref.name, fresh=fresh)
        client_id = key_of(values, "client_id", namespace=namespace, name=ref.name)
        client_secret = key_of(values, "client_secret", namespace=namespace, name=ref.name)

        ca_bundle: str | None = None
        ca_version = ""
        ca_ref = spec.server.ca_bundle_secret_ref
        if ca_ref is not None:
            ca_values, ca_version = await self.read_secret(namespace, ca_ref.name, fresh=fresh)
            ca_bundle = key_of(
                ca_values, ca_ref.key, namespace=namespace, name=ca_ref.name
            ).get_secret_value()

        if spec.server.type is ServerType.ON_PREM:
            endpoint = CSSMEndpoint.on_prem(spec.server.api_url(), ca_bundle=ca_bundle)
            if spec.server.token_url is not None:
                endpoint = CSSMEndpoint(
                    endpoint.server, spec.server.token_url, endpoint.api_url, ca_bundle
                )
        else:
            endpoint = CSSMEndpoint.cloud(
                token_url=spec.server.token_endpoint(),
                api_url=spec.server.api_url(),
                ca_bundle=ca_bundle,
            )
        key = _ClientKey(
            endpoint.api_url,
            endpoint.token_url,
            spec.smart_account,
            spec.virtual_account,
            version,
            ca_version,
        )
        cached = self._clients.get((namespace, name))
        if cached is not None and cached[0] == key:
            return cached[1], version
        if cached is not None:
            await cached[1].aclose()
        client = CSSMClient(
            endpoint,
            ClientCredentials(
                client_id.get_secret_value(), SecretStr(client_secret.get_secret_value())
            ),
            domain=spec.smart_account,
            virtual_account=spec.virtual_account,
            policy=self._call_policy(),
            limiter=self.rate_limits.for_endpoint(endpoint),
            metrics=self.metrics,
        )
        self._clients[(namespace, name)] = (key, client)
        logger.debug("CSSM client for SmartAccount %s/%s built", namespace, name)
        return client, version

    async def drop_client(self, namespace: str, name: str) -> None:
        """Close and forget the CSSM client of a SmartAccount (deleted, or its spec broken)."""
        cached = self._clients.pop((namespace, name), None)
        if cached is not None:
            await cached[1].aclose()

    async def aclose(self, *, grace: float = 5.0) -> None:
        """Stop starting passes, let those under way finish (for up to ``grace`` seconds), and
        close every CSSM client (at operator cleanup).

        kopf leaves a timer whose handler is still running when it stops; closing the clients
        under such a pass would fail it with "the client has been closed" on every shutdown.
        """
        self.closing = True
        deadline = asyncio.get_running_loop().time() + grace
        for lock in list(self._locks.values()):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(lock.acquire(), left)
            except TimeoutError:
                break
            lock.release()
        clients, self._clients = self._clients, {}
        for _, client in clients.values():
            await client.aclose()
        # Kept, closed: a call still under way or to come fails as KubernetesUnavailable instead
        # of opening new connections that nothing would close.
        if self._secrets is not None:
            await self._secrets.aclose()

    # --- clusters -----------------------------------------------------------------------

    async def driver(
        self,
        namespace: str,
        spec: SmartLicenseRegistrationSpec,
        account: SmartAccountSpec | None,
        cssm: CSSMClient | None,
        *,
        fresh: bool = False,
    ) -> tuple[ProductDriver, str]:
        """A product driver for the registration's cluster, and its credentials' version.

        The caller closes it. The Manual driver sees the cluster through the account's CSSM
        client (both required); the Api driver signs its calls with the key from the driver's
        Secret and needs neither.
        """
        driver = spec.cluster.driver
        if driver.type is DriverType.MANUAL:
            if cssm is None or account is None:
                raise ValueError("the Manual driver sees the cluster through its account at CSSM")
            mode = (
                RegistrationMode.ON_PREM
                if account.server.type is ServerType.ON_PREM
                else RegistrationMode.CONNECTED
            )
            return ManualDriver(cluster_uuid=spec.cluster.uuid, instances=cssm, mode=mode), ""
        assert driver.url is not None
        assert driver.credentials_secret_ref is not None
        ref = driver.credentials_secret_ref
        values, version = await self.read_secret(namespace, ref.name, fresh=fresh)
        api_key = key_of(values, "api_key", namespace=namespace, name=ref.name)
        api_secret = key_of(values, "api_secret", namespace=namespace, name=ref.name)
        s = self.settings
        policy = DriverPolicy(
            connect_timeout=s.cluster_connect_timeout,
            read_timeout=s.cluster_read_timeout,
            attempts=min(s.call_attempts, 3),
            wait_initial=s.call_wait_initial,
        )
        api_driver = ApiDriver(
            driver.url,
            ApiCredentials(api_key.get_secret_value(), api_secret),
            cluster_uuid=spec.cluster.uuid,
            policy=policy,
            metrics=self.metrics,
        )
        return api_driver, version
