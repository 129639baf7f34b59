"""The CSSM data calls: accounts, virtual accounts, registration tokens, licenses, product
instances, with their envelope and their validation errors."""

from __future__ import annotations

from typing import Any

import pytest

from sim.harness import (
    CLOUD_API,
    CLOUD_API_V2,
    DEVICES,
    DOMAIN,
    EAST,
    LICENSES,
    ONPREM_API,
    ONPREM_DOMAIN,
    ONPREM_TRANSPORT,
    ONPREM_VA,
    REMOVE,
    TOKENS,
    VA,
    WEST,
    Driver,
)
from smartlicensing.testing.sim import Simulator, choices


class TestAccounts:
    async def test_v2_accounts_lists_the_smart_account_with_roles(self, drv: Driver) -> None:
        payload = await drv.cssm_ok("GET", f"{CLOUD_API_V2}/accounts")

        [account] = payload["accounts"]
        assert account["accountDomain"] == DOMAIN
        assert account["accountStatus"] == "Active"
        assert account["accountType"] == "CUSTOMER"
        assert {"role": "Virtual Account Administrator", "virtualAccount": VA} in account["roles"]

    async def test_cloud_virtual_accounts_under_customer(self, drv: Driver) -> None:
        payload = await drv.cssm_ok(
            "GET", f"{CLOUD_API}/accounts/{DOMAIN}/customer/virtual-accounts"
        )

        assert payload["virtualAccounts"] == [
            {
                "name": VA,
                "description": "Production clusters in the east data centre",
                "isDefault": "true",
                "commerceAccessLevel": "FULL",
            }
        ]

    async def test_onprem_virtual_accounts_without_customer(self, drv: Driver) -> None:
        token = await drv.onprem_oauth()
        response = await drv.cssm(
            "GET", f"{ONPREM_API}/accounts/{ONPREM_DOMAIN}/virtual-accounts", token=token
        )

        assert [va["name"] for va in response.json()["virtualAccounts"]] == [ONPREM_VA]

    @pytest.mark.parametrize(
        "path",
        [
            f"{CLOUD_API}/accounts/nope.example.com/customer/virtual-accounts",
            f"{CLOUD_API}/accounts/{DOMAIN}/virtual-accounts/Nope/tokens",
            f"{CLOUD_API}/accounts/nope.example.com/virtual-accounts/{VA}/devices",
        ],
        ids=["unknown-account", "unknown-virtual-account", "unknown-account-devices"],
    )
    async def test_unknown_account_or_virtual_account_is_404_error(
        self, drv: Driver, path: str
    ) -> None:
        response = await drv.cssm("GET", path)

        assert response.status_code == 404
        assert response.json()["status"] == "ERROR"
        assert response.json()["statusMessage"]


class TestRegistrationTokens:
    async def test_created_token_is_listed_with_its_details(self, drv: Driver) -> None:
        created = await drv.cssm_ok(
            "POST",
            TOKENS,
            {
                "description": "csw-east",
                "expiresAfterDays": 30,
                "exportControlled": "Allowed",
                "maxUses": 2,
            },
        )
        info = created["tokenInfo"]

        listed = await drv.cssm_ok("GET", TOKENS)

        assert info["expirationDate"] == "2027-01-02T08:00:00Z"
        assert listed["tokens"] == [
            {
                "token": info["token"],
                "description": "csw-east",
                "expirationDate": "2027-01-02T08:00:00Z",
                "exportControlled": "Allowed",
                "createdBy": "acme-demo-client",
                "uses": 0,
                "maxUses": 2,
                "status": "ACTIVE",
            }
        ]

    async def test_token_expires_after_its_days_on_the_simulator_clock(
        self, drv: Driver, sim: Simulator
    ) -> None:
        await drv.issue_token(expiresAfterDays=1)
        await drv.oauth()  # keep a fresh access token after the jump
        sim.clock.advance(days=1)
        drv._token = None

        [token] = (await drv.cssm_ok("GET", TOKENS))["tokens"]

        assert token["status"] == "EXPIRED"

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"expiresAfterDays": 0}, "expiresAfterDays"),
            ({"expiresAfterDays": 366}, "expiresAfterDays"),
            ({}, "expiresAfterDays"),
            ({"expiresAfterDays": 30, "description": "x" * 101}, "description"),
            ({"expiresAfterDays": 30, "exportControlled": "Maybe"}, "exportControlled"),
            ({"expiresAfterDays": 30, "maxUses": 0}, "maxUses"),
        ],
        ids=[
            "zero-days",
            "too-many-days",
            "no-days",
            "long-description",
            "bad-export",
            "zero-uses",
        ],
    )
    async def test_invalid_token_requests_are_400_naming_the_field(
        self, drv: Driver, body: dict[str, Any], field: str
    ) -> None:
        response = await drv.cssm("POST", TOKENS, body)

        assert response.status_code == 400
        assert response.json()["status"] == "ERROR"
        assert field in response.json()["statusMessage"]

    async def test_revoke_reports_each_token(self, drv: Driver) -> None:
        first = await drv.issue_token()
        second = await drv.issue_token()
        await drv.cssm_ok("POST", f"{TOKENS}/revoke", {"tokens": [second]})

        payload = await drv.cssm_ok("POST", f"{TOKENS}/revoke", {"tokens": [first, second, "nope"]})

        assert [(t["token"], t["status"]) for t in payload["tokens"]] == [
            (first, "REVOKED"),
            (second, "ERROR"),
            ("nope", "ERROR"),
        ]
        assert payload["tokens"][1]["statusMessage"] == choices.TEXT_TOKEN_ALREADY_REVOKED
        statuses = {t["token"]: t["status"] for t in (await drv.cssm_ok("GET", TOKENS))["tokens"]}
        assert statuses == {first: "REVOKED", second: "REVOKED"}

    async def test_revoke_needs_a_list_of_strings(self, drv: Driver) -> None:
        response = await drv.cssm("POST", f"{TOKENS}/revoke", {"tokens": "abc"})

        assert response.status_code == 400

    async def test_body_that_is_not_json_is_400(self, drv: Driver) -> None:
        response = await drv.http.post(
            TOKENS,
            content=b"{not json",
            headers={"Authorization": f"Bearer {await drv.oauth()}"},
        )

        assert response.status_code == 400
        assert response.json()["status"] == "ERROR"


class TestLicenses:
    async def test_licenses_of_the_virtual_account(self, drv: Driver) -> None:
        rows = await drv.license_rows()

        assert {name: (r["quantity"], r["inUse"], r["available"]) for name, r in rows.items()} == {
            choices.WORKLOAD_PROTECTION: (500, 0, 500),
            choices.ENDPOINT_VISIBILITY: (200, 0, 200),
            choices.PLR: (10, 0, 10),
        }
        assert all(r["status"] == "In Compliance" for r in rows.values())

    @pytest.mark.parametrize(
        ("limit", "offset", "expected"),
        [
            (2, 0, [choices.WORKLOAD_PROTECTION, choices.ENDPOINT_VISIBILITY]),
            (2, 2, [choices.PLR]),
            (50, 3, []),
        ],
        ids=["first-page", "second-page", "past-the-end"],
    )
    async def test_paging(self, drv: Driver, limit: int, offset: int, expected: list[str]) -> None:
        payload = await drv.cssm_ok(
            "POST", LICENSES, {"virtualAccounts": [VA], "limit": limit, "offset": offset}
        )

        assert payload["totalRecords"] == 3
        assert [r["license"] for r in payload["licenses"]] == expected

    @pytest.mark.parametrize(
        "body",
        [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"virtualAccounts": "Datacenter-East"}],
        ids=["limit-zero", "limit-too-big", "negative-offset", "not-a-list"],
    )
    async def test_bad_paging_is_400(self, drv: Driver, body: dict[str, Any]) -> None:
        response = await drv.cssm("POST", LICENSES, body)

        assert response.status_code == 400

    async def test_unknown_virtual_account_is_404(self, drv: Driver) -> None:
        response = await drv.cssm("POST", LICENSES, {"virtualAccounts": ["Nope"]})

        assert response.status_code == 404


class TestProductInstances:
    async def test_registered_cluster_is_listed_as_a_device(self, drv: Driver) -> None:
        await drv.register(EAST)

        payload = await drv.cssm_ok("GET", f"{DEVICES}?limit=10&offset=0")

        assert payload["totalRecords"] == 1
        assert payload["devices"] == [
            {
                "instanceName": "csw-east",
                "productTagName": choices.PRODUCT_TAG_NAME,
                "productType": "Secure Workload",
                "sudi": {"udiPid": "CSW", "udiSerialNumber": "5F0C2A8E3C1", "uuid": EAST},
                "lastContactDate": "2026-12-03T08:00:00Z",
                "licenseReservation": None,
                "reservationPending": False,
                "registrationStatus": "REGISTERED",
            }
        ]

    async def test_onprem_registration_appears_on_the_onprem_server_only(self, drv: Driver) -> None:
        onprem_tokens = f"{ONPREM_API}/accounts/{ONPREM_DOMAIN}/virtual-accounts/{ONPREM_VA}/tokens"
        token = await drv.onprem_oauth()
        created = await drv.cssm(
            "POST", onprem_tokens, {"expiresAfterDays": 5, "description": "west"}, token=token
        )
        await drv.register(
            WEST, transport=ONPREM_TRANSPORT, token=created.json()["tokenInfo"]["token"]
        )

        onprem = await drv.cssm(
            "GET",
            f"{ONPREM_API}/accounts/{ONPREM_DOMAIN}/virtual-accounts/{ONPREM_VA}/devices",
            token=token,
        )
        cloud = await drv.cssm_ok("GET", DEVICES)

        assert [d["sudi"]["uuid"] for d in onprem.json()["devices"]] == [WEST]
        assert cloud["devices"] == []

    @pytest.mark.parametrize(
        "key",
        ["productInstancesRemoveRequests", "productInstacesRemoveRequests"],
        ids=["spelt", "misspelt"],
    )
    async def test_remove_a_registered_instance(self, drv: Driver, key: str) -> None:
        await drv.register(EAST)

        await drv.cssm_ok("POST", REMOVE, {key: [{"sudi": {"uuid": EAST}, "productTagName": "x"}]})

        assert (await drv.cssm_ok("GET", DEVICES))["devices"] == []

    async def test_remove_an_unknown_instance_is_404(self, drv: Driver) -> None:
        response = await drv.cssm(
            "POST", REMOVE, {"productInstancesRemoveRequests": [{"sudi": {"uuid": EAST}}]}
        )

        assert response.status_code == 404
        assert response.json()["statusMessage"] == choices.TEXT_UNKNOWN_INSTANCE

    @pytest.mark.parametrize(
        "body",
        [{}, {"productInstancesRemoveRequests": [{"sudi": {}}]}],
        ids=["no-requests", "empty-sudi"],
    )
    async def test_malformed_remove_is_400(self, drv: Driver, body: dict[str, Any]) -> None:
        response = await drv.cssm("POST", REMOVE, body)

        assert response.status_code == 400
