"""Just enough OpenAPI v3 for kubectl: which endpoints accept ``fieldValidation``.

``kubectl apply`` validates objects before sending them. It first asks ``/openapi/v3`` whether
the server validates fields itself (a PATCH operation for the kind that lists the
``fieldValidation`` query parameter); if so it sends ``fieldValidation=Strict`` and leaves the
checking to the server, which is what the local API does. Without these documents kubectl falls
back to downloading OpenAPI v2 to validate on its own, and fails.

The documents carry paths only, no component schemas: kubectl then builds its apply patches
from its compiled-in types for built-in kinds (strategic merge) and uses JSON merge patch for
custom resources, exactly as against a real server for CRDs without published schemas.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from smartlicensing.testing.kubeapi.resources import Registry, ResourceType

_QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _group_versions(registry: Registry) -> list[tuple[str, str]]:
    versions = [("", "v1")]
    for group, served in registry.groups().items():
        versions += [(group, version) for version in served]
    return versions


def _prefix(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def group_version_document(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    listing = registry.resource_list(group, version)
    if listing is None:
        return None
    paths: dict[str, Any] = {}
    for entry in listing["resources"]:
        if "/" in entry["name"]:
            continue
        rtype = registry.find(group, version, entry["name"])
        assert rtype is not None
        paths[_object_path(rtype)] = {"patch": _patch_operation(rtype)}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "local"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def _object_path(rtype: ResourceType) -> str:
    scope = "namespaces/{namespace}/" if rtype.namespaced else ""
    return f"/{_prefix(rtype.group, rtype.version)}/{scope}{rtype.plural}/{{name}}"


def _patch_operation(rtype: ResourceType) -> dict[str, Any]:
    return {
        "operationId": f"patch{rtype.kind}",
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": {
            "group": rtype.group,
            "version": rtype.version,
            "kind": rtype.kind,
        },
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
            for name in _QUERY_PARAMETERS
        ],
        "responses": {"200": {"description": "OK"}},
    }


def root_document(registry: Registry) -> dict[str, Any]:
    paths = {}
    for group, version in _group_versions(registry):
        document = group_version_document(registry, group, version)
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
        prefix = _prefix(group, version)
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest.upper()}"}
    return {"paths": paths}
