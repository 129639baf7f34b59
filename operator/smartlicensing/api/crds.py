"""CustomResourceDefinitions generated from the pydantic models, so schema and code cannot part.

The API server wants a *structural* schema: every node typed, no ``$ref``, no ``anyOf`` standing
in for a type, no ``additionalProperties`` beside ``properties``. Pydantic's JSON Schema is close;
this module inlines the references, turns ``Optional[X]`` into ``X`` with ``nullable``, drops
titles and ``null`` defaults, and gives integers a format. Everything else a model declares
(descriptions, defaults, enums, patterns, bounds, CEL rules, list-map markers) passes through.

Printer columns select conditions by type, never by position, because the order of a
conditions list is not part of its meaning.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml
from pydantic import BaseModel

from smartlicensing.api.meta import CATEGORY, GROUP, VERSION
from smartlicensing.api.registration import (
    SmartLicenseRegistrationSpec,
    SmartLicenseRegistrationStatus,
)
from smartlicensing.api.reservation import LicenseReservationSpec, LicenseReservationStatus
from smartlicensing.api.smartaccount import SmartAccountSpec, SmartAccountStatus

_INT32_MAX: Final = 2**31 - 1
_DROPPED_KEYS: Final = frozenset({"title", "additionalProperties"})

Json = dict[str, Any]


def _condition_column(name: str, condition_type: str, description: str) -> Json:
    return {
        "name": name,
        "type": "string",
        "jsonPath": f'.status.conditions[?(@.type=="{condition_type}")].status',
        "description": description,
    }


_AGE: Final = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


@dataclass(frozen=True)
class Kind:
    """One custom resource kind: its names, its models and its ``kubectl get`` columns."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[Json, ...]
    description: str

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


KINDS: Final[tuple[Kind, ...]] = (
    Kind(
        kind="SmartAccount",
        plural="smartaccounts",
        short_names=("sma",),
        spec=SmartAccountSpec,
        status=SmartAccountStatus,
        description="How to reach Cisco Smart Software Manager (cloud or On-Prem) and which "
        "virtual account to use; its status holds the virtual account's license table.",
        columns=(
            _condition_column("Ready", "Ready", "Credentials and virtual account work."),
            {
                "name": "Virtual Account",
                "type": "string",
                "jsonPath": ".spec.virtualAccount",
                "description": "The virtual account.",
            },
            _condition_column("Compliant", "Compliant", "Licenses in use are covered."),
            {
                "name": "Last Sync",
                "type": "date",
                "jsonPath": ".status.lastSyncTime",
                "description": "When the license table was last read.",
            },
            _AGE,
        ),
    ),
    Kind(
        kind="SmartLicenseRegistration",
        plural="smartlicenseregistrations",
        short_names=("slr",),
        spec=SmartLicenseRegistrationSpec,
        status=SmartLicenseRegistrationStatus,
        description="One Cisco Secure Workload cluster registered with Smart Licensing.",
        columns=(
            _condition_column("Ready", "Ready", "Registered, authorized and in sync."),
            {
                "name": "Registration",
                "type": "string",
                "jsonPath": ".status.registration.state",
                "description": "Registration state.",
            },
            {
                "name": "Authorization",
                "type": "string",
                "jsonPath": ".status.authorization.state",
                "description": "Authorization state.",
            },
            _condition_column("Compliant", "Compliant", "Licenses in use are covered."),
            {
                # A string, not a date: kubectl renders future dates as <invalid>.
                "name": "Next Sync",
                "type": "string",
                "jsonPath": ".status.nextSyncTime",
                "description": "When the next sync is due.",
            },
            _AGE,
        ),
    ),
    Kind(
        kind="LicenseReservation",
        plural="licensereservations",
        short_names=("lres",),
        spec=LicenseReservationSpec,
        status=LicenseReservationStatus,
        description="Specific License Reservation or Permanent License Reservation for one "
        "air-gapped Cisco Secure Workload cluster.",
        columns=(
            {
                "name": "Type",
                "type": "string",
                "jsonPath": ".spec.type",
                "description": "Specific or PLR.",
            },
            {
                "name": "Phase",
                "type": "string",
                "jsonPath": ".status.phase",
                "description": "Workflow phase.",
            },
            {
                "name": "Workload",
                "type": "integer",
                "jsonPath": ".status.reserved.workloadProtection",
                "description": "Workload Protection licenses reserved.",
            },
            {
                "name": "Endpoint",
                "type": "integer",
                "jsonPath": ".status.reserved.endpointVisibility",
                "description": "Endpoint Visibility licenses reserved.",
            },
            _condition_column("Ready", "Ready", "Reserved and installed."),
            _AGE,
        ),
    ),
)


def kind_named(name: str) -> Kind:
    """The kind with this ``kind``, plural or short name."""
    for kind in KINDS:
        if name in (kind.kind, kind.plural, *kind.short_names):
            return kind
    raise KeyError(f"no kind {name!r}; known: {', '.join(k.kind for k in KINDS)}")


def structural_schema(model: type[BaseModel], *, nullable: bool) -> Json:
    """The model's JSON Schema in the structural form the API server accepts.

    With ``nullable`` an ``Optional`` field accepts an explicit null (status, which the operator
    may write whole); without it the API server prunes nulls, so in spec "absent" and "null"
    are one thing and CEL's ``has()`` means "given".
    """
    schema = model.model_json_schema(by_alias=True, mode="validation")
    definitions: Mapping[str, Json] = schema.pop("$defs", {})
    return _structural(schema, definitions, nullable)


def _structural(node: Json, definitions: Mapping[str, Json], nullable: bool) -> Json:
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return _structural({**target, **siblings}, definitions, nullable)

    if "anyOf" in node:
        variants = [variant for variant in node["anyOf"] if variant.get("type") != "null"]
        if len(variants) != 1 or len(variants) == len(node["anyOf"]):
            raise ValueError(f"only Optional[X] unions become structural schemas, got {node}")
        rest = {key: value for key, value in node.items() if key != "anyOf"}
        merged = {**_structural(variants[0], definitions, nullable), **rest}
        if nullable:
            merged["nullable"] = True
        return _structural(merged, definitions, nullable)

    result: Json = {}
    for key, value in node.items():
        if key in _DROPPED_KEYS or (key == "default" and value is None):
            continue
        if key == "properties":
            result[key] = {
                name: _structural(prop, definitions, nullable) for name, prop in value.items()
            }
        elif key == "items":
            result[key] = _structural(value, definitions, nullable)
        else:
            result[key] = value

    if result.get("type") == "integer" and "format" not in result:
        maximum = result.get("maximum")
        fits_int32 = maximum is not None and maximum <= _INT32_MAX
        result["format"] = "int32" if fits_int32 else "int64"
    if "properties" in result and "type" not in result:
        result["type"] = "object"
    return result


def openapi_schema(kind: Kind) -> Json:
    """The ``openAPIV3Schema`` of one kind."""
    return {
        "type": "object",
        "description": kind.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion of this object."},
            "kind": {"type": "string", "description": "Kind of this object."},
            "metadata": {"type": "object"},
            "spec": structural_schema(kind.spec, nullable=False),
            "status": structural_schema(kind.status, nullable=True),
        },
    }


def custom_resource_definition(kind: Kind) -> Json:
    """The ``apiextensions.k8s.io/v1`` CustomResourceDefinition of one kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": kind.crd_name},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.kind.lower(),
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": list(kind.columns),
                    "schema": {"openAPIV3Schema": openapi_schema(kind)},
                }
            ],
        },
    }


def render_yaml(kinds: Sequence[Kind] = KINDS) -> str:
    """The CRDs as one multi-document YAML stream."""
    return "".join(
        "---\n" + yaml.safe_dump(custom_resource_definition(kind), sort_keys=False, width=100)
        for kind in kinds
    )


def file_name(kind: Kind) -> str:
    """The file a kind's CRD is kept in under ``crds/``."""
    return f"{kind.crd_name}.yaml"
