"""CSSM cloud and SSM On-Prem as HTTP: OAuth token endpoints and the Smart Licensing API.

The surface is the one in docs/simulator.md (shared with the operator's client): cloud data
under ``/services/api/smart-accounts-and-licensing/{v1,v2}``, On-Prem data under
``/backend/api/v1``, and On-Prem servers beyond the first under ``/onprem/<host>/backend/...``.
Every call is served under both cloud versions, and both virtual-account paths are served on both
kinds of server: a real gateway is as lenient, and the operator should not fail on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from smartlicensing.testing.sim import choices
from smartlicensing.testing.sim.world import (
    ApiClient,
    CssmError,
    LicensingServer,
    VirtualAccount,
    World,
    rfc3339,
)


class WorldHolder(Protocol):
    """What the routes need from the simulator: the current world and its lock."""

    @property
    def world(self) -> World: ...

    @property
    def lock(self) -> Any: ...


@dataclass
class CssmCall:
    world: World
    server: LicensingServer
    client: ApiClient
    params: dict[str, str]
    query: dict[str, str]
    body: Any

    def virtual_account(self) -> VirtualAccount:
        account = self.server.account(self.params["domain"])
        return account.virtual_account(self.params["va"])


def _ok(payload: dict[str, Any], message: str = "") -> dict[str, Any]:
    return {**payload, "status": "SUCCESS", "statusMessage": message}


def _error(http_status: int, message: str) -> JSONResponse:
    if http_status == 401:
        return JSONResponse(
            {"error": "invalid_token", "error_description": message}, status_code=401
        )
    if http_status == 403:
        return JSONResponse({"error": "Invalid Client", "error_description": message}, 403)
    return JSONResponse({"status": "ERROR", "statusMessage": message}, status_code=http_status)


def _json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        raise CssmError(400, "The request body is not valid JSON.") from None


def _field_int(body: dict[str, Any], name: str, default: int | None, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CssmError(400, f"{name} must be an integer from {low} to {high}.")
    return value


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise CssmError(400, "The request body must be a JSON object.")
    return body


# --- the calls -------------------------------------------------------------------------------


def accounts(call: CssmCall) -> dict[str, Any]:
    items = [
        {
            "accountName": account.name,
            "accountDomain": account.domain,
            "accountStatus": "Active",
            "accountType": "CUSTOMER",
            "roles": [{"role": "Smart Account Administrator"}]
            + [
                {"role": "Virtual Account Administrator", "virtualAccount": name}
                for name in account.virtual_accounts
            ],
        }
        for account in call.server.accounts.values()
    ]
    return _ok({"accounts": items})


def virtual_accounts(call: CssmCall) -> dict[str, Any]:
    account = call.server.account(call.params["domain"])
    items = [
        {
            "name": va.name,
            "description": va.description,
            "isDefault": "true" if va.default else "false",
            "commerceAccessLevel": "FULL",
        }
        for va in account.virtual_accounts.values()
    ]
    return _ok({"virtualAccounts": items})


def list_tokens(call: CssmCall) -> dict[str, Any]:
    now = call.world.now
    items = [
        {
            "token": token.value,
            "description": token.description,
            "expirationDate": rfc3339(token.expires_at),
            "exportControlled": token.export_controlled,
            "createdBy": token.created_by,
            "uses": token.uses,
            "maxUses": token.max_uses,
            "status": token.state(now),
        }
        for token in call.virtual_account().tokens.values()
    ]
    return _ok({"tokens": items})


def create_token(call: CssmCall) -> dict[str, Any]:
    virtual_account = call.virtual_account()
    body = _object(call.body)
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > choices.TOKEN_DESCRIPTION_MAX:
        raise CssmError(
            400, f"description must be a string of at most {choices.TOKEN_DESCRIPTION_MAX} chars."
        )
    days = _field_int(
        body, "expiresAfterDays", None, choices.TOKEN_MIN_DAYS, choices.TOKEN_MAX_DAYS
    )
    export = body.get("exportControlled", "Not Allowed")
    if export not in ("Allowed", "Not Allowed"):
        raise CssmError(400, 'exportControlled must be "Allowed" or "Not Allowed".')
    max_uses = None
    if body.get("maxUses") is not None:
        max_uses = _field_int(body, "maxUses", None, 1, 1_000_000)
    token = call.world.create_token(
        virtual_account,
        description=description,
        expires_after_days=days,
        export_controlled=export,
        max_uses=max_uses,
        created_by=call.client.client_id,
    )
    info = {
        "token": token.value,
        "description": token.description,
        "expirationDate": rfc3339(token.expires_at),
        "exportControlled": token.export_controlled,
        "maxUses": token.max_uses,
    }
    return _ok({"tokenInfo": info})


def revoke_tokens(call: CssmCall) -> dict[str, Any]:
    virtual_account = call.virtual_account()
    values = _object(call.body).get("tokens")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise CssmError(400, "tokens must be a list of token strings.")
    results = []
    for value in values:
        token = virtual_account.tokens.get(value)
        if token is None:
            results.append(
                {"token": value, "status": "ERROR", "statusMessage": choices.TEXT_TOKEN_UNKNOWN}
            )
        elif token.revoked:
            results.append(
                {
                    "token": value,
                    "status": "ERROR",
                    "statusMessage": choices.TEXT_TOKEN_ALREADY_REVOKED,
                }
            )
        else:
            token.revoked = True
            results.append({"token": value, "status": "REVOKED", "statusMessage": ""})
    return _ok({"tokens": results})


def licenses(call: CssmCall) -> dict[str, Any]:
    account = call.server.account(call.params["domain"])
    body = _object(call.body)
    names = body.get("virtualAccounts") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise CssmError(400, "virtualAccounts must be a list of virtual account names.")
    limit = _field_int(body, "limit", choices.LICENSES_PAGE_DEFAULT, 1, choices.LICENSES_PAGE_MAX)
    offset = _field_int(body, "offset", 0, 0, 10**9)
    chosen = [account.virtual_account(n) for n in names] or list(account.virtual_accounts.values())
    rows = [row for va in chosen for row in va.license_rows(call.world.now)]
    return _ok({"totalRecords": len(rows), "licenses": rows[offset : offset + limit]})


def devices(call: CssmCall) -> dict[str, Any]:
    virtual_account = call.virtual_account()
    limit = _field_int(
        call.query, "limit", choices.LICENSES_PAGE_DEFAULT, 1, choices.LICENSES_PAGE_MAX
    )
    offset = _field_int(call.query, "offset", 0, 0, 10**9)
    instances = sorted(virtual_account.instances.values(), key=lambda i: (i.created, i.serial))
    items = [
        {
            "instanceName": i.name,
            "productTagName": choices.PRODUCT_TAG_NAME,
            "productType": choices.PRODUCT_TYPE,
            "sudi": {"udiPid": choices.PRODUCT_PID, "udiSerialNumber": i.serial, "uuid": i.uuid},
            "lastContactDate": rfc3339(i.last_contact),
            "licenseReservation": i.reservation,
            "reservationPending": i.pending_confirmation is not None,
            "registrationStatus": "REGISTERED",
        }
        for i in instances
    ]
    return _ok({"totalRecords": len(items), "devices": items[offset : offset + limit]})


def _sudi(item: Any) -> dict[str, Any]:
    sudi = item.get("sudi") if isinstance(item, dict) else None
    if not isinstance(sudi, dict) or not (sudi.get("uuid") or sudi.get("udiSerialNumber")):
        raise CssmError(400, "sudi must be an object with uuid or udiSerialNumber.")
    return sudi


def remove_devices(call: CssmCall) -> dict[str, Any]:
    virtual_account = call.virtual_account()
    body = _object(call.body)
    requests = body.get("productInstancesRemoveRequests") or body.get(
        "productInstacesRemoveRequests"
    )
    if not isinstance(requests, list) or not requests:
        raise CssmError(400, "productInstancesRemoveRequests must be a non-empty list.")
    found = []
    for item in requests:
        instance = call.world.find_instance(virtual_account, _sudi(item))
        call.world.check_removal(instance, item.get("returnCode"))
        found.append(instance)
    for instance in found:
        call.world.remove_instance(virtual_account, instance.uuid or instance.serial)
    return _ok({}, f"{len(found)} product instance(s) removed")


def _licenses_by_tag(items: Any) -> dict[str, int]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise CssmError(400, "licenses must be a list.")
    wanted: dict[str, int] = {}
    for item in items:
        tag = item.get("entitlementTag") if isinstance(item, dict) else None
        name = choices.LICENSE_BY_TAG.get(str(tag))
        if name is None:
            raise CssmError(400, choices.TEXT_UNKNOWN_LICENSE)
        wanted[name] = wanted.get(name, 0) + _field_int(item, "quantity", None, 0, 10**9)
    return wanted


def reserve(call: CssmCall) -> dict[str, Any]:
    virtual_account = call.virtual_account()
    requests = _object(call.body).get("reservationRequests")
    if not isinstance(requests, list) or not requests:
        raise CssmError(400, "reservationRequests must be a non-empty list.")
    results: list[dict[str, Any]] = []
    failed = False
    for item in requests:
        if not isinstance(item, dict):
            raise CssmError(400, "each reservation request must be an object.")
        wanted = _licenses_by_tag(item.get("licenses"))
        try:
            code = call.world.reserve(
                virtual_account,
                request_code=str(item.get("reservationCode") or ""),
                reservation_type=str(item.get("reservationType") or ""),
                licenses=wanted,
            )
            results.append({"authorizationCode": code, "statusMessage": ""})
        except CssmError as error:  # reported in the envelope, as CSSM does
            failed = True
            results.append({"authorizationCode": None, "statusMessage": error.message})
    message = next((r["statusMessage"] for r in results if r["statusMessage"]), "")
    return {
        "status": "ERROR" if failed else "SUCCESS",
        "statusMessage": message,
        "authorizationCodes": results,
    }


def update_reservation(call: CssmCall) -> dict[str, Any]:
    virtual_account = call.virtual_account()
    body = _object(call.body)
    code = call.world.update_reservation(
        virtual_account, _sudi(body), _licenses_by_tag(body.get("licenses"))
    )
    return _ok({"authorizationCode": code})


def submit_confirmation(call: CssmCall) -> dict[str, Any]:
    virtual_account = call.virtual_account()
    body = _object(call.body)
    confirmation = body.get("confirmationCode")
    if not isinstance(confirmation, str) or not confirmation:
        raise CssmError(400, "confirmationCode must be a string.")
    call.world.confirm_update(virtual_account, _sudi(body), confirmation)
    return _ok({}, "confirmation code accepted")


# --- wiring ----------------------------------------------------------------------------------


Handler = Callable[[CssmCall], dict[str, Any]]
_CALLS: list[tuple[str, str, Handler]] = [
    ("GET", "/accounts", accounts),
    ("GET", "/accounts/{domain}/customer/virtual-accounts", virtual_accounts),
    ("GET", "/accounts/{domain}/virtual-accounts", virtual_accounts),
    ("GET", "/accounts/{domain}/virtual-accounts/{va}/tokens", list_tokens),
    ("POST", "/accounts/{domain}/virtual-accounts/{va}/tokens", create_token),
    ("POST", "/accounts/{domain}/virtual-accounts/{va}/tokens/revoke", revoke_tokens),
    ("POST", "/accounts/{domain}/licenses", licenses),
    ("GET", "/accounts/{domain}/virtual-accounts/{va}/devices", devices),
    ("POST", "/accounts/{domain}/virtual-accounts/{va}/devices/remove", remove_devices),
    ("POST", "/accounts/{domain}/virtual-accounts/{va}/reserve-licenses", reserve),
    (
        "POST",
        "/accounts/{domain}/virtual-accounts/{va}/devices/reservation-update",
        update_reservation,
    ),
    (
        "POST",
        "/accounts/{domain}/virtual-accounts/{va}/devices/confirmation-code",
        submit_confirmation,
    ),
]


def _server_of(world: World, request: Request) -> LicensingServer:
    name = request.path_params.get("server")
    if request.path_params.get("kind") == "cloud":
        return world.cloud
    if name is not None:
        server = world.on_prem.get(name)
    else:
        server = next(iter(world.on_prem.values()), None)
    if server is None:
        raise CssmError(404, "No SSM On-Prem server is simulated at this address.")
    return server


def _endpoint(holder: WorldHolder, handler: Handler, kind: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        request.path_params["kind"] = kind
        with holder.lock:
            world = holder.world
            try:
                server = _server_of(world, request)
                header = request.headers.get("authorization", "")
                bearer = header[7:] if header[:7].lower() == "bearer " else None
                client = world.authenticate(server, bearer)
                call = CssmCall(
                    world=world,
                    server=server,
                    client=client,
                    params=dict(request.path_params),
                    query=dict(request.query_params),
                    body=_json(body),
                )
                return JSONResponse(handler(call))
            except CssmError as error:
                return _error(error.http_status, error.message)

    return endpoint


def _token_endpoint(holder: WorldHolder, kind: str) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        request.path_params["kind"] = kind
        fields: Any
        if "json" in request.headers.get("content-type", ""):
            try:
                fields = json.loads(body or b"{}")
            except ValueError:
                fields = {}
        else:
            fields = dict(parse_qsl(body.decode(errors="replace")))
            fields.update({k: v for k, v in request.query_params.items() if k not in fields})
        if not isinstance(fields, dict) or fields.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
                status_code=400,
            )
        with holder.lock:
            world = holder.world
            try:
                server = _server_of(world, request)
                token = world.issue_access_token(
                    server, str(fields.get("client_id", "")), str(fields.get("client_secret", ""))
                )
            except CssmError as error:
                if error.http_status == 404:
                    return _error(404, error.message)
                return JSONResponse(
                    {"error": "invalid_client", "error_description": error.message},
                    status_code=401,
                )
            payload = {
                "access_token": token.value,
                "token_type": "Bearer",
                "expires_in": int(choices.ACCESS_TOKEN_LIFETIME.total_seconds()),
            }
        return JSONResponse(payload, headers={"Cache-Control": "no-store"})

    return endpoint


def routes(holder: WorldHolder) -> list[BaseRoute]:
    def api(kind: str) -> list[BaseRoute]:
        return [
            Route(path, _endpoint(holder, handler, kind), methods=[method])
            for method, path, handler in _CALLS
        ]

    on_prem = [
        Route("/oauth/token", _token_endpoint(holder, "onprem"), methods=["POST"]),
        Mount("/api/v1", routes=api("onprem")),
    ]
    return [
        Route("/as/token.oauth2", _token_endpoint(holder, "cloud"), methods=["POST"]),
        Route("/oauth2/default/v1/token", _token_endpoint(holder, "cloud"), methods=["POST"]),
        Mount("/services/api/smart-accounts-and-licensing/v1", routes=api("cloud")),
        Mount("/services/api/smart-accounts-and-licensing/v2", routes=api("cloud")),
        Mount("/backend", routes=on_prem),
        Mount("/onprem/{server}/backend", routes=on_prem),
    ]
