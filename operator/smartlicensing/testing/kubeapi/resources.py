"""Which resources the local API serves, and how discovery describes them.

The built-in kinds are the few that kopf, the ``kubernetes`` client and ``kubectl apply`` need
(namespaces, secrets, configmaps, events and CRDs themselves); every other kind comes from an
applied CustomResourceDefinition, one :class:`ResourceType` per served version. Discovery
documents are computed from this registry on every request, so a CRD that is applied, changed or
deleted is visible (or gone) in ``/apis`` at once, the way kopf's rescans and kubectl expect.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from smartlicensing.testing.kubeapi.cel import compile_problem
from smartlicensing.testing.kubeapi.errors import CAUSE_INVALID, CAUSE_REQUIRED, FieldError

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
SUBRESOURCE_VERBS = ["get", "patch", "update"]

CRD_GROUP = "apiextensions.k8s.io"
CRD_PLURAL = "customresourcedefinitions"


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry of a CRD version."""

    name: str
    type: str
    json_path: str
    description: str = ""
    format: str = ""
    priority: int = 0


@dataclass
class ResourceType:
    """One served group/version/plural with what validation, tables and discovery need."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    has_status: bool = False
    schema: dict[str, Any] | None = None
    printer_columns: list[PrinterColumn] = field(default_factory=list)
    builtin: bool = False
    extra_subresources: list[str] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str]:
        """Objects are stored once per group and plural, whatever version they are read at."""
        return (self.group, self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def tracks_generation(self) -> bool:
        return not self.builtin or self.plural == CRD_PLURAL

    def discovery_entries(self) -> list[dict[str, Any]]:
        main: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": ALL_VERBS,
        }
        if self.short_names:
            main["shortNames"] = self.short_names
        if self.categories:
            main["categories"] = self.categories
        entries = [main]
        subresources = (["status"] if self.has_status else []) + self.extra_subresources
        for sub in subresources:
            entries.append(
                {
                    "name": f"{self.plural}/{sub}",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": SUBRESOURCE_VERBS,
                }
            )
        return entries


def builtin_types() -> list[ResourceType]:
    return [
        ResourceType(
            "",
            "v1",
            "namespaces",
            "Namespace",
            namespaced=False,
            short_names=["ns"],
            has_status=True,
            builtin=True,
            extra_subresources=["finalize"],
        ),
        ResourceType("", "v1", "secrets", "Secret", namespaced=True, builtin=True),
        ResourceType(
            "", "v1", "configmaps", "ConfigMap", namespaced=True, short_names=["cm"], builtin=True
        ),
        ResourceType(
            "", "v1", "events", "Event", namespaced=True, short_names=["ev"], builtin=True
        ),
        ResourceType(
            CRD_GROUP,
            "v1",
            CRD_PLURAL,
            "CustomResourceDefinition",
            namespaced=False,
            short_names=["crd", "crds"],
            has_status=True,
            builtin=True,
        ),
    ]


def check_crd(crd: dict[str, Any]) -> list[FieldError]:
    """The structural checks a CRD must pass before its kind can be served."""
    errors: list[FieldError] = []
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return [FieldError(CAUSE_REQUIRED, "spec", "Required value")]
    names = spec.get("names") or {}
    if not isinstance(names, dict):
        return [FieldError(CAUSE_INVALID, "spec.names", "Invalid value: must be an object")]
    group = spec.get("group")
    for path, value in (
        ("spec.group", group),
        ("spec.names.plural", names.get("plural")),
        ("spec.names.kind", names.get("kind")),
        ("spec.scope", spec.get("scope")),
    ):
        if not value:
            errors.append(FieldError(CAUSE_REQUIRED, path, "Required value"))
    if spec.get("scope") not in (None, "", "Namespaced", "Cluster"):
        errors.append(
            FieldError(
                "FieldValueNotSupported",
                "spec.scope",
                f'Unsupported value: "{spec.get("scope")}": supported values: '
                '"Cluster", "Namespaced"',
            )
        )
    name = (crd.get("metadata") or {}).get("name")
    if names.get("plural") and group and name != f"{names['plural']}.{group}":
        errors.append(
            FieldError(
                CAUSE_INVALID,
                "metadata.name",
                f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
            )
        )
    versions = spec.get("versions")
    if isinstance(versions, list):
        for index, version in enumerate(versions):
            errors += _version_problems(version, f"spec.versions[{index}]")
    if not isinstance(versions, list) or not versions:
        errors.append(FieldError(CAUSE_REQUIRED, "spec.versions", "Required value"))
    else:
        storage = [v for v in versions if isinstance(v, dict) and v.get("storage")]
        if len(storage) != 1:
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    "spec.versions",
                    "Invalid value: []: must have exactly one version marked as storage version",
                )
            )
    return errors


_COLUMN_TYPES = ("integer", "number", "string", "boolean", "date")


def _version_problems(version: Any, path: str) -> list[FieldError]:
    """One entry of ``spec.versions``: its name, schema and printer columns are well formed."""
    if not isinstance(version, dict):
        return [FieldError(CAUSE_INVALID, path, "Invalid value: must be an object")]
    errors: list[FieldError] = []
    if not isinstance(version.get("name"), str) or not version.get("name"):
        errors.append(FieldError(CAUSE_REQUIRED, f"{path}.name", "Required value"))
    schema = version.get("schema")
    found = schema.get("openAPIV3Schema") if isinstance(schema, dict) else None
    if schema is not None and (not isinstance(schema, dict) or not isinstance(found, dict)):
        errors.append(
            FieldError(
                CAUSE_INVALID, f"{path}.schema.openAPIV3Schema", "Invalid value: must be an object"
            )
        )
    elif isinstance(found, dict):
        errors += schema_problems(found, f"{path}.schema.openAPIV3Schema")
    columns = version.get("additionalPrinterColumns") or []
    if not isinstance(columns, list):
        columns = [columns]
    for index, column in enumerate(columns):
        where = f"{path}.additionalPrinterColumns[{index}]"
        if not isinstance(column, dict):
            errors.append(FieldError(CAUSE_INVALID, where, "Invalid value: must be an object"))
            continue
        for key in ("name", "jsonPath"):
            if not isinstance(column.get(key), str) or not column.get(key):
                errors.append(FieldError(CAUSE_REQUIRED, f"{where}.{key}", "Required value"))
        if column.get("type", "string") not in _COLUMN_TYPES:
            errors.append(
                FieldError(
                    "FieldValueNotSupported",
                    f"{where}.type",
                    f"Unsupported value: {json.dumps(column.get('type'))}: supported values: "
                    + ", ".join(f'"{t}"' for t in _COLUMN_TYPES),
                )
            )
        priority = column.get("priority", 0)
        if not isinstance(priority, int) or isinstance(priority, bool) or priority < 0:
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    f"{where}.priority",
                    f"Invalid value: {json.dumps(priority)}: must be a non-negative integer",
                )
            )
    return errors


_SCHEMA_TYPES = ("object", "array", "string", "integer", "number", "boolean")
_SCHEMA_COUNTS = (
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
)
_SCHEMA_NUMBERS = ("minimum", "maximum", "multipleOf")
_SCHEMA_FLAGS = (
    "exclusiveMinimum",
    "exclusiveMaximum",
    "nullable",
    "uniqueItems",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
)
_SCHEMA_STRINGS = (
    "pattern",
    "format",
    "description",
    "title",
    "x-kubernetes-list-type",
    "x-kubernetes-map-type",
)


def _keyword_problems(node: dict[str, Any], path: str) -> list[FieldError]:
    """Each keyword holds the kind of value JSONSchemaProps declares for it; validation of
    objects relies on that and would otherwise fail on every write."""
    problems: list[tuple[str, str]] = []
    kind = node.get("type")
    if kind is not None and kind not in _SCHEMA_TYPES:
        problems.append(("type", "must be one of " + ", ".join(_SCHEMA_TYPES)))
    for key in _SCHEMA_COUNTS:
        value = node.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            problems.append((key, "must be a non-negative integer"))
    for key in _SCHEMA_NUMBERS:
        value = node.get(key)
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)):
            problems.append((key, "must be a number"))
        elif key == "multipleOf" and value is not None and value <= 0:
            problems.append((key, "must be greater than zero"))
    for key in _SCHEMA_FLAGS:
        if key in node and not isinstance(node[key], bool):
            problems.append((key, "must be true or false"))
    for key in _SCHEMA_STRINGS:
        if key in node and not isinstance(node[key], str):
            problems.append((key, "must be a string"))
    for key in ("required", "x-kubernetes-list-map-keys"):
        value = node.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            problems.append((key, "must be a list of strings"))
    if "enum" in node and not isinstance(node["enum"], list):
        problems.append(("enum", "must be a list"))
    properties = node.get("properties")
    if properties is not None and (
        not isinstance(properties, dict)
        or not all(isinstance(v, dict) for v in properties.values())
    ):
        problems.append(("properties", "must map names to schemas"))
    for key in ("items", "not"):
        if key in node and not isinstance(node[key], dict):
            problems.append((key, "must be a schema"))
    if "additionalProperties" in node and not isinstance(node["additionalProperties"], bool | dict):
        problems.append(("additionalProperties", "must be a schema or true or false"))
    for key in ("allOf", "anyOf", "oneOf"):
        value = node.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, dict) for v in value)
        ):
            problems.append((key, "must be a list of schemas"))
    rules = node.get("x-kubernetes-validations")
    if rules is not None and (
        not isinstance(rules, list)
        or not all(isinstance(r, dict) and isinstance(r.get("rule"), str) for r in rules)
    ):
        problems.append(("x-kubernetes-validations", "must be a list of objects with a rule"))
    return [
        FieldError(
            CAUSE_INVALID,
            f"{path}.{key}",
            f"Invalid value: {json.dumps(node.get(key))[:200]}: {message}",
        )
        for key, message in problems
    ]


def schema_problems(node: dict[str, Any], path: str) -> list[FieldError]:
    """Keywords of the wrong kind, patterns that do not compile and CEL rules that do not
    parse, found before any object is validated against them (so a bad CRD is refused instead
    of breaking every write)."""
    errors = _keyword_problems(node, path)
    if errors:
        return errors
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        try:
            re.compile(pattern)
        except re.error as error:
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    f"{path}.pattern",
                    f"Invalid value: {pattern!r}: must be a valid regular expression: {error}",
                )
            )
    for index, rule in enumerate(node.get("x-kubernetes-validations") or []):
        for key in ("rule", "messageExpression"):
            expression = rule.get(key) if isinstance(rule, dict) else None
            problem = compile_problem(expression) if isinstance(expression, str) else None
            if problem is not None:
                errors.append(
                    FieldError(
                        CAUSE_INVALID,
                        f"{path}.x-kubernetes-validations[{index}].{key}",
                        f"Invalid value: {expression!r}: compilation failed: {problem}",
                    )
                )
    children: list[tuple[str, Any]] = [
        (f"{path}.properties[{name}]", sub) for name, sub in (node.get("properties") or {}).items()
    ]
    for key in ("items", "additionalProperties", "not"):
        children.append((f"{path}.{key}", node.get(key)))
    for key in ("allOf", "anyOf", "oneOf"):
        children += [(f"{path}.{key}[{i}]", sub) for i, sub in enumerate(node.get(key) or [])]
    for child_path, child in children:
        if isinstance(child, dict):
            errors += schema_problems(child, child_path)
    return errors


def crd_types(crd: dict[str, Any]) -> list[ResourceType]:
    """The served versions of an accepted CRD."""
    spec = crd["spec"]
    names = spec["names"]
    types = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        columns = [
            PrinterColumn(
                name=column["name"],
                type=column.get("type", "string"),
                json_path=column["jsonPath"],
                description=column.get("description", ""),
                format=column.get("format", ""),
                priority=int(column.get("priority", 0)),
            )
            for column in version.get("additionalPrinterColumns") or []
        ]
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        types.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                singular=names.get("singular") or names["kind"].lower(),
                short_names=list(names.get("shortNames") or []),
                categories=list(names.get("categories") or []),
                has_status="status" in (version.get("subresources") or {}),
                schema=schema,
                printer_columns=columns,
            )
        )
    return types


class Registry:
    """The set of served resource types, keyed by group/version/plural."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_crd: dict[str, list[ResourceType]] = {}
        for rtype in builtin_types():
            self._add(rtype)

    def _add(self, rtype: ResourceType) -> None:
        self._types[(rtype.group, rtype.version, rtype.plural)] = rtype

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_key(self, key: tuple[str, str]) -> ResourceType | None:
        for rtype in self._types.values():
            if rtype.key == key:
                return rtype
        return None

    def install_crd(self, crd: dict[str, Any]) -> None:
        name = crd["metadata"]["name"]
        self.remove_crd(name)
        types = crd_types(crd)
        self._by_crd[name] = types
        for rtype in types:
            self._add(rtype)

    def remove_crd(self, name: str) -> None:
        for rtype in self._by_crd.pop(name, []):
            self._types.pop((rtype.group, rtype.version, rtype.plural), None)

    def crd_key(self, name: str) -> tuple[str, str] | None:
        types = self._by_crd.get(name)
        return types[0].key if types else None

    def groups(self) -> dict[str, list[str]]:
        """Served versions per named group (the core group excluded), in definition order."""
        groups: dict[str, list[str]] = {}
        for group, version, _ in self._types:
            if group and version not in groups.setdefault(group, []):
                groups[group].append(version)
        return groups

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        types = [t for (g, v, _), t in self._types.items() if g == group and v == version]
        if not types:
            return None
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [entry for t in types for entry in t.discovery_entries()],
        }

    def group_document(self, group: str) -> dict[str, Any] | None:
        versions = self.groups().get(group)
        if not versions:
            return None
        listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": listed,
            "preferredVersion": listed[0],
        }

    def group_list(self) -> dict[str, Any]:
        groups = []
        for group in self.groups():
            document = self.group_document(group)
            assert document is not None
            document.pop("kind")
            document.pop("apiVersion")
            groups.append(document)
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
