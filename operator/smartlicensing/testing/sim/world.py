"""The shared state of the simulated licensing landscape, and every rule that changes it.

CSSM, the On-Prem servers and the Secure Workload clusters live in one ``World`` so that what one
side does is what the other side sees: a cluster that registers consumes a token use and appears
as a product instance; its counts, reported at each sync, drive ``inUse``; reservations hold
licenses as ``reserved`` until their return code comes back. Every rule is a method here, free of
HTTP, so the routes stay thin and tests can state the rules directly.

Time is the simulator's clock. Moving it runs each cluster's 24-hour sync in order, so a month
passes in milliseconds and ends in the same state every time; evaluation time is spent only by
clusters that use licenses while unregistered, and authorization lapses 90 days after the last
successful sync.
"""

from __future__ import annotations

import base64
import heapq
import uuid as uuid_module
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Literal
from urllib.parse import urlsplit

from smartlicensing.testing.sim import choices, codes
from smartlicensing.testing.sim.worldfile import AccountSpec, ApiClientSpec, WorldSpec

Role = Literal["Standalone", "FederationLeader", "FederationFollower", "Standby"]
_COUNTING_ROLES = frozenset({"Standalone", "FederationFollower"})
"""A federation leader consumes no licenses (seed); a standby none until it becomes active."""


# --- Errors ----------------------------------------------------------------------------------


class CssmError(Exception):
    """A CSSM / On-Prem call fails; answered as the ``status: ERROR`` envelope."""

    def __init__(self, http_status: int, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message


class ProductError(Exception):
    """A cluster's licensing call fails; answered as ``{"error": code, "message": ...}``."""

    def __init__(self, problem: tuple[int, str, str], **values: str) -> None:
        http_status, code, message = problem
        super().__init__(message.format(**values))
        self.http_status = http_status
        self.code = code
        self.message = message.format(**values)


# --- CSSM side -------------------------------------------------------------------------------


@dataclass
class LicensePool:
    quantity: int
    expires: datetime | None = None

    def effective(self, now: datetime) -> int:
        return 0 if self.expires is not None and now >= self.expires else self.quantity


@dataclass
class RegistrationToken:
    value: str
    description: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    export_controlled: str
    max_uses: int | None
    uses: int = 0
    revoked: bool = False

    @property
    def exhausted(self) -> bool:
        return self.max_uses is not None and self.uses >= self.max_uses

    def state(self, now: datetime) -> str:
        """A token expires at its date or when its uses run out, as CSSM's token page says."""
        if self.revoked:
            return "REVOKED"
        if now >= self.expires_at or self.exhausted:
            return "EXPIRED"
        return "ACTIVE"


@dataclass
class ProductInstance:
    uuid: str
    serial: str
    name: str
    created: datetime
    last_contact: datetime
    usage: dict[str, int] = field(default_factory=dict)
    reservation: str | None = None
    """None (registered), ``SPECIFIC`` or ``PLR``."""
    reserved: dict[str, int] = field(default_factory=dict)
    authorization_codes: list[str] = field(default_factory=list)
    pending_confirmation: str | None = None


@dataclass
class VirtualAccount:
    name: str
    description: str
    default: bool
    pools: dict[str, LicensePool]
    tokens: dict[str, RegistrationToken] = field(default_factory=dict)
    instances: dict[str, ProductInstance] = field(default_factory=dict)
    """By product-instance UUID (the cluster UUID; the serial for a reservation of no cluster).
    Whoever changes an instance's usage or reservation, or the set of instances, calls
    ``invalidate``."""
    _totals: tuple[dict[str, int], dict[str, int]] | None = field(default=None, repr=False)

    def invalidate(self) -> None:
        self._totals = None

    def totals(self) -> tuple[dict[str, int], dict[str, int]]:
        """Licenses in use (by registered instances) and reserved, per name; cached."""
        if self._totals is None:
            in_use: dict[str, int] = {}
            reserved: dict[str, int] = {}
            for instance in self.instances.values():
                if not instance.reservation:
                    for name, count in instance.usage.items():
                        in_use[name] = in_use.get(name, 0) + count
                for name, count in instance.reserved.items():
                    reserved[name] = reserved.get(name, 0) + count
            self._totals = (in_use, reserved)
        return self._totals

    def license_rows(self, now: datetime) -> list[dict[str, object]]:
        used, held = self.totals()
        names = list(self.pools)
        names += [n for n in (*used, *held) if n not in names]
        rows = []
        for name in names:
            pool = self.pools.get(name, LicensePool(0))
            entitled = pool.effective(now)
            in_use = used.get(name, 0)
            reserved = held.get(name, 0)
            compliant = in_use + reserved <= entitled
            rows.append(
                {
                    "license": name,
                    "virtualAccount": self.name,
                    "quantity": entitled,
                    "inUse": in_use,
                    "available": max(0, entitled - in_use - reserved),
                    "reserved": reserved,
                    "pendingQuantity": 0,
                    "billingType": choices.BILLING_TYPE,
                    "status": "In Compliance" if compliant else "Out Of Compliance",
                    "licenseDetails": [
                        {
                            "licenseType": choices.LICENSE_TYPE,
                            "quantity": pool.quantity,
                            "startDate": None,
                            "endDate": rfc3339(pool.expires) if pool.expires else None,
                            "subscriptionId": None,
                            "status": "EXPIRED" if entitled < pool.quantity else "ACTIVE",
                        }
                    ],
                }
            )
        return rows

    def available(self, name: str, now: datetime) -> int:
        used, held = self.totals()
        entitled = self.pools.get(name, LicensePool(0)).effective(now)
        return max(0, entitled - used.get(name, 0) - held.get(name, 0))

    def out_of_compliance(self, now: datetime) -> set[str]:
        used, held = self.totals()
        return {
            name
            for name in {*self.pools, *used, *held}
            if used.get(name, 0) + held.get(name, 0)
            > self.pools.get(name, LicensePool(0)).effective(now)
        }


@dataclass
class Account:
    domain: str
    name: str
    virtual_accounts: dict[str, VirtualAccount]

    def virtual_account(self, name: str) -> VirtualAccount:
        found = self.virtual_accounts.get(name)
        if found is None:
            raise CssmError(404, choices.TEXT_UNKNOWN_VIRTUAL_ACCOUNT)
        return found


@dataclass
class ApiClient:
    client_id: str
    client_secret: str
    api_access: bool


@dataclass
class AccessToken:
    value: str
    client: ApiClient
    server: LicensingServer
    expires_at: datetime


@dataclass
class LicensingServer:
    """Cloud CSSM (``name == "cloud"``) or one SSM On-Prem server, named by its host."""

    name: str
    on_prem: bool
    accounts: dict[str, Account]
    clients: dict[str, ApiClient]

    def account(self, domain: str) -> Account:
        found = self.accounts.get(domain)
        if found is None:
            raise CssmError(404, choices.TEXT_UNKNOWN_ACCOUNT)
        return found

    def virtual_accounts(self) -> Iterator[tuple[Account, VirtualAccount]]:
        for account in self.accounts.values():
            for virtual_account in account.virtual_accounts.values():
                yield account, virtual_account


# --- Cluster side ----------------------------------------------------------------------------


@dataclass
class Registration:
    server: LicensingServer
    account: Account
    virtual_account: VirtualAccount
    transport_url: str
    registered_at: datetime
    identity_renewed_at: datetime
    failure: str | None = None
    failed: bool = False
    last_sync: datetime | None = None
    next_sync: datetime | None = None
    compliant: bool = True


@dataclass
class Reservation:
    kind: Literal["Specific", "PLR"]
    request_code: str
    installed_code: str | None = None
    reserved: dict[str, int] = field(default_factory=dict)


@dataclass
class Cluster:
    uuid: str
    name: str
    version: str
    role: Role
    workloads: int
    endpoints: int
    api_key: str
    api_secret: str
    offline: bool = False
    """Cannot reach any licensing server: syncs fail and registrations are refused."""
    evaluation_left: timedelta = choices.EVALUATION_PERIOD
    registration: Registration | None = None
    reservation: Reservation | None = None

    @property
    def serial(self) -> str:
        return codes.serial_of(self.uuid)

    @property
    def supported(self) -> bool:
        parts = tuple(int(p) for p in self.version.split(".")[:2])
        return parts >= choices.FIRST_SUPPORTED_VERSION

    def usage(self) -> dict[str, int]:
        counting = self.role in _COUNTING_ROLES
        return {
            choices.WORKLOAD_PROTECTION: self.workloads if counting else 0,
            choices.ENDPOINT_VISIBILITY: self.endpoints if counting else 0,
        }

    @property
    def in_use(self) -> bool:
        return any(self.usage().values())

    @property
    def in_evaluation(self) -> bool:
        installed = self.reservation is not None and self.reservation.installed_code is not None
        return self.registration is None and not installed

    def authorization_state(self, now: datetime) -> str:
        reservation = self.reservation
        if reservation is not None and reservation.installed_code is not None:
            if reservation.kind == "Specific" and any(
                count > reservation.reserved.get(name, 0) for name, count in self.usage().items()
            ):
                return "OutOfCompliance"
            return "AuthorizedReservation"
        registration = self.registration
        if registration is None or registration.last_sync is None:
            return "Evaluation" if self.evaluation_left > timedelta(0) else "EvaluationExpired"
        if now >= registration.last_sync + choices.AUTHORIZATION_LIFETIME:
            return "AuthorizationExpired"
        return "Authorized" if registration.compliant else "OutOfCompliance"


# --- The world -------------------------------------------------------------------------------


class World:
    """Everything the simulator knows, on one clock, with seeded randomness."""

    def __init__(self, spec: WorldSpec, *, seed: int | None = None) -> None:
        self.spec = spec
        self.seed = seed if seed is not None else (spec.seed if spec.seed is not None else 0)
        self.rng = Random(self.seed)
        self.key = self.rng.randbytes(32)
        start = spec.clock.start or datetime.now(UTC).replace(microsecond=0)
        self.now = start.astimezone(UTC) if start.tzinfo else start.replace(tzinfo=UTC)
        self.access_tokens: dict[str, AccessToken] = {}
        self.secrets: set[str] = set()
        """Secret values the world holds or issued (client and API secrets, registration tokens,
        codes), masked wherever they might appear in the call log. Access tokens are not kept
        here (there are many, and they only travel in headers and answers, which are masked or
        not logged)."""
        self.cloud = self._server("cloud", spec.cloud.api_clients, spec.cloud.accounts, False)
        self.on_prem = {
            s.host: self._server(s.host, s.api_clients, s.accounts, True) for s in spec.on_prem
        }
        self.clusters = {
            c.uuid.lower(): Cluster(
                uuid=c.uuid.lower(),
                name=c.name,
                version=c.version,
                role=c.role,
                workloads=c.workloads,
                endpoints=c.endpoints,
                api_key=c.api_key,
                api_secret=c.api_secret,
            )
            for c in spec.clusters
        }
        self.secrets.update(c.api_secret for c in self.clusters.values())

    def _server(
        self,
        name: str,
        clients: list[ApiClientSpec],
        accounts: list[AccountSpec],
        on_prem: bool,
    ) -> LicensingServer:
        server = LicensingServer(name=name, on_prem=on_prem, accounts={}, clients={})
        for client in clients:
            server.clients[client.client_id] = ApiClient(
                client.client_id, client.client_secret, client.api_access
            )
            self.secrets.add(client.client_secret)
        for account in accounts:
            server.accounts[account.domain] = Account(
                domain=account.domain,
                name=account.name or account.domain,
                virtual_accounts={
                    va.name: VirtualAccount(
                        name=va.name,
                        description=va.description,
                        default=va.default,
                        pools={
                            n: LicensePool(p.quantity, p.expires) for n, p in va.licenses.items()
                        },
                    )
                    for va in account.virtual_accounts
                },
            )
        return server

    # --- randomness -------------------------------------------------------------------------

    def _opaque(self, size: int) -> str:
        return base64.urlsafe_b64encode(self.rng.randbytes(size)).decode().rstrip("=")

    def _uuid(self) -> str:
        return str(uuid_module.UUID(bytes=self.rng.randbytes(16), version=4))

    # --- the clock --------------------------------------------------------------------------

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward, running every sync that falls due on the way, in order.

        A sync changes only its own cluster's registration and product instance, never whether
        a cluster is in evaluation or what it uses, so evaluation time is spent in one step and
        the syncs run from a heap: a month of a thousand clusters costs milliseconds.
        """
        if delta < timedelta(0):
            raise ValueError("the simulator clock only moves forward")
        target = self.now + delta
        for cluster in self.clusters.values():
            if cluster.in_evaluation and cluster.in_use:
                cluster.evaluation_left = max(timedelta(0), cluster.evaluation_left - delta)
        due = [
            (c.registration.next_sync, c.uuid)
            for c in self.clusters.values()
            if c.registration is not None
            and c.registration.next_sync is not None
            and c.registration.next_sync <= target
        ]
        heapq.heapify(due)
        while due:
            moment, uuid = heapq.heappop(due)
            self.now = moment
            cluster = self.clusters[uuid]
            self._sync(cluster)
            following = cluster.registration.next_sync if cluster.registration else None
            if following is not None and following <= target:
                heapq.heappush(due, (following, uuid))
        self.now = target

    # --- OAuth ------------------------------------------------------------------------------

    def issue_access_token(
        self, server: LicensingServer, client_id: str, secret: str
    ) -> AccessToken:
        client = server.clients.get(client_id)
        if client is None or client.client_secret != secret:
            raise CssmError(401, choices.TEXT_INVALID_CLIENT)
        token = AccessToken(
            value=self._opaque(choices.ACCESS_TOKEN_BYTES),
            client=client,
            server=server,
            expires_at=self.now + choices.ACCESS_TOKEN_LIFETIME,
        )
        self.access_tokens[token.value] = token
        self._forget_expired_access_tokens()
        return token

    def _forget_expired_access_tokens(self) -> None:
        if len(self.access_tokens) > 10_000:
            for value in [v for v, t in self.access_tokens.items() if t.expires_at <= self.now]:
                del self.access_tokens[value]

    def authenticate(self, server: LicensingServer, bearer: str | None) -> ApiClient:
        """The client behind a bearer token; 401 ``invalid_token`` or 403 without API access."""
        token = self.access_tokens.get(bearer or "")
        if token is None or token.server is not server or self.now >= token.expires_at:
            raise CssmError(401, choices.TEXT_INVALID_TOKEN)
        if not token.client.api_access:
            raise CssmError(403, choices.TEXT_NO_API_ACCESS)
        return token.client

    # --- registration tokens ----------------------------------------------------------------

    def create_token(
        self,
        virtual_account: VirtualAccount,
        *,
        description: str,
        expires_after_days: int,
        export_controlled: str,
        max_uses: int | None,
        created_by: str,
    ) -> RegistrationToken:
        token = RegistrationToken(
            value=self._opaque(choices.REGISTRATION_TOKEN_BYTES),
            description=description,
            created_by=created_by,
            created_at=self.now,
            expires_at=self.now + timedelta(days=expires_after_days),
            export_controlled=export_controlled,
            max_uses=max_uses,
        )
        virtual_account.tokens[token.value] = token
        self.secrets.add(token.value)
        return token

    def _find_token(
        self, server: LicensingServer, value: str
    ) -> tuple[Account, VirtualAccount, RegistrationToken] | None:
        for account, virtual_account in server.virtual_accounts():
            token = virtual_account.tokens.get(value)
            if token is not None:
                return account, virtual_account, token
        return None

    # --- product instances ------------------------------------------------------------------

    def instances(self, uuid: str) -> list[tuple[LicensingServer, VirtualAccount]]:
        """Where a product instance with this UUID is known, on every licensing server."""
        return [
            (server, virtual_account)
            for server in (self.cloud, *self.on_prem.values())
            for _, virtual_account in server.virtual_accounts()
            if uuid in virtual_account.instances
        ]

    def remove_instance(self, virtual_account: VirtualAccount, key: str) -> None:
        virtual_account.instances.pop(key, None)
        virtual_account.invalidate()

    def find_instance(
        self, virtual_account: VirtualAccount, sudi: dict[str, object]
    ) -> ProductInstance:
        wanted_uuid = str(sudi.get("uuid") or "").lower()
        wanted_serial = str(sudi.get("udiSerialNumber") or "")
        for instance in virtual_account.instances.values():
            if (wanted_uuid and instance.uuid == wanted_uuid) or (
                wanted_serial and instance.serial == wanted_serial
            ):
                return instance
        raise CssmError(404, choices.TEXT_UNKNOWN_INSTANCE)

    # --- reservations at CSSM ---------------------------------------------------------------

    def reserve(
        self,
        virtual_account: VirtualAccount,
        *,
        request_code: str,
        reservation_type: str,
        licenses: dict[str, int],
    ) -> str:
        """The authorization code for a reservation request; ``CssmError`` when refused."""
        try:
            parsed = codes.parse_request_code(request_code)
        except codes.CodeError:
            raise CssmError(400, choices.TEXT_MALFORMED_REQUEST_CODE) from None
        if reservation_type == choices.RESERVATION_UNIVERSAL:
            wanted, kind = {choices.PLR: 1}, "PLR"
        elif reservation_type == choices.RESERVATION_SPECIFIC:
            wanted, kind = {n: c for n, c in licenses.items() if c > 0}, "SPECIFIC"
            if not wanted or choices.PLR in wanted:
                raise CssmError(
                    400, "A specific reservation names at least one license to reserve."
                )
        else:
            raise CssmError(400, "reservationType must be SPECIFIC or UNIVERSAL.")

        cluster = next((c for c in self.clusters.values() if c.serial == parsed.serial), None)
        uuid = cluster.uuid if cluster is not None else ""
        key = uuid or parsed.serial
        existing = virtual_account.instances.get(key)
        if existing is not None:
            if existing.reservation == kind and existing.reserved == wanted:
                return existing.authorization_codes[-1]  # the same request again: the same code
            raise CssmError(400, choices.TEXT_RESERVATION_EXISTS)
        for name, count in wanted.items():
            if virtual_account.available(name, self.now) < count:
                raise CssmError(400, f"{choices.TEXT_SHORT_OF_LICENSES}: {name}")

        instance = ProductInstance(
            uuid=uuid,
            serial=parsed.serial,
            name=cluster.name if cluster is not None else parsed.serial,
            created=self.now,
            last_contact=self.now,
            reservation=kind,
            reserved=dict(wanted),
        )
        virtual_account.instances[key] = instance
        virtual_account.invalidate()
        return self._issue_code(instance)

    def _issue_code(self, instance: ProductInstance) -> str:
        code = codes.authorization_code(
            self.key,
            piid=self._uuid(),
            issued=self.now,
            serial=instance.serial,
            uuid=instance.uuid,
            entitlements=instance.reserved,
        )
        instance.authorization_codes.append(code)
        self.secrets.add(code)
        return code

    def update_reservation(
        self, virtual_account: VirtualAccount, sudi: dict[str, object], licenses: dict[str, int]
    ) -> str:
        instance = self.find_instance(virtual_account, sudi)
        if instance.reservation != "SPECIFIC":
            raise CssmError(400, choices.TEXT_NOT_RESERVED)
        wanted = {n: c for n, c in licenses.items() if c > 0}
        if not wanted or choices.PLR in wanted:
            raise CssmError(400, "A specific reservation names at least one license to reserve.")
        for name, count in wanted.items():
            if virtual_account.available(name, self.now) + instance.reserved.get(name, 0) < count:
                raise CssmError(400, f"{choices.TEXT_SHORT_OF_LICENSES}: {name}")
        instance.reserved = wanted
        virtual_account.invalidate()
        code = self._issue_code(instance)
        instance.pending_confirmation = codes.confirmation_code(self.key, code)
        return code

    def confirm_update(
        self, virtual_account: VirtualAccount, sudi: dict[str, object], confirmation: str
    ) -> None:
        instance = self.find_instance(virtual_account, sudi)
        if instance.pending_confirmation is None:
            raise CssmError(400, choices.TEXT_NO_PENDING_UPDATE)
        if confirmation.strip().lower() != instance.pending_confirmation:
            raise CssmError(400, choices.TEXT_CONFIRMATION_MISMATCH)
        instance.pending_confirmation = None

    def check_removal(self, instance: ProductInstance, return_code: str | None) -> None:
        if instance.reservation is None:
            return
        if not return_code:
            raise CssmError(400, choices.TEXT_RETURN_CODE_REQUIRED)
        valid = {codes.return_code(self.key, c) for c in instance.authorization_codes}
        if return_code.strip() not in valid:
            raise CssmError(400, choices.TEXT_RETURN_CODE_INVALID)

    # --- clusters ---------------------------------------------------------------------------

    def cluster(self, uuid: str) -> Cluster:
        found = self.clusters.get(uuid.lower())
        if found is None:
            raise ProductError(choices.ERR_UNKNOWN_CLUSTER)
        if not found.supported:
            raise ProductError(choices.ERR_UNSUPPORTED_VERSION, version=found.version)
        return found

    def server_for_transport(self, url: str) -> LicensingServer | None:
        parts = urlsplit(url.strip())
        host, path = (parts.hostname or "").lower(), parts.path.rstrip("/")
        if parts.scheme not in ("http", "https") or not host:
            return None
        if path.endswith(choices.CLOUD_TRANSPORT_PATH) and (
            host in choices.CLOUD_TRANSPORT_HOSTS or path != choices.CLOUD_TRANSPORT_PATH
        ):
            return self.cloud
        for name, server in self.on_prem.items():
            named_by_host = host == name.lower()
            named_by_path = f"/onprem/{name.lower()}/" in path.lower() + "/"
            if (named_by_host or named_by_path) and path.endswith(choices.ONPREM_TRANSPORT_PATHS):
                return server
        return None

    def register(self, cluster: Cluster, *, token: str, transport_url: str, force: bool) -> None:
        if cluster.reservation is not None:
            raise ProductError(choices.ERR_REGISTER_WHILE_RESERVED)
        server = None if cluster.offline else self.server_for_transport(transport_url)
        if server is None:
            raise ProductError(choices.ERR_TRANSPORT_UNKNOWN)
        if not force and (cluster.registration is not None or self.instances(cluster.uuid)):
            raise ProductError(choices.ERR_ALREADY_REGISTERED)
        found = self._find_token(server, token)
        if found is None:
            raise ProductError(choices.ERR_TOKEN_UNKNOWN)
        account, virtual_account, registration_token = found
        if registration_token.revoked:
            raise ProductError(choices.ERR_TOKEN_REVOKED)
        if self.now >= registration_token.expires_at:
            raise ProductError(choices.ERR_TOKEN_EXPIRED)
        if registration_token.exhausted:
            raise ProductError(choices.ERR_TOKEN_EXHAUSTED)

        for _, holder in self.instances(cluster.uuid):
            self.remove_instance(holder, cluster.uuid)
        registration_token.uses += 1
        virtual_account.instances[cluster.uuid] = ProductInstance(
            uuid=cluster.uuid,
            serial=cluster.serial,
            name=cluster.name,
            created=self.now,
            last_contact=self.now,
        )
        cluster.registration = Registration(
            server=server,
            account=account,
            virtual_account=virtual_account,
            transport_url=transport_url,
            registered_at=self.now,
            identity_renewed_at=self.now,
        )
        self._sync(cluster)

    def _sync(self, cluster: Cluster) -> bool:
        """One exchange of the cluster with its licensing server; False when it failed."""
        registration = cluster.registration
        assert registration is not None
        registration.next_sync = self.now + choices.CLUSTER_SYNC_INTERVAL
        instance = registration.virtual_account.instances.get(cluster.uuid)
        if cluster.offline:
            registration.failure = "the licensing server could not be reached"
            return False
        if instance is None or registration.account.domain not in registration.server.accounts:
            registration.failed = True
            registration.failure = (
                "the licensing server no longer knows this product instance; register again"
            )
            return False
        usage = cluster.usage()
        if usage != instance.usage:
            instance.usage = usage
            registration.virtual_account.invalidate()
        instance.last_contact = self.now
        if self.now >= registration.identity_renewed_at + choices.REGISTRATION_RENEWAL:
            registration.identity_renewed_at = self.now
        out_of_compliance = registration.virtual_account.out_of_compliance(self.now)
        registration.compliant = not any(
            count and name in out_of_compliance for name, count in instance.usage.items()
        )
        registration.last_sync = self.now
        registration.failure = None
        registration.failed = False
        return True

    def renew(self, cluster: Cluster) -> None:
        if cluster.registration is None:
            raise ProductError(choices.ERR_NOT_REGISTERED)
        if not self._sync(cluster) and cluster.offline:
            raise ProductError(choices.ERR_SERVER_UNREACHABLE)

    def deregister(self, cluster: Cluster) -> None:
        if cluster.reservation is not None:
            raise ProductError(choices.ERR_DEREGISTER_WHILE_RESERVED)
        registration = cluster.registration
        if registration is not None and not cluster.offline:
            self.remove_instance(registration.virtual_account, cluster.uuid)
        cluster.registration = None

    def request_reservation(self, cluster: Cluster, kind: Literal["Specific", "PLR"]) -> None:
        if cluster.registration is not None:
            raise ProductError(choices.ERR_RESERVE_WHILE_REGISTERED)
        reservation = cluster.reservation
        if reservation is not None:
            if reservation.installed_code is None and reservation.kind == kind:
                return
            raise ProductError(choices.ERR_RESERVATION_EXISTS)
        cluster.reservation = Reservation(
            kind=kind, request_code=codes.request_code(cluster.uuid, self.rng)
        )

    def _parse_for(self, cluster: Cluster, code: str) -> codes.AuthorizationCode:
        reservation = cluster.reservation
        assert reservation is not None
        try:
            parsed = codes.parse_authorization_code(self.key, code)
        except codes.CodeError as error:
            raise ProductError(choices.ERR_INVALID_AUTHORIZATION_CODE, reason=str(error)) from None
        if (
            parsed.serial != cluster.serial
            or parsed.uuid not in ("", cluster.uuid)
            or parsed.is_plr != (reservation.kind == "PLR")
        ):
            raise ProductError(choices.ERR_RESERVATION_MISMATCH)
        return parsed

    def install_authorization(self, cluster: Cluster, code: str) -> str | None:
        """Install a code; the confirmation code when it replaced an installed one."""
        reservation = cluster.reservation
        if reservation is None:
            raise ProductError(choices.ERR_NOTHING_REQUESTED)
        parsed = self._parse_for(cluster, code)
        if reservation.installed_code is not None and reservation.installed_code == code.strip():
            raise ProductError(choices.ERR_ALREADY_INSTALLED)
        replaced = reservation.installed_code is not None
        reservation.installed_code = code.strip()
        reservation.reserved = dict(parsed.entitlements)
        self.secrets.add(code.strip())
        if not replaced:
            return None
        confirmation = codes.confirmation_code(self.key, code)
        self.secrets.add(confirmation)
        return confirmation

    def cancel_reservation(self, cluster: Cluster, code: str | None) -> str | None:
        """Cancel a requested reservation; the return code when CSSM had already made it."""
        reservation = cluster.reservation
        if reservation is None:
            raise ProductError(choices.ERR_NOTHING_REQUESTED)
        if reservation.installed_code is not None:
            raise ProductError(choices.ERR_CANCEL_INSTALLED)
        returned = None
        if code:
            self._parse_for(cluster, code)
            returned = codes.return_code(self.key, code)
            self.secrets.add(returned)
        cluster.reservation = None
        return returned

    def return_reservation(self, cluster: Cluster) -> str:
        reservation = cluster.reservation
        if reservation is None or reservation.installed_code is None:
            raise ProductError(choices.ERR_NOTHING_INSTALLED)
        returned = codes.return_code(self.key, reservation.installed_code)
        self.secrets.add(returned)
        cluster.reservation = None
        return returned

    def reservation_account(self, cluster: Cluster) -> tuple[str | None, str | None]:
        """Where a reservation was made, as CSSM knows it (the cluster learns it from the code)."""
        for server in (self.cloud, *self.on_prem.values()):
            for account, virtual_account in server.virtual_accounts():
                if cluster.uuid in virtual_account.instances:
                    return account.domain, virtual_account.name
        return None, None


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
