"""Simulated Secure Workload clusters, each serving docs/product-api.md under /clusters/<uuid>.

Every request is checked the way Secure Workload's OpenAPI checks them (HMAC-SHA256 over method,
path, checksum, content type and timestamp, with the timestamp close to real time) before the
world sees it; a cluster older than 3.8 then answers 412 to everything. Each answer is the
cluster's whole licensing status, plus the one-time codes a call produced.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from smartlicensing.product.signing import TIMESTAMP_FORMAT, verify
from smartlicensing.testing.sim import choices
from smartlicensing.testing.sim.cssm_routes import WorldHolder
from smartlicensing.testing.sim.world import Cluster, ProductError, World, rfc3339

PREFIX = "/clusters/{uuid}/openapi/v1/licensing"


def _time(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


def status_of(world: World, cluster: Cluster) -> dict[str, Any]:
    """The status object of docs/product-api.md."""
    now = world.now
    registration = cluster.registration
    reservation = cluster.reservation
    installed = reservation is not None and reservation.installed_code is not None
    if registration is not None:
        reg: dict[str, Any] = {
            "state": "Failed" if registration.failed else "Registered",
            "mode": "OnPrem" if registration.server.on_prem else "Connected",
            "smartAccount": registration.account.domain,
            "virtualAccount": registration.virtual_account.name,
            "transportUrl": registration.transport_url,
            "registeredAt": _time(registration.registered_at),
            "renewAt": _time(registration.identity_renewed_at + choices.REGISTRATION_RENEWAL),
            "expiresAt": _time(registration.identity_renewed_at + choices.REGISTRATION_LIFETIME),
            "failureMessage": registration.failure,
        }
    elif installed:
        domain, virtual_account = world.reservation_account(cluster)
        reg = {
            "state": "Registered",
            "mode": "Reservation",
            "smartAccount": domain,
            "virtualAccount": virtual_account,
            "transportUrl": None,
            "registeredAt": None,
            "renewAt": None,
            "expiresAt": None,
            "failureMessage": None,
        }
    else:
        reg = {
            "state": "Unregistered",
            "mode": None,
            "smartAccount": None,
            "virtualAccount": None,
            "transportUrl": None,
            "registeredAt": None,
            "renewAt": None,
            "expiresAt": None,
            "failureMessage": None,
        }
    last_sync = registration.last_sync if registration else None
    return {
        "cluster": {
            "uuid": cluster.uuid,
            "version": cluster.version,
            "role": cluster.role,
            "name": cluster.name,
        },
        "registration": reg,
        "authorization": {
            "state": cluster.authorization_state(now),
            "expiresAt": _time(last_sync + choices.AUTHORIZATION_LIFETIME) if last_sync else None,
            "evaluationRemainingSeconds": int(cluster.evaluation_left.total_seconds()),
        },
        "usage": [{"license": name, "inUse": count} for name, count in cluster.usage().items()],
        "lastSyncTime": _time(last_sync),
        "nextSyncTime": _time(registration.next_sync if registration else None),
        "reservation": {
            "state": "None" if reservation is None else ("Installed" if installed else "Requested"),
            "type": reservation.kind if reservation else None,
            "requestCode": reservation.request_code if reservation else None,
            "reserved": dict(reservation.reserved) if installed and reservation else {},
        },
    }


def _problem(http_status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=http_status)


def signed_path(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def _fresh(timestamp: str, now: datetime) -> bool:
    try:
        moment = datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return False
    return abs(moment - now) <= choices.HMAC_MAX_SKEW


def _authentic(cluster: Cluster, request: Request, body: bytes, wall: datetime) -> bool:
    headers: Mapping[str, str] = request.headers
    if headers.get("id") != cluster.api_key or not _fresh(headers.get("timestamp", ""), wall):
        return False
    return verify(
        cluster.api_secret,
        method=request.method,
        path=signed_path(request),
        body=body,
        headers=headers,
    )


Operation = Callable[[World, Cluster, dict[str, Any]], dict[str, Any] | None]


def _bad_request(message: str) -> ProductError:
    return ProductError((400, "BadRequest", message))


def _body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise _bad_request("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _bad_request("the body must be a JSON object")
    return body


def _read(world: World, cluster: Cluster, body: dict[str, Any]) -> None:
    return None


def _register(world: World, cluster: Cluster, body: dict[str, Any]) -> None:
    token, url, force = body.get("token"), body.get("transportUrl"), body.get("force", False)
    if not isinstance(token, str) or not token or not isinstance(url, str) or not url:
        raise _bad_request("token and transportUrl are required strings")
    if not isinstance(force, bool):
        raise _bad_request("force must be true or false")
    world.register(cluster, token=token, transport_url=url, force=force)


def _deregister(world: World, cluster: Cluster, body: dict[str, Any]) -> None:
    world.deregister(cluster)


def _renew(world: World, cluster: Cluster, body: dict[str, Any]) -> None:
    world.renew(cluster)


def _request(world: World, cluster: Cluster, body: dict[str, Any]) -> None:
    kind = body.get("type")
    if kind not in ("Specific", "PLR"):
        raise _bad_request('type must be "Specific" or "PLR"')
    world.request_reservation(cluster, kind)


def _install(world: World, cluster: Cluster, body: dict[str, Any]) -> dict[str, Any] | None:
    code = body.get("authorizationCode")
    if not isinstance(code, str) or not code.strip():
        raise _bad_request("authorizationCode is a required string")
    confirmation = world.install_authorization(cluster, code)
    return {"confirmationCode": confirmation} if confirmation else None


def _cancel(world: World, cluster: Cluster, body: dict[str, Any]) -> dict[str, Any] | None:
    code = body.get("authorizationCode")
    if code is not None and not isinstance(code, str):
        raise _bad_request("authorizationCode must be a string")
    returned = world.cancel_reservation(cluster, code)
    return {"returnCode": returned} if returned else None


def _return(world: World, cluster: Cluster, body: dict[str, Any]) -> dict[str, Any]:
    return {"returnCode": world.return_reservation(cluster)}


_OPERATIONS: list[tuple[str, str, Operation]] = [
    ("GET", "", _read),
    ("POST", "/registration", _register),
    ("DELETE", "/registration", _deregister),
    ("POST", "/authorization/renew", _renew),
    ("POST", "/reservation/request", _request),
    ("POST", "/reservation/authorization", _install),
    ("DELETE", "/reservation", _cancel),
    ("POST", "/reservation/return", _return),
]


def routes(holder: WorldHolder, wall_clock: Callable[[], datetime]) -> list[BaseRoute]:
    def endpoint_for(operation: Operation) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            with holder.lock:
                world = holder.world
                found = world.clusters.get(request.path_params["uuid"].lower())
                if found is None:
                    return _problem(404, "NotFound", "no cluster with this UUID is simulated")
                if not _authentic(found, request, raw, wall_clock()):
                    return _problem(
                        401,
                        "Unauthorized",
                        "the request's signature, checksum, timestamp or API key was rejected",
                    )
                try:
                    cluster = world.cluster(found.uuid)
                    extra = operation(world, cluster, _body(raw))
                except ProductError as error:
                    return _problem(error.http_status, error.code, error.message)
                return JSONResponse({**status_of(world, cluster), **(extra or {})})

        return endpoint

    return [
        Route(PREFIX + suffix, endpoint_for(operation), methods=[method])
        for method, suffix, operation in _OPERATIONS
    ]
