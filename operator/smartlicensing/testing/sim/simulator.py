"""The simulator as one ASGI app, and the ways to run it: in process or on a port.

``Simulator`` owns the world, the call log, the faults and the rate limit. Its ``app`` wraps the
routes in one plain ASGI layer that, for every call outside ``/_sim``, takes a rate-limit token,
applies the first matching fault, runs the route and records the call, masked. Tests use it
through ``httpx.ASGITransport`` (fast, no sockets) or through ``serve_in_thread`` (a real uvicorn
on a loopback port, in its own thread and event loop), whose server can also really drop a
connection.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from smartlicensing.testing.sim import admin, choices, cluster_routes, cssm_routes
from smartlicensing.testing.sim.calls import CallLog, mask_body, mask_headers, mask_query, mask_text
from smartlicensing.testing.sim.faults import FaultTable, TokenBucket
from smartlicensing.testing.sim.world import World, rfc3339
from smartlicensing.testing.sim.worldfile import WorldFileError, WorldSpec, parse_world

_CLUSTER_PATH = re.compile(r"^/clusters/([0-9a-fA-F-]+)/")


class SimClock:
    """The simulator's clock: read it, or move it forward (timers catch up in order)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def now(self) -> datetime:
        return self._sim.world.now

    def advance(self, delta: timedelta | None = None, **amount: float) -> datetime:
        step = (delta or timedelta(0)) + timedelta(**amount)
        with self._sim.lock:
            self._sim.world.advance(step)
            return self._sim.world.now


class Simulator:
    """CSSM, SSM On-Prem and Secure Workload clusters sharing one world.

    >>> sim = Simulator.from_file("examples/world.yaml", seed=1)
    >>> client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url="http://sim")
    >>> sim.clock.advance(days=1)  # every registered cluster syncs once

    ``wall_clock`` is the real time that signed cluster requests are checked against;
    ``monotonic`` drives the rate limit. Both are injectable so that tests never sleep.
    """

    def __init__(
        self,
        world: WorldSpec | None = None,
        *,
        seed: int | None = None,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.calls = CallLog()
        self.faults = FaultTable()
        self.rate_limit: TokenBucket | None = None
        self.clock = SimClock(self)
        self.world = World(world or WorldSpec(), seed=seed)
        self._transports: dict[tuple[str, int], asyncio.Transport] = {}
        routes = [
            *admin.routes(self),
            *cssm_routes.routes(self),
            *cluster_routes.routes(self, lambda: self.wall_clock()),
        ]
        self._routes = Starlette(
            routes=routes,
            exception_handlers={HTTPException: _http_problem},  # type: ignore[dict-item]
        )

    @classmethod
    def from_file(cls, path: str | Path, **options: Any) -> Simulator:
        raw = Path(path).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise WorldFileError(
                f"the world file is not UTF-8 text (byte {error.start} cannot be decoded)"
            ) from None
        return cls(parse_world(text), **options)

    def load(self, spec: WorldSpec, *, seed: int | None = None) -> None:
        """Replace the world; faults, rate limit and the call log stay as they are."""
        world = World(spec, seed=seed)
        with self.lock:
            self.world = world

    def set_rate_limit(self, rate: float | None, burst: int = 1) -> None:
        bucket = TokenBucket(rate, burst, self.monotonic) if rate is not None else None
        with self.lock:
            self.rate_limit = bucket

    def summary(self) -> dict[str, Any]:
        world = self.world
        servers = [world.cloud, *world.on_prem.values()]
        return {
            "now": rfc3339(world.now),
            "seed": world.seed,
            "servers": [
                {
                    "name": s.name,
                    "onPrem": s.on_prem,
                    "accounts": {a.domain: sorted(a.virtual_accounts) for a in s.accounts.values()},
                }
                for s in servers
            ],
            "clusters": [
                {"uuid": c.uuid, "name": c.name, "version": c.version, "role": c.role}
                for c in world.clusters.values()
            ],
        }

    # --- the ASGI layer ---------------------------------------------------------------------

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim/"):
            await self._routes(scope, receive, send)
            return

        chunks, size = [], 0
        while size <= choices.REQUEST_BODY_LIMIT:
            message = await receive()
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if not message.get("more_body"):
                break
        body = b"".join(chunks)

        method, path = scope["method"], scope["path"]
        if size > choices.REQUEST_BODY_LIMIT:
            with self.lock:
                self.calls.record(
                    {
                        "time": rfc3339(self.world.now),
                        "method": method,
                        "path": mask_text(path, self.world.secrets),
                        "query": "",
                        "cluster": None,
                        "headers": {},
                        "body": "",
                        "fault": None,
                        "status": 413,
                    }
                )
            text = f"the request body is larger than {choices.REQUEST_BODY_LIMIT} bytes"
            await _answer(send, 413, _failure(path, 413, text))
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        cluster = _CLUSTER_PATH.match(path)
        with self.lock:
            wait = self.rate_limit.take() if self.rate_limit is not None else None
            fault = self.faults.take(method, path) if wait is None else None
            secrets = self.world.secrets
            entry: dict[str, Any] = {
                "time": rfc3339(self.world.now),
                "method": method,
                "path": mask_text(path, secrets),
                "query": mask_query(scope.get("query_string", b"").decode("latin-1"), secrets),
                "cluster": cluster.group(1).lower() if cluster else None,
                "headers": mask_headers(headers),
                "body": mask_body(body, headers.get("content-type", ""), secrets),
                "fault": fault.kind if fault else ("rateLimit" if wait else None),
                "status": None,
            }

        def record(status: int | None) -> None:
            entry["status"] = status
            with self.lock:
                self.calls.record(entry)

        if wait is not None:
            record(429)
            payload = _failure(path, 429, "rate limited; retry after the Retry-After seconds")
            await _answer(send, 429, payload, {"Retry-After": str(wait)})
            return
        if fault is not None:
            if fault.kind == "error":
                record(fault.status)
                await _answer(send, fault.status, _failure(path, fault.status, "injected fault"))
                return
            if fault.kind == "throttle":
                record(fault.status)
                headers_out = {"Retry-After": str(fault.retry_after)}
                payload = _failure(path, fault.status, "rate limited (injected)")
                await _answer(send, fault.status, payload, headers_out)
                return
            if fault.kind == "drop":
                record(None)
                await self._drop(scope)
                return
            if fault.kind == "slow":  # held before the work; a held commit waits after it
                await asyncio.sleep(fault.delay)

        replay_done = False

        async def replay() -> Message:
            nonlocal replay_done
            if replay_done:
                return await receive()
            replay_done = True
            return {"type": "http.request", "body": body, "more_body": False}

        if fault is not None and fault.kind == "commit":
            await self._routes(scope, replay, _discard)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                record(None)
                await self._drop(scope)
                return
            record(fault.status)
            payload = _failure(path, fault.status, "injected fault after the work was done")
            await _answer(send, fault.status, payload)
            return

        status: list[int] = []

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self._routes(scope, replay, observe)
        record(status[0] if status else None)

    async def _drop(self, scope: Scope) -> None:
        client = scope.get("client")
        transport = self._transports.get((client[0], client[1])) if client else None
        if transport is None:
            # In process (httpx.ASGITransport) there is no socket: fail the way httpx reports a
            # connection closed without an answer.
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        transport.abort()
        await asyncio.sleep(0)  # let the server notice before the app returns

    # --- serving ----------------------------------------------------------------------------

    def _protocol(self) -> type[H11Protocol]:
        transports = self._transports

        class Protocol(H11Protocol):
            """uvicorn's HTTP/1.1 protocol, remembering each connection so it can be dropped."""

            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(transport)
                if self.client:
                    transports[self.client] = transport

            def connection_lost(self, exc: Exception | None) -> None:
                if self.client:
                    transports.pop(self.client, None)
                super().connection_lost(exc)

        return Protocol

    def config(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        log_level: str = "warning",
    ) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            host=host,
            port=port,
            http=self._protocol(),
            interface="asgi3",
            proxy_headers=False,
            lifespan="off",
            log_level=log_level,
            access_log=False,
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
        )

    @contextmanager
    def serve_in_thread(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> Iterator[str]:
        """Serve on a loopback port in a thread of its own; yields the base URL.

        With ``tls_cert`` and ``tls_key`` (PEM files) it serves HTTPS, so clients' CA-bundle
        handling can be tested too.
        """
        server = uvicorn.Server(
            self.config(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)
        )
        thread = threading.Thread(target=server.run, name="licensing-simulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the licensing simulator did not start")
            time.sleep(0.01)
        bound = server.servers[0].sockets[0].getsockname()
        try:
            yield f"{'https' if tls_cert else 'http'}://{host}:{bound[1]}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def _failure(path: str, status: int, text: str) -> dict[str, Any]:
    """An injected failure in the shape of the side it is on: cluster or CSSM."""
    if _CLUSTER_PATH.match(path):
        code = {429: "TooManyRequests", 503: "Unavailable"}.get(status)
        return {
            "error": code or ("InternalError" if status >= 500 else "BadRequest"),
            "message": text,
        }
    return {"status": "ERROR", "statusMessage": text}


async def _answer(
    send: Send, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    response = JSONResponse(payload, status_code=status, headers=headers)
    await response({"type": "http"}, _nothing, send)


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


async def _discard(message: Message) -> None:
    return None


async def _http_problem(request: Request, error: HTTPException) -> Response:
    code = {404: "NotFound", 405: "MethodNotAllowed"}.get(error.status_code, "BadRequest")
    return JSONResponse(
        {"error": code, "message": f"{request.method} {request.url.path}: {error.detail}"},
        status_code=error.status_code,
    )


def serve(
    world_file: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8443,
    seed: int | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Load a world file and serve it until interrupted (the ``smartlicensing sim`` command)."""
    sim = Simulator.from_file(world_file, seed=seed)
    scheme = "https" if tls_cert else "http"

    def bound(actual_port: int) -> None:
        announce(
            f"licensing simulator: {scheme}://{host}:{actual_port} "
            f"(world {world_file}, seed {sim.world.seed})"
        )

    config = sim.config(host=host, port=port, tls_cert=tls_cert, tls_key=tls_key)
    _AnnouncingServer(config, bound).run()


class _AnnouncingServer(uvicorn.Server):
    """Says where it listens once the socket is bound: not before a bind that fails, and with
    the real port when asked for port 0."""

    def __init__(self, config: uvicorn.Config, bound: Callable[[int], None]) -> None:
        super().__init__(config)
        self.on_bound = bound

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.servers and self.servers[0].sockets:
            self.on_bound(int(self.servers[0].sockets[0].getsockname()[1]))
