"""What each call sends and reads: paths (cloud and On-Prem), bodies, paging, typed results."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from pydantic import SecretStr

from smartlicensing.cssm import AccountNotFound, UnexpectedAnswer, VirtualAccountNotFound
from smartlicensing.cssm.models import (
    LicenseRequest,
    ProductInstance,
    ReservationType,
    TokenStatus,
)

from .fake_cssm import CLOUD_BASE, DOMAIN, VA, FakeCSSM, make_client, ok, va_path

LICENSES = f"{CLOUD_BASE}/v1/accounts/{DOMAIN}/licenses"
DEVICES = va_path("devices")
ACCOUNTS = f"{CLOUD_BASE}/v2/accounts"
CLOUD_VAS = f"{CLOUD_BASE}/v1/accounts/{DOMAIN}/customer/virtual-accounts"


def device(n: int) -> dict[str, object]:
    return {
        "instanceName": f"csw-{n}",
        "productTagName": "regid.csw",
        "productType": "Secure Workload",
        "sudi": {"udiPid": "CSW", "udiSerialNumber": f"SN{n}", "uuid": f"uuid-{n}"},
        "lastContactDate": "2026-12-03T10:00:00Z",
        "licenseReservation": None,
        "registrationStatus": "REGISTERED",
    }


def paged_devices(total: int):  # type: ignore[no-untyped-def]
    def answer(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        page = [device(n) for n in range(offset, min(offset + limit, total))]
        return ok(totalRecords=total, devices=page)

    return answer


async def test_licenses_fetches_every_page() -> None:
    fake = FakeCSSM()
    total = 2300

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["virtualAccounts"] == [VA]
        rows = range(body["offset"], min(body["offset"] + body["limit"], total))
        return ok(
            totalRecords=total,
            licenses=[
                {"license": f"L{n}", "quantity": 10, "inUse": 11, "status": "Out Of Compliance"}
                for n in rows
            ],
        )

    fake.route("POST", LICENSES, answer)
    async with make_client(fake) as client:
        licenses = await client.licenses()

    assert len(licenses) == total
    offsets = [json.loads(r.content)["offset"] for r in fake.data_requests(LICENSES)]
    assert offsets == [0, 1000, 2000]
    assert licenses[-1].name == "L2299"
    assert licenses[0].compliant is False


async def test_product_instances_are_paged() -> None:
    fake = FakeCSSM()
    fake.route("GET", DEVICES, paged_devices(5))
    async with make_client(fake) as client:
        names = [i.instance_name async for i in client.product_instances()]

    assert names == [f"csw-{n}" for n in range(5)]
    assert [r.url.params["offset"] for r in fake.data_requests(DEVICES)] == ["0", "2", "4"]


async def test_find_product_instance_stops_at_the_page_holding_the_cluster() -> None:
    fake = FakeCSSM()
    fake.route("GET", DEVICES, paged_devices(9))
    async with make_client(fake) as client:
        found = await client.find_product_instance("UUID-3")
        missing = await client.find_product_instance("uuid-99")

    assert found is not None
    assert found.instance_name == "csw-3"
    assert missing is None
    assert len(fake.data_requests(DEVICES)) == 2 + 5


async def test_create_token_sends_the_documented_body() -> None:
    fake = FakeCSSM()
    info = {
        "token": "canary-token-value-2",
        "description": "d",
        "exportControlled": "Not Allowed",
        "expirationDate": "2027-01-02T00:00:00Z",
        "maxUses": 1,
    }
    fake.route("POST", va_path("tokens"), ok(tokenInfo=info))
    async with make_client(fake) as client:
        token = await client.create_token("d", 30, export_controlled=False, max_uses=1)

    sent = json.loads(fake.data_requests(va_path("tokens"))[0].content)
    assert sent == {
        "description": "d",
        "expiresAfterDays": 30,
        "exportControlled": "Not Allowed",
        "maxUses": 1,
    }
    assert token.status is TokenStatus.ACTIVE
    assert token.max_uses == 1
    assert "canary-token-value-2" not in repr(token)


async def test_revoke_reports_each_token() -> None:
    fake = FakeCSSM()
    fake.route(
        "POST",
        va_path("tokens/revoke"),
        ok(
            tokens=[
                {"token": "canary-token-a", "status": "REVOKED", "statusMessage": ""},
                {"token": "canary-token-b", "status": "ERROR", "statusMessage": "already revoked"},
            ]
        ),
    )
    async with make_client(fake) as client:
        results = await client.revoke_tokens(["canary-token-a", "canary-token-b"])

    assert [r.revoked for r in results] == [True, False]
    assert json.loads(fake.data_requests()[0].content) == {
        "tokens": ["canary-token-a", "canary-token-b"]
    }


async def test_remove_product_instance_sends_sudi_and_return_code() -> None:
    fake = FakeCSSM()
    remove = f"{CLOUD_BASE}/v2/accounts/{DOMAIN}/virtual-accounts/{VA}/devices/remove"
    fake.route("POST", remove, ok())
    fake.route("GET", DEVICES, paged_devices(1))
    async with make_client(fake) as client:
        instance = await client.find_product_instance("uuid-0")
        assert instance is not None
        await client.remove_product_instance(instance, return_code=SecretStr("Abcdef-ghijkm"))

    sent = json.loads(fake.data_requests(remove)[0].content)
    assert sent["productInstancesRemoveRequests"] == [
        {
            "sudi": {"udiPid": "CSW", "udiSerialNumber": "SN0", "uuid": "uuid-0"},
            "productTagName": "regid.csw",
            "returnCode": "Abcdef-ghijkm",
        }
    ]


async def test_reserve_licenses_returns_the_authorization_code() -> None:
    fake = FakeCSSM()
    reserve = va_path("reserve-licenses")
    xml = "<specificPLR><authorizationCode>canary</authorizationCode></specificPLR>"
    fake.route(
        "POST", reserve, ok(authorizationCodes=[{"authorizationCode": xml, "statusMessage": ""}])
    )
    async with make_client(fake) as client:
        code = await client.reserve_licenses(
            "CB-ZCSW:SN0-abcdefghi-3F",
            ReservationType.SPECIFIC,
            [LicenseRequest(entitlement_tag="regid.wp", quantity=100)],
        )

    assert code.code.get_secret_value() == xml
    assert "specificPLR" not in repr(code)
    sent = json.loads(fake.data_requests(reserve)[0].content)
    assert sent == {
        "reservationRequests": [
            {
                "reservationCode": "CB-ZCSW:SN0-abcdefghi-3F",
                "reservationType": "SPECIFIC",
                "licenses": [
                    {
                        "entitlementTag": "regid.wp",
                        "quantity": 100,
                        "precedence": "LONGEST_TERM_FIRST",
                    }
                ],
            }
        ]
    }


async def test_check_access_finds_the_virtual_account() -> None:
    fake = FakeCSSM()
    fake.route("GET", ACCOUNTS, ok(accounts=[{"accountName": "Acme", "accountDomain": DOMAIN}]))
    fake.route(
        "GET",
        CLOUD_VAS,
        ok(
            virtualAccounts=[
                {"name": "Default", "isDefault": "true"},
                {"name": VA, "isDefault": "false"},
            ]
        ),
    )
    async with make_client(fake) as client:
        found = await client.check_access()

    assert found.name == VA
    assert found.is_default is False


@pytest.mark.parametrize(
    ("accounts", "vas", "error"),
    [
        pytest.param(
            [{"accountName": "X", "accountDomain": "other.example"}],
            [],
            AccountNotFound,
            id="domain-not-visible",
        ),
        pytest.param(
            [{"accountName": "Acme", "accountDomain": DOMAIN}],
            [{"name": "Default"}],
            VirtualAccountNotFound,
            id="virtual-account-missing",
        ),
    ],
)
async def test_check_access_names_what_is_missing(
    accounts: list[object], vas: list[object], error: type[Exception]
) -> None:
    fake = FakeCSSM()
    fake.route("GET", ACCOUNTS, ok(accounts=accounts))
    fake.route("GET", CLOUD_VAS, ok(virtualAccounts=vas))
    async with make_client(fake) as client:
        with pytest.raises(error):
            await client.check_access()


async def test_on_prem_paths() -> None:
    fake = FakeCSSM(on_prem=True)
    base = "/backend/api/v1/accounts"
    fake.route("GET", base, ok(accounts=[{"accountName": "Acme", "accountDomain": DOMAIN}]))
    fake.route("GET", f"{base}/{DOMAIN}/virtual-accounts", ok(virtualAccounts=[{"name": VA}]))
    fake.route("GET", f"{base}/{DOMAIN}/virtual-accounts/{VA}/tokens", ok(tokens=[]))
    fake.route("POST", f"{base}/{DOMAIN}/virtual-accounts/{VA}/devices/remove", ok())
    async with make_client(fake) as client:
        await client.check_access()
        await client.list_tokens()
        await client.remove_product_instance(ProductInstance())

    assert [r.url.path for r in fake.data_requests()] == [
        base,
        f"{base}/{DOMAIN}/virtual-accounts",
        f"{base}/{DOMAIN}/virtual-accounts/{VA}/tokens",
        f"{base}/{DOMAIN}/virtual-accounts/{VA}/devices/remove",
    ]
    assert all(str(r.url).startswith("https://ssm.test:8443/") for r in fake.requests)


async def test_paging_ends_at_a_short_page_even_if_the_total_is_wrong() -> None:
    fake = FakeCSSM()
    fake.route("GET", DEVICES, ok(totalRecords=10**9, devices=[device(0)]))  # ignores offset
    async with make_client(fake) as client:
        names = [i.instance_name async for i in client.product_instances()]

    assert names == ["csw-0"]
    assert len(fake.data_requests(DEVICES)) == 1


def _listed(description: str, value: str, expires: str, status: str = "ACTIVE") -> dict[str, str]:
    return {
        "token": value,
        "description": description,
        "expirationDate": expires,
        "status": status,
    }


async def test_find_token_picks_the_longest_lived_active_token_of_its_description() -> None:
    fake = FakeCSSM()
    others = [
        _listed(f"slr/ns/csw-{n:04d}", f"other-token-{n:04d}", "2030-01-01") for n in range(500)
    ]
    mine = [
        _listed("slr/ns/mine", "mine-short-lived", "2030-01-01T00:00:00Z"),
        _listed("slr/ns/mine", "mine-long-lived", "2031-01-01T00:00:00Z"),
        _listed("slr/ns/mine", "mine-revoked", "2032-01-01T00:00:00Z", status="REVOKED"),
    ]
    fake.route("GET", va_path("tokens"), ok(tokens=[*others[:250], *mine, *others[250:]]))
    async with make_client(fake) as client:
        found = await client.find_token("slr/ns/mine")
        absent = await client.find_token("slr/ns/nobody")

    assert found is not None
    assert found.value.get_secret_value() == "mine-long-lived"
    assert absent is None


@pytest.mark.parametrize(
    ("tokens", "refused"),
    [
        pytest.param([{"description": "slr/ns/other", "uses": "x"}], False, id="other-unreadable"),
        pytest.param([{"description": "slr/ns/mine", "uses": "x"}], True, id="mine-unreadable"),
        pytest.param(["not an object"], True, id="item-not-an-object"),
        pytest.param({"token": "x"}, True, id="not-a-list"),
    ],
)
async def test_find_token_reads_only_the_tokens_it_looks_for(tokens: object, refused: bool) -> None:
    """An unreadable token of another description does not stop the look-up; one of this
    description, or a list that is no list of objects, is an unexpected answer."""
    fake = FakeCSSM()
    fake.route("GET", va_path("tokens"), ok(tokens=tokens))
    async with make_client(fake) as client:
        if refused:
            with pytest.raises(UnexpectedAnswer, match="list_tokens"):
                await client.find_token("slr/ns/mine")
        else:
            assert await client.find_token("slr/ns/mine") is None


class GatedListing:
    """A transport whose token listings wait for ``release``; it counts them."""

    def __init__(self, fake: FakeCSSM) -> None:
        self.fake = fake
        self.listings = 0
        self.release = asyncio.Event()
        self.first_out = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == va_path("tokens"):
            self.listings += 1
            self.first_out.set()
            await self.release.wait()
        return await self.fake(request)


async def test_shared_look_ups_during_a_listing_share_it() -> None:
    fake = FakeCSSM()
    fake.route("GET", va_path("tokens"), ok(tokens=[_listed("slr/ns/a", "token-a", "2031-01-01")]))
    gate = GatedListing(fake)
    async with make_client(fake, transport=httpx.MockTransport(gate)) as client:
        first = asyncio.create_task(client.find_token("slr/ns/a", shared=True))
        await asyncio.wait_for(gate.first_out.wait(), 5)
        joined = [asyncio.create_task(client.find_token(f"slr/ns/{n}", shared=True)) for n in "ab"]
        await asyncio.sleep(0.01)
        gate.release.set()
        found = [await first, *[await task for task in joined]]
        assert gate.listings == 1

        # Once answered, the next look-up lists again: nothing is kept.
        await client.find_token("slr/ns/a", shared=True)
        assert gate.listings == 2

    assert [token.value.get_secret_value() if token else None for token in found] == [
        "token-a",
        "token-a",
        None,
    ]


async def test_a_look_up_that_may_follow_its_own_creation_lists_anew() -> None:
    fake = FakeCSSM()
    fake.route("GET", va_path("tokens"), ok(tokens=[]))
    gate = GatedListing(fake)
    async with make_client(fake, transport=httpx.MockTransport(gate)) as client:
        shared = asyncio.create_task(client.find_token("slr/ns/a", shared=True))
        await asyncio.wait_for(gate.first_out.wait(), 5)
        own = asyncio.create_task(client.find_token("slr/ns/a"))
        for _ in range(200):
            if gate.listings == 2:
                break
            await asyncio.sleep(0.005)
        assert gate.listings == 2  # not joined: it sent its own listing
        gate.release.set()
        assert await shared is None
        assert await own is None


async def test_a_failed_shared_listing_fails_every_caller_and_is_not_kept() -> None:
    fake = FakeCSSM()
    fake.route("GET", va_path("tokens"), ok(tokens={"token": "not a list"}))
    gate = GatedListing(fake)
    async with make_client(fake, transport=httpx.MockTransport(gate)) as client:
        callers = [
            asyncio.create_task(client.find_token(f"slr/ns/{n}", shared=True)) for n in "abc"
        ]
        await asyncio.wait_for(gate.first_out.wait(), 5)
        gate.release.set()
        for caller in callers:
            with pytest.raises(UnexpectedAnswer, match="list_tokens"):
                await caller
        assert gate.listings == 1

        fake.route("GET", va_path("tokens"), ok(tokens=[]))
        assert await client.find_token("slr/ns/a", shared=True) is None
        assert gate.listings == 2
