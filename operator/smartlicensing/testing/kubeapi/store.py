"""The objects of the local API and the rules every write follows.

All state lives on the server's event loop thread, so no lock is needed: a request handler runs
a store method to completion before the next one starts. Stored objects are never mutated; every
write builds a new dict, commits it under the next global resourceVersion and appends a
:class:`~.watch.Change` to the history the watchers read.

The rules are the API server's, as far as kopf, the ``kubernetes`` client and kubectl observe:

* ``metadata.uid``, ``creationTimestamp``, ``deletionTimestamp`` are the server's; a write that
  carries a stale ``resourceVersion`` is a 409 Conflict; a custom resource update without one is
  refused as in Kubernetes.
* With a status subresource, writes to the object ignore ``status`` and writes to ``/status``
  ignore everything else; ``metadata.generation`` moves only when something outside metadata
  (and outside status) changes; a write that changes nothing does not bump the resourceVersion.
* An object with finalizers is only marked for deletion (``deletionTimestamp``,
  ``deletionGracePeriodSeconds: 0``); once its last finalizer is removed it disappears, and the
  write that removed it answers with the object at the revision of its DELETED event.
* A deleted namespace turns ``Terminating``, deletes its contents and goes once they are gone;
  a deleted CRD takes its custom resources with it. Owners that go take their dependents with
  them: in the background by default, first with ``Foreground`` (the owner waits with a
  ``foregroundDeletion`` finalizer), not at all with ``Orphan`` (references are stripped).
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import json
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smartlicensing.testing.kubeapi import patches, schema
from smartlicensing.testing.kubeapi.errors import (
    CAUSE_FORBIDDEN,
    CAUSE_INVALID,
    CAUSE_REQUIRED,
    CAUSE_TOO_LONG,
    REASON_FORBIDDEN,
    STALE_OBJECT,
    FieldError,
    StatusError,
    already_exists,
    bad_request,
    conflict,
    gone,
    invalid,
    not_found,
)
from smartlicensing.testing.kubeapi.resources import (
    CRD_GROUP,
    CRD_PLURAL,
    Registry,
    ResourceType,
    check_crd,
)
from smartlicensing.testing.kubeapi.selectors import Matcher
from smartlicensing.testing.kubeapi.watch import (
    ADDED,
    DELETED,
    MODIFIED,
    Change,
    History,
    Watcher,
)

Clock = Callable[[], datetime.datetime]
Key = tuple[str, str]

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
NAMESPACE_FINALIZER = "kubernetes"
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND_FINALIZER = "foregroundDeletion"

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_QUALIFIED_NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_ANNOTATIONS_MAX_BYTES = 256 * 1024
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_VOLATILE_METADATA = ("resourceVersion", "managedFields")

FIELD_VALIDATION_STRICT = "Strict"
FIELD_VALIDATION_WARN = "Warn"
FIELD_VALIDATION_IGNORE = "Ignore"


def timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    """What a client may say about a write besides its body."""

    dry_run: bool = False
    field_validation: str = FIELD_VALIDATION_WARN
    warnings: list[str] = field(default_factory=list)


@dataclass
class ListResult:
    items: list[dict[str, Any]]
    revision: int
    continue_token: str = ""
    remaining: int | None = None


def _without_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k not in _VOLATILE_METADATA}
    return {**obj, "metadata": metadata}


def _spec_part(obj: dict[str, Any], has_status: bool) -> dict[str, Any]:
    skipped = ("metadata", "status") if has_status else ("metadata",)
    return {k: v for k, v in obj.items() if k not in skipped}


class Store:
    """Objects, the revision counter, the watch history and the open watchers."""

    def __init__(self, *, history_size: int = 10_000, clock: Clock | None = None) -> None:
        self.registry = Registry()
        self.history = History(history_size)
        self.revision = 0
        self.clock: Clock = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self._objects: dict[Key, dict[tuple[str, str], dict[str, Any]]] = {}
        self._uids: dict[str, tuple[Key, str, str]] = {}
        self._watchers: dict[Key, set[Watcher]] = {}
        namespaces = self.registry.find("", "v1", "namespaces")
        assert namespaces is not None
        for name in INITIAL_NAMESPACES:
            self.create(namespaces, None, {"metadata": {"name": name}}, WriteOptions())

    # -- reading ------------------------------------------------------------------------------

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        found = self._objects.get(rtype.key, {}).get((namespace or "", name))
        if found is None:
            raise not_found(rtype.plural, rtype.group, name)
        return found

    def list_objects(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: Matcher,
        fields: Matcher,
        limit: int = 0,
        continue_token: str = "",
    ) -> ListResult:
        start: tuple[str, str] | None = None
        revision = self.revision
        if continue_token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(continue_token.encode()))
                start = (decoded["namespace"], decoded["name"])
                revision = int(decoded["revision"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise bad_request("continue key is not valid: malformed token") from None
            if revision < self.history.compacted:
                raise gone(str(revision), self.history.compacted)
        selected = []
        for position in sorted(self._objects.get(rtype.key, {})):
            if namespace is not None and position[0] != namespace:
                continue
            if start is not None and position <= start:
                continue
            obj = self._objects[rtype.key][position]
            if labels(obj) and fields(obj):
                selected.append((position, obj))
        if limit and len(selected) > limit:
            last = selected[limit - 1][0]
            token = base64.urlsafe_b64encode(
                json.dumps({"namespace": last[0], "name": last[1], "revision": revision}).encode()
            ).decode()
            return ListResult(
                [obj for _, obj in selected[:limit]], revision, token, len(selected) - limit
            )
        return ListResult([obj for _, obj in selected], revision)

    # -- watching -----------------------------------------------------------------------------

    def subscribe(self, watcher: Watcher, since: int | None) -> list[tuple[str, dict[str, Any]]]:
        """Register ``watcher``; returns what it must see first (replay or current state)."""
        if since is None:
            backlog = [
                (ADDED, obj)
                for _, obj in sorted(self._objects.get(watcher.key, {}).items())
                if watcher.selects(obj)
            ]
        else:
            if since < self.history.compacted:
                raise gone(str(since), self.history.compacted)
            backlog = []
            for change in self.history.since(since, watcher.key):
                event = watcher.translate(change)
                if event is not None:
                    backlog.append(event)
        self._watchers.setdefault(watcher.key, set()).add(watcher)
        return backlog

    def unsubscribe(self, watcher: Watcher) -> None:
        self._watchers.get(watcher.key, set()).discard(watcher)

    def close_watchers(self) -> None:
        for watchers in self._watchers.values():
            for watcher in watchers:
                watcher.close()

    # -- writing ------------------------------------------------------------------------------

    def create(
        self,
        rtype: ResourceType,
        namespace: str | None,
        body: Any,
        options: WriteOptions,
    ) -> dict[str, Any]:
        obj = self._check_body(rtype, body)
        metadata = obj.setdefault("metadata", {})
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        self._check_namespace(rtype, namespace, metadata)
        if not metadata.get("name"):
            prefix = metadata.get("generateName")
            if prefix is not None and not isinstance(prefix, str):
                raise bad_request(
                    f"{rtype.kind} in version {json.dumps(rtype.version)} cannot be handled as a "
                    f"{rtype.kind}: metadata.generateName must be a string"
                )
            if not prefix:
                raise invalid(
                    rtype.kind,
                    rtype.group,
                    "",
                    [
                        FieldError(
                            CAUSE_REQUIRED,
                            "metadata.name",
                            "Required value: name or generateName is required",
                        )
                    ],
                )
            metadata["name"] = self._generated_name(rtype, namespace, prefix)
        name = metadata["name"]
        if (namespace or "", name) in self._objects.get(rtype.key, {}):
            raise already_exists(rtype.plural, rtype.group, name)
        if namespace is not None:
            self._refuse_terminating_namespace(namespace)

        for volatile in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            metadata.pop(volatile, None)
        metadata["uid"] = str(uuid.uuid4())
        metadata["creationTimestamp"] = timestamp(self.clock())
        if rtype.tracks_generation:
            metadata["generation"] = 1
        if rtype.has_status and not rtype.builtin:
            obj.pop("status", None)

        obj = self._prepare(rtype, None, obj, options)
        if options.dry_run:
            return obj
        return self._commit(rtype, ADDED, obj, None)

    def update(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: Any,
        subresource: str | None,
        options: WriteOptions,
    ) -> dict[str, Any]:
        old = self.get(rtype, namespace, name)
        obj = self._check_body(rtype, body)
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if metadata.get("name") not in (None, name):
            raise bad_request(
                f"the name of the object ({metadata.get('name')}) does not match the name on "
                f"the URL ({name})"
            )
        self._check_namespace(rtype, namespace, metadata)
        requested = metadata.get("resourceVersion")
        if not requested and not rtype.builtin:
            raise invalid(
                rtype.kind,
                rtype.group,
                name,
                [
                    FieldError(
                        CAUSE_INVALID,
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        if requested and requested != old["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, rtype.group, name, STALE_OBJECT)
        return self._write(rtype, old, obj, subresource, options)

    def patch(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        content_type: str,
        body: Any,
        subresource: str | None,
        options: WriteOptions,
    ) -> dict[str, Any]:
        old = self.get(rtype, namespace, name)
        if content_type.startswith(patches.STRATEGIC_MERGE_PATCH) and not rtype.builtin:
            raise StatusError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types "
                f"include: {patches.JSON_PATCH}, {patches.MERGE_PATCH}, "
                f"{patches.APPLY_PATCH}",
            )
        obj = patches.apply_patch(content_type, old, body)
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict):
            raise bad_request("metadata must be an object")
        if metadata.get("resourceVersion") != old["metadata"]["resourceVersion"]:
            raise conflict(rtype.plural, rtype.group, name, STALE_OBJECT)
        if metadata.get("name") != name:
            raise bad_request("a patch may not change metadata.name")
        return self._write(rtype, old, obj, subresource, options)

    def delete(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str,
        body: dict[str, Any] | None,
        propagation: str | None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        old = self.get(rtype, namespace, name)
        body = body or {}
        preconditions = body.get("preconditions") or {}
        for field_name in ("uid", "resourceVersion"):
            wanted = preconditions.get(field_name)
            actual = old["metadata"].get(field_name)
            if wanted and wanted != actual:
                label = "UID" if field_name == "uid" else "ResourceVersion"
                raise conflict(
                    rtype.plural,
                    rtype.group,
                    name,
                    f"Precondition failed: {label} in precondition: {wanted}, "
                    f"{label} in object meta: {actual}",
                )
        if rtype.plural == "namespaces" and not rtype.group and name in PROTECTED_NAMESPACES:
            raise StatusError(
                403,
                REASON_FORBIDDEN,
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
            )
        propagation = propagation or body.get("propagationPolicy")
        if propagation not in (None, "Background", "Foreground", "Orphan"):
            raise bad_request(f"unsupported propagationPolicy: {propagation!r}")
        if dry_run:
            return old
        if propagation == "Orphan":
            self._orphan_dependents(old["metadata"]["uid"])
        foreground = propagation == "Foreground" and bool(self._dependents(old["metadata"]["uid"]))
        return self._delete(rtype, old, foreground=foreground)

    def delete_collection(
        self,
        rtype: ResourceType,
        namespace: str | None,
        labels: Matcher,
        fields: Matcher,
        propagation: str | None,
    ) -> list[dict[str, Any]]:
        found = self.list_objects(rtype, namespace, labels, fields).items
        return [
            self.delete(
                rtype, obj["metadata"].get("namespace"), obj["metadata"]["name"], None, propagation
            )
            for obj in found
        ]

    # -- the rules of a write -----------------------------------------------------------------

    def _check_body(self, rtype: ResourceType, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        api_version = obj.get("apiVersion")
        if api_version and api_version != rtype.api_version:
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rtype.api_version})"
            )
        kind = obj.get("kind")
        if kind and kind != rtype.kind:
            raise bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})"
            )
        obj["apiVersion"] = rtype.api_version
        obj["kind"] = rtype.kind
        return obj

    def _check_namespace(
        self, rtype: ResourceType, namespace: str | None, metadata: dict[str, Any]
    ) -> None:
        if not rtype.namespaced:
            metadata.pop("namespace", None)
            return
        given = metadata.get("namespace")
        if given and given != namespace:
            raise bad_request(
                "the namespace of the provided object does not match the namespace sent on "
                "the request"
            )
        metadata["namespace"] = namespace

    def _namespace_object(self, namespace: str) -> dict[str, Any] | None:
        return self._objects.get(("", "namespaces"), {}).get(("", namespace))

    def _refuse_terminating_namespace(self, namespace: str) -> None:
        found = self._namespace_object(namespace)
        if found is None:
            raise not_found("namespaces", "", namespace)
        if found["metadata"].get("deletionTimestamp"):
            raise StatusError(
                403,
                REASON_FORBIDDEN,
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated",
            )

    def _generated_name(self, rtype: ResourceType, namespace: str | None, prefix: str) -> str:
        existing = self._objects.get(rtype.key, {})
        for _ in range(20):
            name = prefix + "".join(random.choices(_GENERATE_ALPHABET, k=5))
            if ((namespace or ""), name) not in existing:
                return name
        raise StatusError(
            409,
            "AlreadyExists",
            f"could not generate a unique name for prefix {prefix!r} after 20 attempts",
        )

    def _write(
        self,
        rtype: ResourceType,
        old: dict[str, Any],
        obj: dict[str, Any],
        subresource: str | None,
        options: WriteOptions,
    ) -> dict[str, Any]:
        if subresource == "status":
            if not rtype.has_status:
                raise not_found(rtype.plural, rtype.group, old["metadata"]["name"])
            new = {**copy.deepcopy(old), "status": obj.get("status")}
            if new["status"] is None:
                new.pop("status")
        elif subresource == "finalize" and rtype.plural == "namespaces" and not rtype.group:
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["finalizers"] = (obj.get("spec") or {}).get(
                "finalizers"
            ) or []
        elif subresource is not None:
            raise not_found(rtype.plural, rtype.group, old["metadata"]["name"])
        else:
            new = obj
            if rtype.has_status and not (rtype.builtin and rtype.plural == "namespaces"):
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            if rtype.plural == "namespaces" and not rtype.group:
                new["spec"] = copy.deepcopy(old.get("spec", {}))
                new["status"] = copy.deepcopy(old.get("status", {}))

        metadata = new["metadata"]
        for kept in (
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
            "name",
            "resourceVersion",
        ):
            if kept in old["metadata"]:
                metadata[kept] = old["metadata"][kept]
            else:
                metadata.pop(kept, None)
        if metadata.get("deletionTimestamp"):
            added = set(metadata.get("finalizers") or []) - set(
                old["metadata"].get("finalizers") or []
            )
            if added:
                raise invalid(
                    rtype.kind,
                    rtype.group,
                    metadata["name"],
                    [
                        FieldError(
                            CAUSE_FORBIDDEN,
                            "metadata.finalizers",
                            "Forbidden: no new finalizers can be added if the object is being "
                            f"deleted, found new finalizers {sorted(added)}",
                        )
                    ],
                )

        new = self._prepare(rtype, old, new, options)
        if rtype.tracks_generation and _spec_part(new, rtype.has_status) != _spec_part(
            old, rtype.has_status
        ):
            metadata["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if _without_volatile(new) == _without_volatile(old):
            return old
        if options.dry_run:
            return new
        if metadata.get("deletionTimestamp") and not self._finalizers(rtype, new):
            return self._remove(rtype, new)
        return self._commit(rtype, MODIFIED, new, old)

    def _prepare(
        self,
        rtype: ResourceType,
        old: dict[str, Any] | None,
        obj: dict[str, Any],
        options: WriteOptions,
    ) -> dict[str, Any]:
        """Normalise, prune, default and validate; the result is what would be stored."""
        name = obj["metadata"].get("name", "")
        causes = self._check_metadata(rtype, obj["metadata"])
        if causes:
            raise invalid(rtype.kind, rtype.group, name, causes)

        if rtype.builtin:
            self._normalise_builtin(rtype, old, obj)
        elif rtype.schema is not None:
            unknown = schema.prune(obj, rtype.schema)
            if unknown and options.field_validation == FIELD_VALIDATION_STRICT:
                listed = ", ".join(f'unknown field "{path}"' for path in unknown)
                raise bad_request(
                    f'{rtype.kind} in version "{rtype.version}" cannot be handled as a '
                    f"{rtype.kind}: strict decoding error: {listed}"
                )
            if unknown and options.field_validation == FIELD_VALIDATION_WARN:
                options.warnings += [f'unknown field "{path}"' for path in unknown]
            schema.apply_defaults(obj, rtype.schema)
            previous = old if old is not None else schema.ABSENT
            causes = schema.validate(obj, rtype.schema, old=previous)
            if causes:
                raise invalid(rtype.kind, rtype.group, name, causes)
        return obj

    def _check_metadata(self, rtype: ResourceType, metadata: dict[str, Any]) -> list[FieldError]:
        name = metadata.get("name", "")
        errors = []
        pattern, limit = (_LABEL, 63) if rtype.plural == "namespaces" else (_SUBDOMAIN, 253)
        if not isinstance(name, str) or len(name) > limit or not pattern.match(name):
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    "metadata.name",
                    f"Invalid value: {json.dumps(name)}: a lowercase RFC 1123 "
                    f"{'label' if limit == 63 else 'subdomain'} must consist of lower case "
                    "alphanumeric characters, '-' or '.', and must start and end with an "
                    "alphanumeric character",
                )
            )
        for map_field in ("labels", "annotations"):
            value = metadata.get(map_field)
            if value is not None and (
                not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
            ):
                errors.append(
                    FieldError(
                        CAUSE_INVALID,
                        f"metadata.{map_field}",
                        f"Invalid value: {json.dumps(value)}: must be a map of strings",
                    )
                )
        finalizers = metadata.get("finalizers")
        if finalizers is not None and (
            not isinstance(finalizers, list) or not all(isinstance(f, str) for f in finalizers)
        ):
            errors.append(
                FieldError(
                    CAUSE_INVALID, "metadata.finalizers", "Invalid value: must be a list of strings"
                )
            )
        labels = metadata.get("labels")
        if isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values()):
            errors.extend(_label_errors(labels))
        annotations = metadata.get("annotations")
        if isinstance(annotations, dict) and all(isinstance(v, str) for v in annotations.values()):
            size = sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())
            if size > _ANNOTATIONS_MAX_BYTES:
                errors.append(
                    FieldError(
                        CAUSE_TOO_LONG,
                        "metadata.annotations",
                        f"Too long: must have at most {_ANNOTATIONS_MAX_BYTES} bytes",
                    )
                )
        errors.extend(_owner_reference_errors(rtype, metadata.get("ownerReferences")))
        return errors

    def _normalise_builtin(
        self, rtype: ResourceType, old: dict[str, Any] | None, obj: dict[str, Any]
    ) -> None:
        for map_field in ("data", "binaryData", "stringData"):
            values = obj.get(map_field)
            if (
                rtype.plural in ("secrets", "configmaps")
                and values is not None
                and (
                    not isinstance(values, dict)
                    or not all(isinstance(v, str) for v in values.values())
                )
            ):
                raise bad_request(
                    f'{rtype.kind} in version "v1" cannot be handled as a {rtype.kind}: '
                    f"{rtype.kind}.{map_field} must be a map of strings"
                )
        if rtype.plural == "secrets":
            data = obj.get("data") or {}
            if not isinstance(data, dict):
                raise bad_request("Secret.data must be a map of base64 strings")
            for key, value in data.items():
                try:
                    base64.b64decode(str(value), validate=True)
                except (binascii.Error, ValueError):
                    raise bad_request(
                        f'Secret in version "v1" cannot be handled as a Secret: illegal base64 '
                        f"data in data[{key!r}]"
                    ) from None
            string_data = obj.pop("stringData", None) or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            if data:
                obj["data"] = data
            obj.setdefault("type", "Opaque")
        elif rtype.plural == "namespaces":
            name = obj["metadata"]["name"]
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name
            if old is None:
                obj["spec"] = {"finalizers": [NAMESPACE_FINALIZER]}
                obj["status"] = {"phase": "Active"}
        elif rtype.plural == CRD_PLURAL:
            causes = check_crd(obj)
            if causes:
                raise invalid(rtype.kind, rtype.group, obj["metadata"].get("name", ""), causes)
            if old is not None:
                obj["status"] = copy.deepcopy(old.get("status", {}))
            if not obj["metadata"].get("deletionTimestamp"):
                self._accept_crd(obj)

    def _accept_crd(self, crd: dict[str, Any]) -> None:
        now = timestamp(self.clock())
        spec = crd["spec"]
        status = crd.setdefault("status", {})
        previous = {c["type"]: c for c in status.get("conditions", [])}
        conditions = []
        for kind, reason, message in (
            ("NamesAccepted", "NoConflicts", "no conflicts found for the custom resource names"),
            ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ):
            since = previous.get(kind, {}).get("lastTransitionTime", now)
            conditions.append(
                {
                    "type": kind,
                    "status": "True",
                    "reason": reason,
                    "message": message,
                    "lastTransitionTime": since,
                }
            )
        status["conditions"] = conditions
        status["acceptedNames"] = copy.deepcopy(spec["names"])
        storage = next(v["name"] for v in spec["versions"] if v.get("storage"))
        stored = status.get("storedVersions") or []
        status["storedVersions"] = stored + ([storage] if storage not in stored else [])

    def _finalizers(self, rtype: ResourceType, obj: dict[str, Any]) -> list[str]:
        found = list(obj["metadata"].get("finalizers") or [])
        if rtype.plural == "namespaces" and not rtype.group:
            found += (obj.get("spec") or {}).get("finalizers") or []
        return found

    # -- commit, removal and the cascades that follow -----------------------------------------

    def _commit(
        self, rtype: ResourceType, kind: str, obj: dict[str, Any], old: dict[str, Any] | None
    ) -> dict[str, Any]:
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        metadata = obj["metadata"]
        position = (metadata.get("namespace") or "", metadata["name"])
        self._objects.setdefault(rtype.key, {})[position] = obj
        self._uids[metadata["uid"]] = (rtype.key, position[0], position[1])
        self._publish(Change(self.revision, rtype.key, kind, obj, old))
        is_crd = rtype.plural == CRD_PLURAL and rtype.group == CRD_GROUP
        if is_crd and not metadata.get("deletionTimestamp"):
            self.registry.install_crd(obj)
        return obj

    def _publish(self, change: Change) -> None:
        self.history.append(change)
        for watcher in self._watchers.get(change.key, ()):
            watcher.offer(change)

    def _delete(
        self, rtype: ResourceType, old: dict[str, Any], *, foreground: bool = False
    ) -> dict[str, Any]:
        """Remove ``old``, or only mark it while finalizers (or its dependents) hold it.

        Foreground deletion is Kubernetes' own: the owner keeps a ``foregroundDeletion``
        finalizer until every dependent with ``blockOwnerDeletion`` is gone.
        """
        is_namespace = rtype.plural == "namespaces" and not rtype.group
        is_crd = rtype.plural == CRD_PLURAL and rtype.group == CRD_GROUP
        if old["metadata"].get("deletionTimestamp"):
            return old
        if not (self._finalizers(rtype, old) or is_crd or foreground):
            return self._remove(rtype, old)

        marked = copy.deepcopy(old)
        marked["metadata"]["deletionTimestamp"] = timestamp(self.clock())
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        if rtype.tracks_generation:
            marked["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1
        if is_namespace:
            marked.setdefault("status", {})["phase"] = "Terminating"
        if is_crd:
            marked["metadata"].setdefault("finalizers", []).append(CRD_CLEANUP_FINALIZER)
        if foreground:
            marked["metadata"].setdefault("finalizers", []).append(FOREGROUND_FINALIZER)
        committed = self._commit(rtype, MODIFIED, marked, old)
        if foreground:
            for dependent_type, dependent in self._dependents(old["metadata"]["uid"]):
                self._delete(dependent_type, dependent)
            self._finish_foreground(old["metadata"]["uid"])
        if is_namespace:
            self._empty_namespace(old["metadata"]["name"])
        if is_crd:
            self._empty_crd(old["metadata"]["name"])
        current = self._lookup_uid(old["metadata"]["uid"])
        return current if current is not None else committed

    def _remove(self, rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        removed = copy.deepcopy(obj)
        metadata = removed["metadata"]
        position = (metadata.get("namespace") or "", metadata["name"])
        old = self._objects.get(rtype.key, {}).pop(position, None)
        self._uids.pop(metadata["uid"], None)
        self.revision += 1
        metadata["resourceVersion"] = str(self.revision)
        self._publish(Change(self.revision, rtype.key, DELETED, removed, old))

        if rtype.plural == CRD_PLURAL and rtype.group == CRD_GROUP:
            self.registry.remove_crd(metadata["name"])
        self._collect_dependents(metadata["uid"])
        for reference in metadata.get("ownerReferences") or []:
            self._finish_foreground(str(reference.get("uid")))
        namespace = metadata.get("namespace")
        if namespace:
            self._finish_namespace(namespace)
        if not rtype.builtin:
            self._finish_crd(rtype)
        return removed

    def _lookup_uid(self, uid: str) -> dict[str, Any] | None:
        place = self._uids.get(uid)
        if place is None:
            return None
        key, namespace, name = place
        return self._objects.get(key, {}).get((namespace, name))

    def _type_of(self, key: Key) -> ResourceType:
        rtype = self.registry.by_key(key)
        if rtype is None:
            raise StatusError(500, "InternalError", f"no served type for {key}")
        return rtype

    def _empty_namespace(self, namespace: str) -> None:
        for key, objects in list(self._objects.items()):
            rtype = self.registry.by_key(key)
            for position in list(objects):
                current = objects.get(position)
                if position[0] == namespace and rtype is not None and current is not None:
                    self._delete(rtype, current)
        self._finish_namespace(namespace)

    def _finish_namespace(self, namespace: str) -> None:
        found = self._namespace_object(namespace)
        if found is None or not found["metadata"].get("deletionTimestamp"):
            return
        if any(
            position[0] == namespace for objects in self._objects.values() for position in objects
        ):
            return
        rtype = self._type_of(("", "namespaces"))
        finished = copy.deepcopy(found)
        finished["spec"]["finalizers"] = [
            f for f in finished.get("spec", {}).get("finalizers", []) if f != NAMESPACE_FINALIZER
        ]
        if self._finalizers(rtype, finished):
            self._commit(rtype, MODIFIED, finished, found)
        else:
            self._remove(rtype, finished)

    def _empty_crd(self, crd_name: str) -> None:
        key = self.registry.crd_key(crd_name)
        if key is not None:
            rtype = self._type_of(key)
            for obj in list(self._objects.get(key, {}).values()):
                self._delete(rtype, obj)
            self._finish_crd(rtype)

    def _finish_crd(self, rtype: ResourceType) -> None:
        crd_name = f"{rtype.plural}.{rtype.group}"
        crd = self._objects.get((CRD_GROUP, CRD_PLURAL), {}).get(("", crd_name))
        if crd is None or not crd["metadata"].get("deletionTimestamp"):
            return
        if self._objects.get(rtype.key):
            return
        crd_type = self._type_of((CRD_GROUP, CRD_PLURAL))
        finished = copy.deepcopy(crd)
        finished["metadata"]["finalizers"] = [
            f for f in finished["metadata"].get("finalizers", []) if f != CRD_CLEANUP_FINALIZER
        ]
        if finished["metadata"]["finalizers"]:
            self._commit(crd_type, MODIFIED, finished, crd)
        else:
            self._remove(crd_type, finished)

    def _finish_foreground(self, owner_uid: str) -> None:
        """An owner deleted in the foreground goes once its last dependent has gone."""
        owner = self._lookup_uid(owner_uid)
        if owner is None:
            return
        finalizers = owner["metadata"].get("finalizers") or []
        if FOREGROUND_FINALIZER not in finalizers:
            return
        for _, dependent in self._dependents(owner_uid):
            references = dependent["metadata"].get("ownerReferences") or []
            if any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") for r in references):
                return
        rtype = self._type_of(self._uids[owner_uid][0])
        released = copy.deepcopy(owner)
        released["metadata"]["finalizers"] = [f for f in finalizers if f != FOREGROUND_FINALIZER]
        if self._finalizers(rtype, released):
            self._commit(rtype, MODIFIED, released, owner)
        else:
            self._remove(rtype, released)

    def _dependents(self, owner_uid: str) -> list[tuple[ResourceType, dict[str, Any]]]:
        found = []
        for key, objects in self._objects.items():
            for obj in objects.values():
                references = obj["metadata"].get("ownerReferences") or []
                if any(ref.get("uid") == owner_uid for ref in references):
                    found.append((self._type_of(key), obj))
        return found

    def _collect_dependents(self, owner_uid: str) -> None:
        """Background garbage collection: dependents whose owners are all gone are deleted."""
        for rtype, obj in self._dependents(owner_uid):
            current = self._lookup_uid(obj["metadata"]["uid"])
            if current is None:
                continue
            references = current["metadata"].get("ownerReferences") or []
            alive = [ref for ref in references if ref.get("uid") in self._uids]
            if alive:
                self._drop_references(rtype, current, owner_uid)
            else:
                self._delete(rtype, current)

    def _orphan_dependents(self, owner_uid: str) -> None:
        for rtype, obj in self._dependents(owner_uid):
            self._drop_references(rtype, obj, owner_uid)

    def _drop_references(self, rtype: ResourceType, obj: dict[str, Any], owner_uid: str) -> None:
        updated = copy.deepcopy(obj)
        remaining = [
            ref
            for ref in updated["metadata"].get("ownerReferences", [])
            if ref.get("uid") != owner_uid
        ]
        if remaining:
            updated["metadata"]["ownerReferences"] = remaining
        else:
            updated["metadata"].pop("ownerReferences", None)
        self._commit(rtype, MODIFIED, updated, obj)


_OWNER_REFERENCE_FIELDS = (
    ("apiVersion", "version must not be empty"),
    ("kind", "kind must not be empty"),
    ("name", "name must not be empty"),
    ("uid", "uid must not be empty"),
)


def _owner_reference_errors(rtype: ResourceType, references: Any) -> list[FieldError]:
    """Kubernetes' checks of ``metadata.ownerReferences``.

    A reference that is not an object, or a field of the wrong type, cannot be decoded (400, as
    the API server's decoder answers); a missing field is a 422 cause. Garbage collection reads
    every stored object's references, so one malformed list must never be stored.
    """
    if references is None:
        return []
    if not isinstance(references, list) or not all(isinstance(r, dict) for r in references):
        raise bad_request(
            f"{rtype.kind} in version {json.dumps(rtype.version)} cannot be handled as a "
            f"{rtype.kind}: metadata.ownerReferences must be a list of objects"
        )
    errors = []
    for reference in references:
        for key, message in _OWNER_REFERENCE_FIELDS:
            value = reference.get(key, "")
            if not isinstance(value, str):
                raise bad_request(
                    f"{rtype.kind} in version {json.dumps(rtype.version)} cannot be handled as "
                    f"a {rtype.kind}: metadata.ownerReferences.{key} must be a string"
                )
            if not value:
                errors.append(
                    FieldError(
                        CAUSE_INVALID,
                        f"metadata.ownerReferences.{key}",
                        f'Invalid value: "": {message}',
                    )
                )
        for flag in ("controller", "blockOwnerDeletion"):
            if not isinstance(reference.get(flag, False), bool):
                raise bad_request(
                    f"{rtype.kind} in version {json.dumps(rtype.version)} cannot be handled as "
                    f"a {rtype.kind}: metadata.ownerReferences.{flag} must be true or false"
                )
    controllers = [r for r in references if r.get("controller") is True]
    if len(controllers) > 1:
        errors.append(
            FieldError(
                CAUSE_INVALID,
                "metadata.ownerReferences",
                f"Invalid value: {json.dumps(controllers)}: Only one reference can have "
                "Controller set to true.",
            )
        )
    return errors


def _label_errors(labels: dict[str, str]) -> list[FieldError]:
    """Kubernetes' label rules: a key is an optional DNS-subdomain prefix and ``/`` and a name
    of at most 63 characters; a value is empty or such a name."""
    errors = []
    for key, value in labels.items():
        prefix, slash, name = key.rpartition("/")
        if slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    "metadata.labels",
                    f"Invalid value: {json.dumps(key)}: prefix part must be a lowercase RFC 1123 "
                    "subdomain",
                )
            )
        if not name or len(name) > 63 or not _QUALIFIED_NAME.match(name):
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    "metadata.labels",
                    f"Invalid value: {json.dumps(key)}: name part {_QUALIFIED_NAME_RULE}, "
                    "and at most 63 characters",
                )
            )
        if value and (len(value) > 63 or not _QUALIFIED_NAME.match(value)):
            errors.append(
                FieldError(
                    CAUSE_INVALID,
                    "metadata.labels",
                    f"Invalid value: {json.dumps(value)}: a valid label value "
                    f"{_QUALIFIED_NAME_RULE}, and at most 63 characters",
                )
            )
    return errors
