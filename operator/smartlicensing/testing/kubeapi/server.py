"""HTTP routes of the local Kubernetes API, and the thread that serves them.

One catch-all handler parses the Kubernetes URL grammar (``/api/v1/...`` for the core group,
``/apis/{group}/{version}/...`` for the others; ``namespaces/{ns}/`` before namespaced plurals;
an optional subresource after the name) and calls the :class:`~.store.Store`. The server runs
in a thread with its own event loop so that a test, kopf's ``KopfRunner`` thread and kubectl
subprocesses can all use it at once, and so that joining kopf's thread never blocks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from smartlicensing.testing.kubeapi import openapi, tables
from smartlicensing.testing.kubeapi.errors import (
    REASON_METHOD_NOT_ALLOWED,
    REASON_NOT_ACCEPTABLE,
    REASON_NOT_FOUND,
    REASON_REQUEST_ENTITY_TOO_LARGE,
    REASON_UNSUPPORTED_MEDIA_TYPE,
    StatusError,
    bad_request,
)
from smartlicensing.testing.kubeapi.resources import ResourceType
from smartlicensing.testing.kubeapi.selectors import parse_field_selector, parse_label_selector
from smartlicensing.testing.kubeapi.store import (
    FIELD_VALIDATION_IGNORE,
    FIELD_VALIDATION_STRICT,
    FIELD_VALIDATION_WARN,
    Store,
    WriteOptions,
)
from smartlicensing.testing.kubeapi.watch import BOOKMARK, ERROR, INITIAL_EVENTS_END, Watcher

logger = logging.getLogger(__name__)

DEFAULT_VERSION = "v1.32.0"
JSON = "application/json"
PROTOBUF = "application/vnd.kubernetes.protobuf"
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0
_MAX_BODY = 8 * 1024 * 1024


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _json_response(body: Any, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    response = web.Response(body=_dump(body), status=status, content_type=JSON)
    for warning in warnings or []:
        escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{escaped}"')
    return response


class _AliasRefused(ValueError):
    """A YAML body uses an alias."""


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without aliases: a few hundred bytes of nested aliases expand to billions of nodes
    once the object is copied or serialised, which would hold the server's only event loop."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused("yaml: the request body uses an alias (*name); aliases are refused")
        return super().compose_node(parent, index)


def _error_response(error: StatusError) -> web.Response:
    return _json_response(error.status(), status=error.code)


def _not_found_path(path: str) -> StatusError:
    return StatusError(
        404, REASON_NOT_FOUND, f"the server could not find the requested resource ({path})"
    )


class _Target:
    """A parsed resource URL: the type, the namespace, the name and the subresource."""

    def __init__(
        self,
        rtype: ResourceType,
        namespace: str | None,
        name: str | None,
        subresource: str | None,
    ) -> None:
        self.rtype = rtype
        self.namespace = namespace
        self.name = name
        self.subresource = subresource


class KubeAPIApp:
    """The aiohttp application over one :class:`Store`."""

    def __init__(self, store: Store, *, bookmark_interval: float, version: str) -> None:
        self.store = store
        self.bookmark_interval = bookmark_interval
        self.version = version
        self.address = "127.0.0.1:0"
        self.app = web.Application(client_max_size=_MAX_BODY)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except StatusError as error:
            return _error_response(error)
        except web.HTTPRequestEntityTooLarge:
            return _error_response(
                StatusError(
                    413,
                    REASON_REQUEST_ENTITY_TOO_LARGE,
                    f"Request entity too large: limit is {_MAX_BODY}",
                )
            )
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as error:
            logger.exception("local Kubernetes API failed on %s %s", request.method, request.path)
            return _error_response(
                StatusError(500, "InternalError", f"internal error: {type(error).__name__}")
            )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [part for part in request.path.split("/") if part]
        if request.method == "GET":
            document = self._discovery(parts)
            if document is not None:
                return _json_response(document)
        if parts[:1] == ["api"] and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise _not_found_path(request.path)
        target = self._target(group, version, rest, request.path)
        return await self._serve(request, target)

    # -- discovery ----------------------------------------------------------------------------

    def _discovery(self, parts: list[str]) -> dict[str, Any] | None:
        registry = self.store.registry
        if parts == ["version"]:
            major, minor = self.version.lstrip("v").split(".")[:2]
            return {
                "major": major,
                "minor": minor,
                "gitVersion": self.version,
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "go1.23.0",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if parts in (["healthz"], ["livez"], ["readyz"]):
            return {"status": "ok"}
        if parts == ["api"]:
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": self.address}
                ],
            }
        if parts == ["api", "v1"]:
            return registry.resource_list("", "v1")
        if parts == ["openapi", "v3"]:
            return openapi.root_document(registry)
        if parts[:2] == ["openapi", "v3"] and parts[2:3] == ["api"] and len(parts) == 4:
            return openapi.group_version_document(registry, "", parts[3])
        if parts[:2] == ["openapi", "v3"] and parts[2:3] == ["apis"] and len(parts) == 5:
            return openapi.group_version_document(registry, parts[3], parts[4])
        if parts == ["apis"]:
            return registry.group_list()
        if len(parts) == 2 and parts[0] == "apis":
            return registry.group_document(parts[1])
        if len(parts) == 3 and parts[0] == "apis":
            return registry.resource_list(parts[1], parts[2])
        return None

    def _target(self, group: str, version: str, rest: list[str], path: str) -> _Target:
        registry = self.store.registry
        namespace: str | None = None
        if (
            len(rest) >= 3
            and rest[0] == "namespaces"
            and not (len(rest) == 3 and rest[2] in ("status", "finalize") and not group)
        ):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise _not_found_path(path)
        rtype = registry.find(group, version, rest[0])
        if rtype is None:
            raise _not_found_path(path)
        if rtype.namespaced != (namespace is not None) and len(rest) > 1:
            raise _not_found_path(path)
        if not rtype.namespaced and namespace is not None:
            raise _not_found_path(path)
        name = rest[1] if len(rest) >= 2 else None
        subresource = rest[2] if len(rest) == 3 else None
        return _Target(rtype, namespace, name, subresource)

    # -- resources ----------------------------------------------------------------------------

    async def _serve(self, request: web.Request, target: _Target) -> web.StreamResponse:
        accept = request.headers.get("Accept", "")
        if PROTOBUF in accept and JSON not in accept and "*/*" not in accept:
            raise StatusError(406, REASON_NOT_ACCEPTABLE, "only application/json is served")
        query = request.query
        method = request.method
        rtype = target.rtype
        if target.name is None:
            if method == "GET":
                if query.get("watch") in ("true", "1"):
                    return await self._watch(request, target)
                return self._list(request, target)
            if method == "POST":
                body = await self._body(request)
                options = self._write_options(request)
                created = self.store.create(rtype, target.namespace, body, options)
                return _json_response(self._versioned(created, rtype), 201, options.warnings)
            if method == "DELETE":
                removed = self.store.delete_collection(
                    rtype,
                    target.namespace,
                    parse_label_selector(query.get("labelSelector")),
                    parse_field_selector(query.get("fieldSelector"), rtype.plural),
                    query.get("propagationPolicy"),
                )
                return _json_response(self._list_body(rtype, removed, self.store.revision))
            raise self._method_not_allowed(method)

        if method == "GET":
            obj = self.store.get(rtype, target.namespace, target.name)
            if target.subresource not in (None, "status"):
                raise _not_found_path(request.path)
            if self._wants_table(accept):
                return _json_response(
                    tables.table(
                        rtype,
                        [obj],
                        {"resourceVersion": obj["metadata"]["resourceVersion"]},
                        self.store.clock(),
                        query.get("includeObject", "Metadata"),
                    )
                )
            return _json_response(self._versioned(obj, rtype))
        if method == "PUT":
            body = await self._body(request)
            options = self._write_options(request)
            updated = self.store.update(
                rtype, target.namespace, target.name, body, target.subresource, options
            )
            return _json_response(self._versioned(updated, rtype), 200, options.warnings)
        if method == "PATCH":
            content_type = request.headers.get("Content-Type", "")
            body = await self._body(request, patch=True)
            options = self._write_options(request)
            patched = self.store.patch(
                rtype,
                target.namespace,
                target.name,
                content_type,
                body,
                target.subresource,
                options,
            )
            return _json_response(self._versioned(patched, rtype), 200, options.warnings)
        if method == "DELETE":
            if target.subresource is not None:
                raise self._method_not_allowed(method)
            raw = await request.read()
            try:
                options_body = json.loads(raw) if raw.strip() else None
            except ValueError as error:
                raise bad_request(f"DeleteOptions are not valid JSON: {error}") from None
            if options_body is not None and not isinstance(options_body, dict):
                raise bad_request("DeleteOptions must be a JSON object")
            dry_run = query.get("dryRun") == "All" or (options_body or {}).get("dryRun") == ["All"]
            result = self.store.delete(
                rtype,
                target.namespace,
                target.name,
                options_body,
                query.get("propagationPolicy"),
                dry_run,
            )
            pending = bool(result["metadata"].get("deletionTimestamp")) and not dry_run
            still_there = pending and self._exists(target)
            return _json_response(self._versioned(result, rtype), 202 if still_there else 200)
        raise self._method_not_allowed(method)

    def _exists(self, target: _Target) -> bool:
        assert target.name is not None
        try:
            self.store.get(target.rtype, target.namespace, target.name)
        except StatusError:
            return False
        return True

    @staticmethod
    def _method_not_allowed(method: str) -> StatusError:
        return StatusError(
            405, REASON_METHOD_NOT_ALLOWED, f"the server does not allow this method ({method})"
        )

    @staticmethod
    def _wants_table(accept: str) -> bool:
        return "as=Table" in accept

    @staticmethod
    def _versioned(obj: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
        if obj.get("apiVersion") == rtype.api_version:
            return obj
        return {**obj, "apiVersion": rtype.api_version}

    def _list_body(
        self,
        rtype: ResourceType,
        items: list[dict[str, Any]],
        revision: int,
        continue_token: str = "",
        remaining: int | None = None,
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {"resourceVersion": str(revision)}
        if continue_token:
            metadata["continue"] = continue_token
        if remaining is not None:
            metadata["remainingItemCount"] = remaining
        return {
            "kind": f"{rtype.kind}List",
            "apiVersion": rtype.api_version,
            "metadata": metadata,
            "items": [self._versioned(item, rtype) for item in items],
        }

    def _list(self, request: web.Request, target: _Target) -> web.Response:
        query = request.query
        rtype = target.rtype
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise bad_request(f"invalid limit: {query.get('limit')!r}") from None
        result = self.store.list_objects(
            rtype,
            target.namespace,
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector"), rtype.plural),
            limit=max(limit, 0),
            continue_token=query.get("continue", ""),
        )
        if self._wants_table(request.headers.get("Accept", "")):
            metadata: dict[str, Any] = {"resourceVersion": str(result.revision)}
            if result.continue_token:
                metadata["continue"] = result.continue_token
            return _json_response(
                tables.table(
                    rtype,
                    result.items,
                    metadata,
                    self.store.clock(),
                    query.get("includeObject", "Metadata"),
                )
            )
        return _json_response(
            self._list_body(
                rtype, result.items, result.revision, result.continue_token, result.remaining
            )
        )

    async def _body(self, request: web.Request, *, patch: bool = False) -> Any:
        content_type = request.headers.get("Content-Type", JSON)
        if content_type.startswith(PROTOBUF):
            raise StatusError(
                415,
                REASON_UNSUPPORTED_MEDIA_TYPE,
                "the local Kubernetes API speaks JSON only; protobuf bodies are not supported",
            )
        raw = await request.read()
        try:
            if content_type.startswith(("application/yaml", "application/apply-patch+yaml")):
                return yaml.load(raw, Loader=_NoAliasLoader)
            return json.loads(raw)
        except _AliasRefused as error:
            raise bad_request(str(error)) from None
        except (ValueError, yaml.YAMLError) as error:
            raise bad_request(f"the request body is not valid JSON: {error}") from None

    @staticmethod
    def _write_options(request: web.Request) -> WriteOptions:
        query = request.query
        validation = query.get("fieldValidation") or FIELD_VALIDATION_WARN
        if validation not in (
            FIELD_VALIDATION_STRICT,
            FIELD_VALIDATION_WARN,
            FIELD_VALIDATION_IGNORE,
        ):
            raise bad_request(f"fieldValidation must be Strict, Warn or Ignore, not {validation!r}")
        dry_run = query.get("dryRun")
        if dry_run not in (None, "", "All"):
            raise bad_request(f"unsupported dryRun value: {dry_run!r}")
        return WriteOptions(dry_run=dry_run == "All", field_validation=validation)

    # -- watch --------------------------------------------------------------------------------

    async def _watch(self, request: web.Request, target: _Target) -> web.StreamResponse:
        query = request.query
        rtype = target.rtype
        watcher = Watcher(
            rtype.key,
            target.namespace,
            parse_label_selector(query.get("labelSelector")),
            parse_field_selector(query.get("fieldSelector"), rtype.plural),
        )
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        initial = query.get("sendInitialEvents") in ("true", "1")
        try:
            timeout = float(query.get("timeoutSeconds") or 0)
        except ValueError:
            raise bad_request("timeoutSeconds must be a number") from None
        requested = query.get("resourceVersion") or ""
        if initial and not bookmarks:
            raise bad_request("sendInitialEvents requires allowWatchBookmarks=true")
        since: int | None = None
        if requested not in ("", "0") and not initial:
            try:
                since = int(requested)
            except ValueError:
                raise bad_request(f"invalid resource version: {requested!r}") from None

        as_table = self._wants_table(request.headers.get("Accept", ""))
        include = query.get("includeObject", "Metadata")
        response = web.StreamResponse(status=200, headers={"Content-Type": JSON})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            backlog = self.store.subscribe(watcher, since)
        except StatusError as error:
            await response.write(_dump({"type": ERROR, "object": error.status()}) + b"\n")
            return response

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout > 0 else None
        try:
            lines = [self._event_line(kind, obj, rtype, as_table, include) for kind, obj in backlog]
            if initial:
                lines.append(self._bookmark(rtype, initial_end=True))
            if lines:
                await response.write(b"".join(lines))
            await self._stream(response, watcher, rtype, deadline, bookmarks, as_table, include)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.store.unsubscribe(watcher)
        return response

    async def _stream(
        self,
        response: web.StreamResponse,
        watcher: Watcher,
        rtype: ResourceType,
        deadline: float | None,
        bookmarks: bool,
        as_table: bool,
        include: str,
    ) -> None:
        loop = asyncio.get_running_loop()
        next_bookmark = loop.time() + self.bookmark_interval if bookmarks else None
        while True:
            now = loop.time()
            wakeups = [t for t in (deadline, next_bookmark) if t is not None]
            wait = max(0.0, min(wakeups) - now) if wakeups else None
            try:
                item = await asyncio.wait_for(watcher.queue.get(), wait)
            except TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    return
                await response.write(self._bookmark(rtype))
                next_bookmark = loop.time() + self.bookmark_interval
                continue
            lines = []
            while item is not None:
                lines.append(self._event_line(item[0], item[1], rtype, as_table, include))
                if watcher.queue.empty():
                    break
                item = watcher.queue.get_nowait()
            if lines:
                await response.write(b"".join(lines))
            if item is None:
                return

    def _event_line(
        self,
        kind: str,
        obj: dict[str, Any],
        rtype: ResourceType,
        as_table: bool = False,
        include: str = "Metadata",
    ) -> bytes:
        """One watch event; as a one-row Table when the client asked for tables (get -w)."""
        body = self._versioned(obj, rtype)
        if as_table:
            metadata = {"resourceVersion": obj["metadata"]["resourceVersion"]}
            body = tables.table(rtype, [body], metadata, self.store.clock(), include)
        return _dump({"type": kind, "object": body}) + b"\n"

    def _bookmark(self, rtype: ResourceType, *, initial_end: bool = False) -> bytes:
        metadata: dict[str, Any] = {"resourceVersion": str(self.store.revision)}
        if initial_end:
            metadata["annotations"] = {INITIAL_EVENTS_END: "true"}
        body = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": metadata}
        return _dump({"type": BOOKMARK, "object": body}) + b"\n"


class LocalKubeAPI:
    """An in-process Kubernetes API server for tests and the demo.

    Example::

        with LocalKubeAPI() as api:
            api.write_kubeconfig(tmp_path / "kubeconfig")
            subprocess.run(["kubectl", "--kubeconfig", ..., "apply", "-f", "crd.yaml"])

    Args:
        host: address to listen on (loopback by default).
        port: TCP port; 0 picks a free one (read it back from :attr:`url`).
        history_size: how many changes watches can resume from before they get 410 Gone.
        bookmark_interval: seconds between BOOKMARK events on watches that allow them.
        version: the ``gitVersion`` that ``/version`` reports.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        history_size: int = 10_000,
        bookmark_interval: float = 10.0,
        version: str = DEFAULT_VERSION,
    ) -> None:
        if bookmark_interval <= 0:
            raise ValueError(f"bookmark_interval must be positive, got {bookmark_interval}")
        self.host = host
        self.port = port
        self.history_size = history_size
        self.bookmark_interval = bookmark_interval
        self.version = version
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._app: KubeAPIApp | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        if self._thread is None:
            raise RuntimeError("the local Kubernetes API is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalKubeAPI:
        if self._thread is not None:
            raise RuntimeError("the local Kubernetes API is already started")
        self._ready.clear()
        self._thread = threading.Thread(target=self._run, name="local-kube-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT):
            raise RuntimeError(f"the local Kubernetes API did not start in {_START_TIMEOUT} s")
        if self._failure is not None:
            self._thread = None
            raise RuntimeError(
                f"the local Kubernetes API could not listen on {self.host}:{self.port}: "
                f"{self._failure}"
            ) from self._failure
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            future.result(_STOP_TIMEOUT)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(_STOP_TIMEOUT)
        self._thread = None
        self._loop = None

    def __enter__(self) -> LocalKubeAPI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def write_kubeconfig(self, path: str | Path, namespace: str = "default") -> Path:
        """Write a kubeconfig for kubectl, kopf and the ``kubernetes`` client; returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": {"server": self.url}}],
            "users": [{"name": "local", "user": {"token": "local-kube-api-token"}}],
            "contexts": [
                {
                    "name": "local",
                    "context": {"cluster": "local", "user": "local", "namespace": namespace},
                }
            ],
            "current-context": "local",
            "preferences": {},
        }
        target.write_text(yaml.safe_dump(config, sort_keys=False))
        return target

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as error:
            self._failure = error
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        store = Store(history_size=self.history_size)
        self._app = KubeAPIApp(
            store, bookmark_interval=self.bookmark_interval, version=self.version
        )
        self._runner = web.AppRunner(self._app.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self._app.address = f"{self.host}:{self.port}"

    async def _shutdown(self) -> None:
        if self._app is not None:
            self._app.store.close_watchers()
        if self._runner is not None:
            await self._runner.cleanup()
