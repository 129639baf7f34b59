"""The three patch formats a client may send, applied to a copy of the stored object.

* JSON merge patch (RFC 7386): maps merge, ``null`` deletes, lists are replaced.
* JSON patch (RFC 6902), through the ``jsonpatch`` library. A failed ``test`` operation is a 422,
  which is what kopf's guarded finalizer removal reads as "someone changed it, retry later".
* Strategic merge patch, only as far as ``kubectl apply`` needs it for Secrets, ConfigMaps and
  Namespaces: merge-patch semantics plus the ``$patch: replace|delete`` directive on maps and
  ``$retainKeys``. These kinds have no lists whose merge keys matter to kubectl, so lists replace.

Server-side apply (``application/apply-patch+yaml``) is refused with 415: field ownership is not
modelled, and treating it as a merge would make ``kubectl apply --server-side`` seem to work while
skipping the conflicts it exists to report.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from smartlicensing.testing.kubeapi.errors import (
    REASON_INVALID,
    REASON_UNSUPPORTED_MEDIA_TYPE,
    StatusError,
    bad_request,
)

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    body = {k: v for k, v in patch.items() if not k.startswith("$")}
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: strategic_merge_patch(None, v) for k, v in body.items() if v is not None}
    if directive is not None:
        raise bad_request(f"unknown patch directive: $patch: {directive!r}")
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    for key, value in body.items():
        if value is None:
            result.pop(key, None)
            continue
        merged = strategic_merge_patch(result.get(key), value)
        if merged is None:
            result.pop(key, None)
        else:
            result[key] = merged
    return result


def json_patch(target: dict[str, Any], operations: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations in order; a failure names the operation, never a value.

    The library's own messages quote the document (``member 'x' not found in {...}``) or the
    compared values, which for a Secret would put its data into the error answer.
    """
    if not isinstance(operations, list):
        raise bad_request("json patch body must be a list of operations")
    document: Any = target
    for index, operation in enumerate(operations):
        where = _operation(index, operation)
        try:
            document = jsonpatch.JsonPatch([operation]).apply(document)
        except jsonpatch.JsonPatchTestFailed:
            raise StatusError(
                422,
                REASON_INVALID,
                f"the server rejected our request: {where} failed: the value differs",
            ) from None
        except (jsonpatch.JsonPointerException, jsonpatch.JsonPatchPathNotFound):
            raise StatusError(
                422,
                REASON_INVALID,
                f"the server rejected our request due to an error: {where} failed: the path "
                "does not exist in the object",
            ) from None
        except jsonpatch.JsonPatchConflict:
            raise StatusError(
                422,
                REASON_INVALID,
                f"the server rejected our request due to an error: {where} cannot be applied "
                "to the object",
            ) from None
        except jsonpatch.JsonPatchException as error:
            raise StatusError(
                422, REASON_INVALID, f"the server rejected our request due to an error: {error}"
            ) from None
        except (TypeError, KeyError, ValueError, IndexError) as error:
            raise bad_request(f"invalid json patch: {where}: {type(error).__name__}") from None
    if not isinstance(document, dict):
        raise bad_request("json patch must leave an object")
    return document


def _operation(index: int, operation: Any) -> str:
    if not isinstance(operation, dict):
        return f"operation {index}"
    op, path = operation.get("op"), operation.get("path")
    return f"operation {index} ({json.dumps(op)[:40]} at {json.dumps(path)[:200]})"


def apply_patch(content_type: str, target: dict[str, Any], body: Any) -> dict[str, Any]:
    """The patched copy of ``target``; the stored object is never touched."""
    kind = content_type.split(";")[0].strip()
    if kind == MERGE_PATCH:
        if not isinstance(body, dict):
            raise bad_request("merge patch body must be a JSON object")
        result = merge_patch(target, body)
    elif kind == JSON_PATCH:
        result = json_patch(copy.deepcopy(target), body)
    elif kind == STRATEGIC_MERGE_PATCH:
        if not isinstance(body, dict):
            raise bad_request("strategic merge patch body must be a JSON object")
        result = strategic_merge_patch(target, body) or {}
    elif kind == APPLY_PATCH:
        raise StatusError(
            415,
            REASON_UNSUPPORTED_MEDIA_TYPE,
            "server-side apply is not supported by the local Kubernetes API; "
            "use client-side `kubectl apply` (without --server-side)",
        )
    else:
        raise StatusError(
            415,
            REASON_UNSUPPORTED_MEDIA_TYPE,
            f"the body of the request was in an unknown format "
            f"- accepted media types include: {JSON_PATCH}, {MERGE_PATCH}, "
            f"{STRATEGIC_MERGE_PATCH}",
        )
    return copy.deepcopy(result)
