"""The control surface for tests and demos, under ``/_sim``: world, clock, clusters, faults,
rate limit and call log, all as JSON (the world also as YAML).

These calls are never faulted, rate-limited or logged, so a test can always reach them.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smartlicensing.testing.sim import choices
from smartlicensing.testing.sim.faults import FaultSpecError
from smartlicensing.testing.sim.world import rfc3339
from smartlicensing.testing.sim.worldfile import WorldFileError, parse_world

if TYPE_CHECKING:
    from smartlicensing.testing.sim.simulator import Simulator

_CLUSTER_FIELDS: dict[str, type] = {
    "workloads": int,
    "endpoints": int,
    "version": str,
    "role": str,
    "offline": bool,
}
_ROLES = ("Standalone", "FederationLeader", "FederationFollower", "Standby")


def _decimal(text: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also accepts superscripts, which ``int`` refuses."""
    return text.isascii() and text.isdigit()


def _duration_part(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        raise FaultSpecError("the body is not valid JSON") from None
    if not isinstance(value, dict):
        raise FaultSpecError("the body must be a JSON object")
    return value


def routes(sim: Simulator) -> list[BaseRoute]:
    async def get_world(request: Request) -> Response:
        with sim.lock:
            return JSONResponse(sim.summary())

    async def put_world(request: Request) -> Response:
        text = (await request.body()).decode(errors="replace")
        seed = request.query_params.get("seed")
        if seed is not None and not _decimal(seed):
            return _bad("seed must be a non-negative integer")
        try:
            spec = parse_world(text)
        except WorldFileError as error:
            return _bad(str(error))
        sim.load(spec, seed=int(seed) if seed is not None else None)
        with sim.lock:
            return JSONResponse(sim.summary())

    async def get_clock(request: Request) -> Response:
        return JSONResponse({"now": rfc3339(sim.clock.now())})

    async def advance_clock(request: Request) -> Response:
        try:
            body = await _json_object(request)
            amount = {k: body.get(k, 0) for k in ("seconds", "minutes", "hours", "days")}
            if not all(_duration_part(v) for v in amount.values()):
                raise FaultSpecError("seconds, minutes, hours and days must be numbers >= 0")
            try:
                step = timedelta(**amount)
            except OverflowError:
                step = timedelta.max
            if step > choices.CLOCK_ADVANCE_MAX:
                raise FaultSpecError(
                    f"one advance moves the clock at most {choices.CLOCK_ADVANCE_MAX.days} days"
                )
        except FaultSpecError as error:
            return _bad(str(error))
        sim.clock.advance(step)
        return JSONResponse({"now": rfc3339(sim.clock.now())})

    async def get_cluster(request: Request) -> Response:
        from smartlicensing.testing.sim.cluster_routes import status_of

        with sim.lock:
            cluster = sim.world.clusters.get(request.path_params["uuid"].lower())
            if cluster is None:
                return _bad("no cluster with this UUID", 404)
            return JSONResponse({**status_of(sim.world, cluster), "offline": cluster.offline})

    async def patch_cluster(request: Request) -> Response:
        try:
            body = await _json_object(request)
        except FaultSpecError as error:
            return _bad(str(error))
        for name, value in body.items():
            kind = _CLUSTER_FIELDS.get(name)
            if kind is None:
                return _bad(f"unknown field {name!r}; settable: {sorted(_CLUSTER_FIELDS)}")
            if not isinstance(value, kind) or (
                isinstance(value, bool | int)
                and (isinstance(value, bool) or value < 0)
                and kind is int
            ):
                return _bad(f"{name} must be a {kind.__name__}" + (" >= 0" if kind is int else ""))
        if "role" in body and body["role"] not in _ROLES:
            return _bad(f"role must be one of {list(_ROLES)}")
        with sim.lock:
            cluster = sim.world.clusters.get(request.path_params["uuid"].lower())
            if cluster is None:
                return _bad("no cluster with this UUID", 404)
            for name, value in body.items():
                setattr(cluster, name, value)
        return await get_cluster(request)

    async def list_faults(request: Request) -> Response:
        with sim.lock:
            return JSONResponse({"faults": [f.describe() for f in sim.faults.list()]})

    async def add_fault(request: Request) -> Response:
        try:
            body = await _json_object(request)
            with sim.lock:
                fault = sim.faults.add(body)
        except FaultSpecError as error:
            return _bad(str(error))
        return JSONResponse(fault.describe(), status_code=201)

    async def clear_faults(request: Request) -> Response:
        with sim.lock:
            sim.faults.clear()
        return Response(status_code=204)

    async def remove_fault(request: Request) -> Response:
        with sim.lock:
            removed = sim.faults.remove(int(request.path_params["id"]))
        return Response(status_code=204) if removed else _bad("no such fault", 404)

    async def put_rate_limit(request: Request) -> Response:
        try:
            body = await _json_object(request)
            rate: Any = body.get("rate")
            burst = body.get("burst", 1)
            if (
                not _duration_part(rate)
                or not isinstance(burst, int)
                or isinstance(burst, bool)
                or not 1 <= burst <= choices.RATE_LIMIT_MAX_BURST
            ):
                raise FaultSpecError(
                    "rate (per second) must be a finite number and burst an integer from 1 to "
                    f"{choices.RATE_LIMIT_MAX_BURST}"
                )
            if rate < choices.RATE_LIMIT_MIN_RATE:
                raise FaultSpecError(
                    f"rate must be at least {choices.RATE_LIMIT_MIN_RATE} per second "
                    "(a slower one would ask clients to wait for years)"
                )
            sim.set_rate_limit(float(rate), burst)
        except FaultSpecError as error:
            return _bad(str(error))
        return JSONResponse({"rate": rate, "burst": burst})

    async def clear_rate_limit(request: Request) -> Response:
        sim.set_rate_limit(None)
        return Response(status_code=204)

    async def get_calls(request: Request) -> Response:
        since = request.query_params.get("since", "0")
        if not _decimal(since):
            return _bad("since must be a non-negative integer (a call's seq)")
        with sim.lock:
            entries = sim.calls.entries(int(since))
        return JSONResponse({"calls": entries})

    async def clear_calls(request: Request) -> Response:
        with sim.lock:
            sim.calls.clear()
        return Response(status_code=204)

    return [
        Route("/_sim/world", get_world, methods=["GET"]),
        Route("/_sim/world", put_world, methods=["PUT"]),
        Route("/_sim/clock", get_clock, methods=["GET"]),
        Route("/_sim/clock/advance", advance_clock, methods=["POST"]),
        Route("/_sim/clusters/{uuid}", get_cluster, methods=["GET"]),
        Route("/_sim/clusters/{uuid}", patch_cluster, methods=["PATCH"]),
        Route("/_sim/faults", list_faults, methods=["GET"]),
        Route("/_sim/faults", add_fault, methods=["POST"]),
        Route("/_sim/faults", clear_faults, methods=["DELETE"]),
        Route("/_sim/faults/{id:int}", remove_fault, methods=["DELETE"]),
        Route("/_sim/rate-limit", put_rate_limit, methods=["PUT"]),
        Route("/_sim/rate-limit", clear_rate_limit, methods=["DELETE"]),
        Route("/_sim/calls", get_calls, methods=["GET"]),
        Route("/_sim/calls", clear_calls, methods=["DELETE"]),
    ]
