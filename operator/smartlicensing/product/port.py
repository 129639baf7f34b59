"""The port between the handlers and a Secure Workload cluster, and what crosses it.

Both drivers answer every step with a :class:`StepResult`. The ``api`` driver acts and returns
the cluster's status; the ``manual`` driver cannot act, so it returns the exact ``instruction``
a person follows in the Secure Workload UI and no status. Handlers therefore treat both alike:
a result with an instruction means "waiting for a person" (an ``AwaitingUser`` condition whose
message is the instruction), one without means "done, here is the cluster now". Progress of a
manual step is observed later through :meth:`ProductDriver.status`, which the manual driver
answers from CSSM.

Codes a person or the cluster hands over (tokens, authorization / confirmation / return codes)
travel as :class:`SecretInput` / ``SecretStr``: masked in every repr, and, for the manual
driver, named by the Secret that holds them so an instruction can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from pydantic import SecretStr


class RegistrationState(StrEnum):
    UNREGISTERED = "Unregistered"
    REGISTERED = "Registered"
    FAILED = "Failed"


class RegistrationMode(StrEnum):
    CONNECTED = "Connected"
    ON_PREM = "OnPrem"
    RESERVATION = "Reservation"


class AuthorizationState(StrEnum):
    EVALUATION = "Evaluation"
    EVALUATION_EXPIRED = "EvaluationExpired"
    AUTHORIZED = "Authorized"
    AUTHORIZED_RESERVATION = "AuthorizedReservation"
    OUT_OF_COMPLIANCE = "OutOfCompliance"
    AUTHORIZATION_EXPIRED = "AuthorizationExpired"


class ReservationState(StrEnum):
    NONE = "None"
    REQUESTED = "Requested"
    INSTALLED = "Installed"


class ReservationKind(StrEnum):
    SPECIFIC = "Specific"
    PLR = "PLR"


class ClusterRole(StrEnum):
    STANDALONE = "Standalone"
    FEDERATION_LEADER = "FederationLeader"
    FEDERATION_FOLLOWER = "FederationFollower"
    STANDBY = "Standby"


class Observer(StrEnum):
    """Who reported a status: the cluster itself, or CSSM on the cluster's behalf."""

    CLUSTER = "Cluster"
    CSSM = "CSSM"


@dataclass(frozen=True)
class LicenseUsage:
    license: str
    in_use: int


@dataclass(frozen=True)
class Reservation:
    state: ReservationState = ReservationState.NONE
    kind: ReservationKind | None = None
    request_code: str | None = None
    reserved: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterStatus:
    """The licensing state of one cluster. Fields the observer cannot know are ``None``."""

    uuid: str
    observed_by: Observer
    registration: RegistrationState
    mode: RegistrationMode | None = None
    authorization: AuthorizationState | None = None
    evaluation_remaining: timedelta | None = None
    usage: tuple[LicenseUsage, ...] = ()
    version: str | None = None
    role: ClusterRole | None = None
    name: str | None = None
    smart_account: str | None = None
    virtual_account: str | None = None
    transport_url: str | None = None
    registered_at: datetime | None = None
    renew_at: datetime | None = None
    expires_at: datetime | None = None
    authorization_expires_at: datetime | None = None
    failure_message: str | None = None
    last_sync: datetime | None = None
    next_sync: datetime | None = None
    reservation: Reservation = Reservation()


@dataclass(frozen=True)
class SecretKeyRef:
    """One key of one Secret."""

    namespace: str
    name: str
    key: str

    def __str__(self) -> str:
        return f"Secret {self.namespace}/{self.name} key {self.key}"


@dataclass(frozen=True)
class SecretInput:
    """A secret value and the Secret key it was read from (for instructions)."""

    value: SecretStr
    source: SecretKeyRef


@dataclass(frozen=True)
class StepResult:
    """The outcome of one driver step.

    ``instruction`` set: nothing happened yet, a person must do what it says. Otherwise
    ``status`` is the cluster after the step. ``confirmation_code`` / ``return_code`` are set by
    the steps that produce them; the cluster hands them out once, so store them before anything
    else.
    """

    status: ClusterStatus | None = None
    instruction: str | None = None
    confirmation_code: SecretStr | None = None
    return_code: SecretStr | None = None

    @property
    def awaiting_user(self) -> bool:
        return self.instruction is not None


class ProductDriver(Protocol):
    """What the handlers may ask of a cluster."""

    cluster_uuid: str

    async def status(self) -> ClusterStatus: ...

    async def register(
        self, token: SecretInput, transport_url: str, *, force: bool = False
    ) -> StepResult: ...

    async def deregister(self) -> StepResult: ...

    async def renew_authorization(self) -> StepResult: ...

    async def request_reservation(self, kind: ReservationKind) -> StepResult: ...

    async def install_authorization(
        self, code: SecretInput, *, update: bool = False
    ) -> StepResult: ...

    async def cancel_reservation(self, authorization_code: SecretInput | None) -> StepResult: ...

    async def return_reservation(self) -> StepResult: ...

    async def aclose(self) -> None: ...
