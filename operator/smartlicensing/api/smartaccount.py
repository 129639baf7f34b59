"""The ``SmartAccount`` kind: where CSSM is, which virtual account, and with which credentials.

Its status carries the virtual account's license table, because the account's daily sync is the
one place that reads license usage: a thousand registrations in one virtual account cost one
usage call a day, not a thousand.
"""

from __future__ import annotations

import enum
from typing import Final

from pydantic import AwareDatetime, ConfigDict, Field

from smartlicensing.api.durations import Duration, SyncInterval
from smartlicensing.api.meta import (
    CABundleSecretReference,
    CredentialsSecretReference,
    ReconciledStatus,
    SpecModel,
    StatusModel,
    Url,
    cel,
)

#: CSSM's public API base, used when a Cloud server gives no url.
CLOUD_API_URL: Final = "https://swapi.cisco.com"
#: Cisco's OAuth2 token endpoint for CSSM API clients.
CLOUD_TOKEN_URL: Final = "https://id.cisco.com/oauth2/default/v1/token"
#: Path of the OAuth2 token endpoint on a Smart Software Manager On-Prem.
ON_PREM_TOKEN_PATH: Final = "/backend/oauth/token"


class ServerType(enum.StrEnum):
    """Which kind of Smart Software Manager the account lives in."""

    CLOUD = "Cloud"
    ON_PREM = "OnPrem"


class Server(SpecModel):
    """The Smart Software Manager to talk to."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            {
                "rule": "self.type != 'OnPrem' || has(self.url)",
                "message": "server type OnPrem needs url, the address of the On-Prem manager",
            }
        )
    )

    type: ServerType = Field(
        description="Cloud: Cisco Smart Software Manager. OnPrem: Smart Software Manager On-Prem."
    )
    url: Url | None = Field(
        default=None,
        description="API base URL. Required for OnPrem; for Cloud an optional override of "
        f"{CLOUD_API_URL}.",
    )
    token_url: Url | None = Field(
        default=None,
        alias="tokenURL",
        description=f"OAuth2 token endpoint. Default: {CLOUD_TOKEN_URL} for Cloud, "
        f"<url>{ON_PREM_TOKEN_PATH} for OnPrem.",
    )
    ca_bundle_secret_ref: CABundleSecretReference | None = Field(
        default=None,
        description="Secret key with PEM CA certificates to verify the server with, in addition "
        "to the system trust store.",
    )

    def api_url(self) -> str:
        """The API base URL, defaults applied (an OnPrem server without url is invalid spec)."""
        if self.url is not None:
            return self.url.rstrip("/")
        if self.type is ServerType.ON_PREM:
            raise ValueError("server type OnPrem needs url")
        return CLOUD_API_URL

    def token_endpoint(self) -> str:
        """The OAuth2 token endpoint, defaults applied."""
        if self.token_url is not None:
            return self.token_url
        if self.type is ServerType.CLOUD:
            return CLOUD_TOKEN_URL
        return self.api_url() + ON_PREM_TOKEN_PATH


class SmartAccountSpec(SpecModel):
    """Where CSSM is and who we are there."""

    server: Server = Field(description="The Smart Software Manager (Cloud or On-Prem).")
    smart_account: str = Field(
        min_length=1,
        max_length=253,
        pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        description="Domain of the Smart Account, e.g. acme.example.com.",
    )
    virtual_account: str = Field(
        min_length=1,
        max_length=256,
        description="Name of the virtual account that holds the licenses and product instances.",
    )
    credentials_secret_ref: CredentialsSecretReference = Field(
        description="Secret with keys client_id and client_secret of the CSSM API client."
    )
    sync_interval: SyncInterval = Field(
        default="24h",
        json_schema_extra=cel(
            {"rule": "duration(self) >= duration('1m')", "message": "syncInterval is at least 1m"}
        ),
        description="How often the license table is read, as a duration (24h, 90m); at least 1m.",
    )


class LicenseStatus(enum.StrEnum):
    """Compliance of one license line, as CSSM reports it."""

    IN_COMPLIANCE = "InCompliance"
    OUT_OF_COMPLIANCE = "OutOfCompliance"


class License(StatusModel):
    """One line of the virtual account's license table."""

    name: str = Field(description="License name, e.g. Tetration Workload Protection.")
    quantity: int = Field(ge=0, description="Licenses owned (entitled).")
    in_use: int = Field(ge=0, description="Licenses consumed by product instances.")
    available: int = Field(ge=0, description="Licenses neither in use nor reserved.")
    reserved: int = Field(default=0, ge=0, description="Licenses held by reservations.")
    status: LicenseStatus = Field(description="InCompliance or OutOfCompliance.")


class SmartAccountStatus(ReconciledStatus):
    """What the operator observed of the account."""

    licenses: list[License] = Field(
        default_factory=list, description="License table of the virtual account."
    )
    last_sync_time: AwareDatetime | None = Field(
        default=None, description="When the license table was last read successfully."
    )
    next_sync_time: AwareDatetime | None = Field(
        default=None, description="When the license table will be read next."
    )
    scheduled_sync_interval: Duration | None = Field(
        default=None,
        description="The syncInterval nextSyncTime was computed with; a different spec value "
        "reschedules.",
    )
