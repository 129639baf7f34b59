"""The ``SmartLicenseRegistration`` kind: one Secure Workload cluster, registered.

The token comes from exactly one place: issued by the operator at CSSM (``issue``) or read from
a Secret the platform team manages (``secretRef``). Status names the token's Secret and expiry,
never the token itself.
"""

from __future__ import annotations

import enum

from pydantic import AwareDatetime, ConfigDict, Field

from smartlicensing.api.durations import Duration, SyncInterval
from smartlicensing.api.meta import (
    ClusterDriver,
    ClusterUUID,
    LocalObjectReference,
    ReconciledStatus,
    SpecModel,
    StatusModel,
    TokenSecretReference,
    Url,
    cel,
)


class ClusterRole(enum.StrEnum):
    """The cluster's part in a federation, which decides how it is licensed."""

    STANDALONE = "Standalone"
    FEDERATION_LEADER = "FederationLeader"
    FEDERATION_FOLLOWER = "FederationFollower"
    STANDBY = "Standby"


class Cluster(SpecModel):
    """The Secure Workload cluster to register."""

    uuid: ClusterUUID = Field(
        description="The cluster's UUID (lowercase, 8-4-4-4-12), as the Secure Workload UI shows."
    )
    role: ClusterRole = Field(
        default=ClusterRole.STANDALONE,
        description="Standalone, FederationLeader, FederationFollower or Standby.",
    )
    driver: ClusterDriver = Field(description="How the operator reaches the cluster.")


class ExportControl(enum.StrEnum):
    """Whether an issued token may carry export-controlled functionality."""

    ALLOWED = "Allowed"
    NOT_ALLOWED = "NotAllowed"


class TokenIssue(SpecModel):
    """A registration token the operator issues at CSSM."""

    expires_after_days: int = Field(
        default=30, ge=1, le=365, description="Days until the issued token expires (1-365)."
    )
    export_controlled: ExportControl = Field(
        default=ExportControl.ALLOWED,
        description="Allowed or NotAllowed: whether export-controlled functionality is allowed.",
    )
    description: str | None = Field(
        default=None, max_length=100, description="Description stored with the token at CSSM."
    )


class TokenSource(SpecModel):
    """Where the registration token comes from: exactly one of issue and secretRef."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            {
                "rule": "has(self.issue) != has(self.secretRef)",
                "message": "token needs exactly one of issue and secretRef",
            }
        )
    )

    issue: TokenIssue | None = Field(
        default=None, description="Issue a token at CSSM for this registration."
    )
    secret_ref: TokenSecretReference | None = Field(
        default=None, description="Use the token stored in this Secret key."
    )


class RegistrationDeletionPolicy(enum.StrEnum):
    """What deleting the object does to the registration."""

    DEREGISTER = "Deregister"
    ORPHAN = "Orphan"


class SmartLicenseRegistrationSpec(SpecModel):
    """One Secure Workload cluster, registered with CSSM or Smart Software Manager On-Prem."""

    account_ref: LocalObjectReference = Field(
        description="The SmartAccount, in this namespace, to register with."
    )
    cluster: Cluster = Field(description="The cluster to register.")
    token: TokenSource = Field(description="Where the registration token comes from.")
    transport_url: Url | None = Field(
        default=None,
        alias="transportURL",
        description="Smart Transport URL the cluster registers to. Default: derived from the "
        "account's server.",
    )
    force_register: bool = Field(
        default=False,
        description="Register even if the cluster is already registered elsewhere.",
    )
    deletion_policy: RegistrationDeletionPolicy = Field(
        default=RegistrationDeletionPolicy.DEREGISTER,
        description="Deregister: remove the product instance on delete. Orphan: leave it.",
    )
    suspend: bool = Field(
        default=False,
        description="Stop changing anything outside Kubernetes; status is still observed.",
    )
    sync_interval: SyncInterval = Field(
        default="24h",
        json_schema_extra=cel(
            {"rule": "duration(self) >= duration('1m')", "message": "syncInterval is at least 1m"}
        ),
        description="How often registration and authorization are renewed and read, as a "
        "duration (24h, 90m); at least 1m.",
    )


class RegistrationState(enum.StrEnum):
    """Where the cluster's registration stands."""

    NOT_REGISTERED = "NotRegistered"
    AWAITING_USER = "AwaitingUser"
    REGISTERING = "Registering"
    REGISTERED = "Registered"
    FAILED = "Failed"
    DEREGISTERING = "Deregistering"
    STANDBY = "Standby"


class AuthorizationState(enum.StrEnum):
    """Where the cluster's license authorization stands."""

    NOT_AUTHORIZED = "NotAuthorized"
    EVALUATION = "Evaluation"
    EVALUATION_EXPIRED = "EvaluationExpired"
    AUTHORIZED = "Authorized"
    AUTHORIZED_RESERVATION = "AuthorizedReservation"
    OUT_OF_COMPLIANCE = "OutOfCompliance"
    AUTHORIZATION_EXPIRED = "AuthorizationExpired"


class Registration(StatusModel):
    """The cluster's registration as last observed."""

    state: RegistrationState = Field(description="Registration state.")
    registered_at: AwareDatetime | None = Field(default=None, description="When it was registered.")
    renew_at: AwareDatetime | None = Field(
        default=None, description="When the registration (ID certificate) renews."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the registration expires."
    )


class Authorization(StatusModel):
    """The cluster's authorization as last observed."""

    state: AuthorizationState = Field(description="Authorization state.")
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the current authorization expires."
    )
    evaluation_remaining: Duration | None = Field(
        default=None, description="Evaluation time left, as a duration; only in Evaluation."
    )


class LicenseUsage(StatusModel):
    """Licenses this cluster consumes."""

    license: str = Field(description="License name, e.g. Tetration Workload Protection.")
    in_use: int = Field(ge=0, description="Licenses in use by this cluster.")


class TokenStatus(StatusModel):
    """Where the registration token is kept; never the token itself."""

    secret_ref: TokenSecretReference | None = Field(
        default=None, description="Secret key that holds the token."
    )
    expires_at: AwareDatetime | None = Field(default=None, description="When the token expires.")
    issued: bool = Field(
        default=False, description="True if the operator issued the token at CSSM."
    )


class SmartLicenseRegistrationStatus(ReconciledStatus):
    """What the operator observed of the registration."""

    registration: Registration | None = Field(
        default=None, description="Registration state and its dates."
    )
    authorization: Authorization | None = Field(
        default=None, description="Authorization state and its dates."
    )
    usage: list[LicenseUsage] = Field(
        default_factory=list, description="License usage of this cluster."
    )
    token: TokenStatus | None = Field(default=None, description="The registration token's home.")
    last_sync_time: AwareDatetime | None = Field(
        default=None, description="When registration and authorization were last renewed/read."
    )
    next_sync_time: AwareDatetime | None = Field(
        default=None, description="When the next sync is due."
    )
    scheduled_sync_interval: Duration | None = Field(
        default=None,
        description="The syncInterval nextSyncTime was computed with; a different spec value "
        "reschedules.",
    )
