"""What the three kinds share: the model base, references, conditions and CEL rules.

Python attributes are snake_case and YAML is camelCase: every model carries camelCase aliases
and accepts either spelling, so handlers write ``spec.sync_interval`` while manifests say
``syncInterval``. Spec models forbid unknown fields (a typo must fail loudly, not be ignored);
status models ignore them, so an older operator can read what a newer one wrote.

Rules that span several fields ("exactly one of", "required when") live next to the fields as
CEL ``x-kubernetes-validations`` (the API server enforces them where CEL is available), and the
reconciler checks the same rules again in ``smartlicensing.reconcile.validation``.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Final, TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP: Final = "smartlicensing.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
CATEGORY: Final = "smartlicensing"

#: Lowercase canonical UUID, as Secure Workload shows a cluster's UUID.
UUID_PATTERN: Final = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
URL_PATTERN: Final = r"^https?://[^\s/?#]+[^\s]*$"
#: A Kubernetes object name (DNS-1123 subdomain).
NAME_PATTERN: Final = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
#: A key of a Secret's data.
SECRET_KEY_PATTERN: Final = r"^[-._a-zA-Z0-9]+$"


class CelRule(TypedDict):
    """One ``x-kubernetes-validations`` entry: a CEL expression and what to tell the user."""

    rule: str
    message: str


def cel(*rules: CelRule) -> dict[str, Any]:
    """The ``json_schema_extra`` that attaches CEL rules to a model or a field."""
    return {"x-kubernetes-validations": list(rules)}


class SpecModel(BaseModel):
    """Base of every spec model: camelCase aliases, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
    )


class StatusModel(BaseModel):
    """Base of every status model: camelCase aliases, unknown fields ignored on read."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="ignore",
    )


ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=NAME_PATTERN)]
SecretKey = Annotated[str, Field(min_length=1, max_length=253, pattern=SECRET_KEY_PATTERN)]
Url = Annotated[str, Field(max_length=2048, pattern=URL_PATTERN)]
ClusterUUID = Annotated[str, Field(min_length=36, max_length=36, pattern=UUID_PATTERN)]


class LocalObjectReference(SpecModel):
    """A reference to an object in the same namespace."""

    name: ObjectName = Field(description="Name of the object, in this object's namespace.")


class CredentialsSecretReference(SpecModel):
    """A Secret in the same namespace whose keys are fixed by the field that refers to it."""

    name: ObjectName = Field(description="Name of the Secret, in this object's namespace.")


class CABundleSecretReference(SpecModel):
    """A key of a Secret holding PEM-encoded CA certificates."""

    name: ObjectName = Field(description="Name of the Secret, in this object's namespace.")
    key: SecretKey = Field(default="ca.crt", description="Key of the PEM bundle in the Secret.")


class TokenSecretReference(SpecModel):
    """A key of a Secret holding a registration token."""

    name: ObjectName = Field(description="Name of the Secret, in this object's namespace.")
    key: SecretKey = Field(default="token", description="Key of the token in the Secret.")


class SecretKeyReference(SpecModel):
    """A key of a Secret in the same namespace."""

    name: ObjectName = Field(description="Name of the Secret, in this object's namespace.")
    key: SecretKey = Field(description="Key in the Secret.")


class ConditionStatus(enum.StrEnum):
    """Whether a condition holds; Unknown when the operator cannot tell."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """One observation of the object's state, in Kubernetes' standard condition shape."""

    type: str = Field(
        min_length=1,
        max_length=316,
        pattern=r"^[A-Z][A-Za-z0-9]*$",
        description="Type of the condition, e.g. Ready, Registered, Stalled.",
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        description="CamelCase reason for the condition's last transition, for programs.",
    )
    message: str = Field(
        default="",
        max_length=32768,
        description="Human-readable details; says what to do when action is needed.",
    )
    last_transition_time: AwareDatetime = Field(
        description="When the status last changed (not when the condition was last written)."
    )
    observed_generation: int | None = Field(
        default=None,
        ge=0,
        description="The metadata.generation the condition was computed from.",
    )


class DriverType(enum.StrEnum):
    """How the operator reaches a Secure Workload cluster."""

    API = "Api"
    MANUAL = "Manual"


class ClusterDriver(SpecModel):
    """How the operator reaches the cluster: unattended over the API, or through a person."""

    model_config = ConfigDict(
        json_schema_extra=cel(
            {
                "rule": "self.type != 'Api' || (has(self.url) && has(self.credentialsSecretRef))",
                "message": "driver type Api needs url and credentialsSecretRef",
            },
            {
                "rule": "self.type != 'Manual' || (!has(self.url) && "
                "!has(self.credentialsSecretRef))",
                "message": "driver type Manual takes neither url nor credentialsSecretRef",
            },
        )
    )

    type: DriverType = Field(
        description="Api: the operator drives the cluster's licensing API. Manual: the operator "
        "does the CSSM side and tells a person what to enter in the Secure Workload UI."
    )
    url: Url | None = Field(
        default=None, description="Base URL of the cluster's API (Api driver only)."
    )
    credentials_secret_ref: CredentialsSecretReference | None = Field(
        default=None,
        description="Secret with keys api_key and api_secret for the cluster's API "
        "(Api driver only).",
    )


class ReconciledStatus(StatusModel):
    """The status fields every kind has: generation, conditions and the failure record."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation this status describes."
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
        description="Observations of the object's state; Ready summarises them.",
    )
    failed_attempts: int = Field(
        default=0, ge=0, description="Consecutive failed attempts since the last success."
    )
    last_failure_time: AwareDatetime | None = Field(
        default=None, description="When the last attempt failed."
    )
    next_attempt_time: AwareDatetime | None = Field(
        default=None, description="After a failure: when the next attempt is made."
    )
    stalled_inputs: str | None = Field(
        default=None,
        max_length=128,
        description="Digest of the spec generation and Secret versions a permanent failure was "
        "seen with; the operator tries again once either changes.",
    )


#: The finalizer the operator puts on the objects whose deletion it must see through.
FINALIZER: Final = f"{GROUP}/finalizer"
#: Prefix of the annotations the operator (through kopf) keeps its progress and diff base in.
ANNOTATION_PREFIX: Final = GROUP
#: The "Renew Authorization" button: an RFC 3339 time; a sync runs when it is newer than the
#: last one.
SYNC_REQUESTED_AT: Final = f"{GROUP}/sync-requested-at"
