"""The world file: what a simulated licensing landscape contains before anything happens.

A YAML (or JSON) document lists the cloud CSSM's Smart Accounts and API clients, any number of
SSM On-Prem servers with their local accounts, and the Secure Workload clusters with their API
credentials and counts. It is validated here, with messages that name the offending field, so a
typo in a demo world fails at load time rather than as a puzzling 404 later.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from smartlicensing.product.signing import SECRET_LENGTH
from smartlicensing.testing.sim import choices


class WorldFileError(ValueError):
    """The world file does not parse or does not describe a valid world."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _unique(field: str, values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field}: {what} {value!r} appears more than once")
        seen.add(value)


class LicensePool(_Model):
    quantity: Annotated[int, Field(ge=0)]
    expires: datetime | None = None
    """After this instant the pool counts as zero: expired licenses are out of compliance.
    Without a UTC offset it is read as UTC, like ``clock.start``."""

    @field_validator("expires")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class VirtualAccountSpec(_Model):
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    default: bool = False
    licenses: dict[str, LicensePool] = {}

    @field_validator("licenses", mode="before")
    @classmethod
    def _quantities(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"quantity": v} if isinstance(v, int) else v for k, v in value.items()}
        return value

    @field_validator("licenses")
    @classmethod
    def _known(cls, value: dict[str, LicensePool]) -> dict[str, LicensePool]:
        unknown = sorted(set(value) - set(choices.LICENSE_NAMES))
        if unknown:
            raise ValueError(f"unknown license {unknown}; known: {list(choices.LICENSE_NAMES)}")
        return value


class AccountSpec(_Model):
    domain: Annotated[str, Field(min_length=1)]
    name: str = ""
    virtual_accounts: Annotated[list[VirtualAccountSpec], Field(alias="virtualAccounts")] = []

    @model_validator(mode="after")
    def _distinct(self) -> AccountSpec:
        _unique("virtualAccounts", (va.name for va in self.virtual_accounts), "name")
        defaults = [va.name for va in self.virtual_accounts if va.default]
        if len(defaults) > 1:
            raise ValueError(f"virtualAccounts: only one may be the default, not {defaults}")
        return self


class ApiClientSpec(_Model):
    client_id: Annotated[str, Field(alias="clientId", min_length=1)]
    client_secret: Annotated[str, Field(alias="clientSecret", min_length=1)]
    api_access: Annotated[bool, Field(alias="apiAccess")] = True
    """False: a token is issued but every API call answers 403 "Invalid Client"."""


class ServerSpec(_Model):
    api_clients: Annotated[list[ApiClientSpec], Field(alias="apiClients")] = []
    accounts: list[AccountSpec] = []

    @model_validator(mode="after")
    def _distinct(self) -> ServerSpec:
        _unique("apiClients", (c.client_id for c in self.api_clients), "clientId")
        _unique("accounts", (a.domain for a in self.accounts), "domain")
        return self


class OnPremSpec(ServerSpec):
    host: Annotated[str, Field(min_length=1)]
    """The host name in the server's transport URL, e.g. ``ssm.example.internal``."""


class ClusterSpec(_Model):
    uuid: Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{32,36}$")]
    name: Annotated[str, Field(min_length=1)]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+(\.\d+)*$")] = "3.9.1.1"
    role: Literal["Standalone", "FederationLeader", "FederationFollower", "Standby"] = "Standalone"
    workloads: Annotated[int, Field(ge=0)] = 0
    endpoints: Annotated[int, Field(ge=0)] = 0
    api_key: Annotated[str, Field(alias="apiKey", min_length=1)]
    api_secret: Annotated[str, Field(alias="apiSecret", min_length=SECRET_LENGTH)]


class ClockSpec(_Model):
    start: datetime | None = None


class WorldSpec(_Model):
    seed: int | None = None
    clock: ClockSpec = ClockSpec()
    cloud: ServerSpec = ServerSpec()
    on_prem: Annotated[list[OnPremSpec], Field(alias="onPrem")] = []
    clusters: list[ClusterSpec] = []

    @model_validator(mode="after")
    def _distinct(self) -> WorldSpec:
        _unique("clusters", (c.uuid.lower() for c in self.clusters), "uuid")
        _unique("onPrem", (p.host.lower() for p in self.on_prem), "host")
        return self


def parse_world(text: str) -> WorldSpec:
    """Parse YAML (JSON is YAML too) into a validated world description."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise WorldFileError(f"the world file is not valid YAML: {error}") from error
    return world_from_mapping(document if document is not None else {})


def world_from_mapping(document: object) -> WorldSpec:
    if not isinstance(document, dict):
        raise WorldFileError("the world file must be a mapping at the top level")
    try:
        return WorldSpec.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(_problem(item["loc"], item["msg"]) for item in error.errors())
        raise WorldFileError(f"the world file is invalid: {problems}") from None


def _problem(location: tuple[int | str, ...], message: str) -> str:
    """``cloud.apiClients: clientId 'a' appears more than once``: the path, then what is wrong.

    A check of a whole model names its own field first (``apiClients: ...``); that name is
    joined to the model's path instead of repeating pydantic's ``Value error,`` prefix.
    """
    path = [str(part) for part in location]
    message = message.removeprefix("Value error, ")
    field, separator, rest = message.partition(": ")
    if separator and field.isidentifier():
        path.append(field)
        message = rest
    return f"{'.'.join(path)}: {message}" if path else message
