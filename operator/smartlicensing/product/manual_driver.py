"""The ``manual`` driver: a person does the cluster side in the Secure Workload UI.

It cannot act on the cluster, so every step answers the instruction a person follows, in the
words of Secure Workload's own procedure (Manage > Service Settings > Licenses, License Usage
Information page, the button names), naming the Secret keys to copy codes from and into. It never
puts a secret value in an instruction: only where to find it.

Its status comes from CSSM: a product instance whose UUID is the cluster's in the virtual account
means the cluster is registered (with a reservation when CSSM says so); no instance means not
registered. The authorization state and usage are not visible from CSSM and stay ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from smartlicensing.product.errors import ManualCodeSecretMissing
from smartlicensing.product.port import (
    AuthorizationState,
    ClusterStatus,
    Observer,
    RegistrationMode,
    RegistrationState,
    Reservation,
    ReservationKind,
    ReservationState,
    SecretInput,
    SecretKeyRef,
    StepResult,
)

LICENSES_PAGE = "In Secure Workload, open Manage > Service Settings > Licenses"
USAGE_PAGE = "In Secure Workload, on the License Usage Information page"


class ObservedInstance(Protocol):
    """What CSSM tells about a cluster's product instance (``cssm.models.ProductInstance``)."""

    @property
    def license_reservation(self) -> str | None: ...

    @property
    def last_contact(self) -> datetime | None: ...


class InstanceDirectory(Protocol):
    """Looks a cluster up among the product instances of the virtual account (the CSSM client)."""

    async def find_product_instance(self, cluster_uuid: str) -> ObservedInstance | None: ...


@dataclass(frozen=True)
class ManualCodeSecrets:
    """Where the person puts the codes the Secure Workload UI shows (``spec.manual``)."""

    request_code: SecretKeyRef | None = None
    confirmation_code: SecretKeyRef | None = None
    return_code: SecretKeyRef | None = None


class ManualDriver:
    """One cluster driven by a person; ``instances`` is how its state is seen from CSSM."""

    def __init__(
        self,
        *,
        cluster_uuid: str,
        instances: InstanceDirectory,
        mode: RegistrationMode = RegistrationMode.CONNECTED,
        codes: ManualCodeSecrets | None = None,
    ) -> None:
        self.cluster_uuid = cluster_uuid
        self._instances = instances
        self._mode = mode
        self._codes = codes or ManualCodeSecrets()

    async def aclose(self) -> None:
        """Nothing to release: the CSSM client belongs to the SmartAccount."""

    async def status(self) -> ClusterStatus:
        instance = await self._instances.find_product_instance(self.cluster_uuid)
        if instance is None:
            return ClusterStatus(
                uuid=self.cluster_uuid,
                observed_by=Observer.CSSM,
                registration=RegistrationState.UNREGISTERED,
            )
        reserved = instance.license_reservation is not None
        kind = None
        if reserved:
            kind = (
                ReservationKind.PLR
                if instance.license_reservation == "PLR"
                else ReservationKind.SPECIFIC
            )
        return ClusterStatus(
            uuid=self.cluster_uuid,
            observed_by=Observer.CSSM,
            registration=RegistrationState.REGISTERED,
            mode=RegistrationMode.RESERVATION if reserved else self._mode,
            authorization=AuthorizationState.AUTHORIZED_RESERVATION if reserved else None,
            last_sync=instance.last_contact,
            reservation=Reservation(
                state=ReservationState.INSTALLED if reserved else ReservationState.NONE, kind=kind
            ),
        )

    async def register(
        self, token: SecretInput, transport_url: str, *, force: bool = False
    ) -> StepResult:
        steps = [
            f"{LICENSES_PAGE}, click Register",
            f"on the Smart Licenses tab enter the token from {token.source}",
        ]
        if self._mode is RegistrationMode.ON_PREM:
            steps.append(f"enter Smart Transport Registration URL {transport_url}")
        if force:
            steps.append("enable Force Register")
        steps.append("click Register")
        return self._instruction(steps)

    async def deregister(self) -> StepResult:
        return self._instruction([f"{USAGE_PAGE}, click Deregister", "click Yes to confirm"])

    async def renew_authorization(self) -> StepResult:
        return self._instruction([f"{USAGE_PAGE}, click Renew Operations > Renew Authorization"])

    async def request_reservation(self, kind: ReservationKind) -> StepResult:
        target = self._require(self._codes.request_code, "spec.manual.requestCodeSecretRef")
        plr = " (PLR)" if kind is ReservationKind.PLR else ""
        return self._instruction(
            [
                f"{LICENSES_PAGE}, click Register",
                f"select the License Reservation tab{plr} and click Yes to confirm",
                f"copy the generated request code into {target}",
            ]
        )

    async def install_authorization(self, code: SecretInput, *, update: bool = False) -> StepResult:
        if not update:
            return self._instruction(
                [
                    f"{USAGE_PAGE}, click Continue Reservation",
                    f"enter the authorization code from {code.source} and click Install",
                    "then set spec.manual.installed: true",
                ]
            )
        target = self._require(
            self._codes.confirmation_code, "spec.manual.confirmationCodeSecretRef"
        )
        return self._instruction(
            [
                f"{USAGE_PAGE}, click Update Reservation",
                f"enter the authorization code from {code.source}",
                "click Generate Confirmation Code",
                f"copy the confirmation code into {target} (it cannot be recovered later)",
                "click Next, then Finish",
            ]
        )

    async def cancel_reservation(self, authorization_code: SecretInput | None) -> StepResult:
        if authorization_code is None:
            return self._instruction(
                [
                    f"{USAGE_PAGE}, click Cancel Reservation",
                    "choose the I do not have a license in CSSM tab and confirm",
                ]
            )
        target = self._require(self._codes.return_code, "spec.manual.returnCodeSecretRef")
        return self._instruction(
            [
                f"{USAGE_PAGE}, click Cancel Reservation",
                f"enter the authorization code from {authorization_code.source}",
                f"copy the return code into {target} (it cannot be recovered later)",
            ]
        )

    async def return_reservation(self) -> StepResult:
        target = self._require(self._codes.return_code, "spec.manual.returnCodeSecretRef")
        return self._instruction(
            [
                f"{USAGE_PAGE}, click Deregister",
                "click Generate return code",
                f"copy the return code into {target} (it cannot be recovered later)",
                "click Next, then Finish",
            ]
        )

    @staticmethod
    def _instruction(steps: list[str]) -> StepResult:
        return StepResult(instruction=", ".join(steps) + ".")

    @staticmethod
    def _require(ref: SecretKeyRef | None, field: str) -> SecretKeyRef:
        if ref is None:
            raise ManualCodeSecretMissing(
                f"{field} is required with the Manual driver: it names the Secret key where the "
                "code shown in the Secure Workload UI is to be put"
            )
        return ref
