"""The ``LicenseReservation`` kind: Specific License Reservation or PLR for an air-gapped cluster.

With the Manual driver a person carries codes between the Secure Workload UI and Kubernetes:
the request code, confirmation code and return code arrive as Secret references under
``manual``; the authorization code the operator obtains from CSSM is handed back in a Secret
named in status. Codes themselves never appear in spec or status, except the request code,
which identifies the cluster and grants nothing.
"""

from __future__ import annotations

import enum

from pydantic import ConfigDict, Field

from smartlicensing.api.meta import (
    ClusterDriver,
    ClusterUUID,
    LocalObjectReference,
    ReconciledStatus,
    SecretKeyReference,
    SpecModel,
    StatusModel,
    cel,
)


class ReservationType(enum.StrEnum):
    """Specific License Reservation (counted licenses) or Permanent License Reservation."""

    SPECIFIC = "Specific"
    PLR = "PLR"


class ReservationCluster(SpecModel):
    """The air-gapped Secure Workload cluster the licenses are reserved for."""

    uuid: ClusterUUID = Field(
        description="The cluster's UUID (lowercase, 8-4-4-4-12), as the Secure Workload UI shows."
    )
    driver: ClusterDriver = Field(description="How the operator reaches the cluster.")


class LicenseCounts(SpecModel):
    """How many licenses of each Secure Workload license type."""

    workload_protection: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Tetration Workload Protection licenses."
    )
    endpoint_visibility: int | None = Field(
        default=None, ge=0, le=1_000_000, description="Tetration Endpoint Visibility licenses."
    )


class ManualCodes(SpecModel):
    """Codes a person copies out of the Secure Workload UI (Manual driver only)."""

    request_code_secret_ref: SecretKeyReference | None = Field(
        default=None, description="Secret key holding the request code the cluster generated."
    )
    installed: bool = Field(
        default=False,
        description="Set to true after entering the authorization code and clicking Install.",
    )
    confirmation_code_secret_ref: SecretKeyReference | None = Field(
        default=None,
        description="Secret key holding the confirmation code shown after an update.",
    )
    return_code_secret_ref: SecretKeyReference | None = Field(
        default=None, description="Secret key holding the return code shown on return."
    )


class ReservationDeletionPolicy(enum.StrEnum):
    """What deleting the object does to the reservation."""

    RETURN = "Return"
    ORPHAN = "Orphan"


_SOME_LICENSE = (
    "has(self.licenses) && ("
    "(has(self.licenses.workloadProtection) && self.licenses.workloadProtection > 0) || "
    "(has(self.licenses.endpointVisibility) && self.licenses.endpointVisibility > 0))"
)


class LicenseReservationSpec(SpecModel):
    """Licenses reserved for one air-gapped cluster."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            {
                "rule": f"self.type != 'Specific' || ({_SOME_LICENSE})",
                "message": "type Specific needs licenses with workloadProtection or "
                "endpointVisibility above 0",
            },
            {
                "rule": "self.type != 'PLR' || !has(self.licenses)",
                "message": "type PLR reserves everything; remove licenses",
            },
            {
                "rule": "!has(self.manual) || self.cluster.driver.type == 'Manual'",
                "message": "manual is only for the Manual driver",
            },
        )
    )

    account_ref: LocalObjectReference = Field(
        description="The SmartAccount, in this namespace, whose virtual account reserves."
    )
    cluster: ReservationCluster = Field(description="The cluster the licenses are reserved for.")
    type: ReservationType = Field(description="Specific (counted licenses) or PLR (all).")
    licenses: LicenseCounts | None = Field(
        default=None, description="Licenses to reserve (Specific only; at least one above 0)."
    )
    manual: ManualCodes | None = Field(
        default=None, description="Codes from the Secure Workload UI (Manual driver only)."
    )
    deletion_policy: ReservationDeletionPolicy = Field(
        default=ReservationDeletionPolicy.RETURN,
        description="Return: return the licenses on delete. Orphan: keep them reserved.",
    )


class ReservationPhase(enum.StrEnum):
    """Where the reservation stands, in the order the workflow passes through."""

    PENDING = "Pending"
    AWAITING_REQUEST_CODE = "AwaitingRequestCode"
    RESERVING = "Reserving"
    AWAITING_INSTALLATION = "AwaitingInstallation"
    RESERVED = "Reserved"
    UPDATING = "Updating"
    AWAITING_CONFIRMATION = "AwaitingConfirmation"
    RETURNING = "Returning"
    RETURNED = "Returned"
    FAILED = "Failed"


class ReservedCounts(StatusModel):
    """Licenses reserved at CSSM for the cluster."""

    workload_protection: int | None = Field(
        default=None, ge=0, description="Tetration Workload Protection licenses reserved."
    )
    endpoint_visibility: int | None = Field(
        default=None, ge=0, description="Tetration Endpoint Visibility licenses reserved."
    )


class LicenseReservationStatus(ReconciledStatus):
    """What the operator observed of the reservation."""

    phase: ReservationPhase | None = Field(default=None, description="Workflow phase.")
    request_code: str | None = Field(
        default=None, max_length=1024, description="The cluster's request code."
    )
    authorization_code_secret_ref: SecretKeyReference | None = Field(
        default=None, description="Secret key holding the authorization code to install."
    )
    confirmation_code_secret_ref: SecretKeyReference | None = Field(
        default=None, description="Secret key where the confirmation code is kept."
    )
    return_code_secret_ref: SecretKeyReference | None = Field(
        default=None, description="Secret key where the return code is kept."
    )
    reserved: ReservedCounts | None = Field(default=None, description="Licenses reserved at CSSM.")
