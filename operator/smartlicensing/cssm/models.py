"""Typed answers of CSSM, read from its camelCase JSON.

Only the fields the operator uses are declared; the rest of an answer is ignored so that CSSM
adding fields never breaks a sync. Token values and authorization codes are ``SecretStr``: their
``repr`` and ``str`` show ``**********``, so a model can be logged or put in an exception safely.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class _Answer(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")


class AccountRole(_Answer):
    role: str
    virtual_account: str | None = Field(default=None, alias="virtualAccount")


class Account(_Answer):
    name: str = Field(alias="accountName")
    domain: str = Field(alias="accountDomain")
    status: str = Field(default="", alias="accountStatus")
    type: str = Field(default="", alias="accountType")
    roles: tuple[AccountRole, ...] = ()


class VirtualAccount(_Answer):
    name: str
    description: str = ""
    is_default: bool = Field(default=False, alias="isDefault")
    commerce_access_level: str = Field(default="", alias="commerceAccessLevel")

    @field_validator("is_default", mode="before")
    @classmethod
    def _yes_or_true(cls, value: object) -> bool:
        # CSSM sends the flag as a string: "true"/"false", sometimes "yes"/"no".
        if isinstance(value, str):
            return value.strip().lower() in ("true", "yes")
        return bool(value)


class TokenStatus(StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


class RegistrationToken(_Answer):
    """A registration (ID) token of the virtual account. ``value`` is masked in repr."""

    value: SecretStr = Field(alias="token")
    description: str = ""
    expiration_date: datetime | None = Field(default=None, alias="expirationDate")
    export_controlled: str = Field(default="", alias="exportControlled")
    created_by: str = Field(default="", alias="createdBy")
    uses: int = 0
    max_uses: int | None = Field(default=None, alias="maxUses")
    status: TokenStatus = TokenStatus.ACTIVE


class TokenRevocation(_Answer):
    """The outcome of revoking one token; ``status`` is ``REVOKED`` or ``ERROR``."""

    token: SecretStr
    status: str
    status_message: str = Field(default="", alias="statusMessage")

    @property
    def revoked(self) -> bool:
        return self.status == "REVOKED"


class License(_Answer):
    name: str = Field(alias="license")
    virtual_account: str = Field(default="", alias="virtualAccount")
    quantity: int = 0
    in_use: int = Field(default=0, alias="inUse")
    available: int = 0
    reserved: int = 0
    pending_quantity: int = Field(default=0, alias="pendingQuantity")
    billing_type: str = Field(default="", alias="billingType")
    status: str = ""

    @property
    def compliant(self) -> bool:
        return self.status != "Out Of Compliance"


class Sudi(_Answer):
    udi_pid: str = Field(default="", alias="udiPid")
    udi_serial_number: str = Field(default="", alias="udiSerialNumber")
    uuid: str = ""


class ProductInstance(_Answer):
    """A product instance (device) of the virtual account; a registered cluster is one."""

    instance_name: str = Field(default="", alias="instanceName")
    product_tag_name: str = Field(default="", alias="productTagName")
    product_type: str = Field(default="", alias="productType")
    sudi: Sudi = Sudi()
    last_contact: datetime | None = Field(default=None, alias="lastContactDate")
    license_reservation: str | None = Field(default=None, alias="licenseReservation")
    registration_status: str = Field(default="", alias="registrationStatus")

    @property
    def cluster_uuid(self) -> str:
        return self.sudi.uuid


class ReservationType(StrEnum):
    """``reservationType`` of ``reserve-licenses``: Specific License Reservation, or PLR."""

    SPECIFIC = "SPECIFIC"
    UNIVERSAL = "UNIVERSAL"


class LicenseRequest(_Answer):
    """One line of a reservation: how many of which entitlement."""

    entitlement_tag: str
    quantity: int = Field(ge=1)


class AuthorizationCode(_Answer):
    """The authorization code CSSM issued for a request code (specificPLR XML), masked."""

    code: SecretStr = Field(alias="authorizationCode")
    status_message: str = Field(default="", alias="statusMessage")
