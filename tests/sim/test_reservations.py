"""Specific and PLR reservations across both sides: request code at the cluster, reserve at
CSSM, install, update with a confirmation code, cancel, return and remove with the return code."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sim.harness import CLOUD_API, DEVICES, DOMAIN, EAST, LAB, REMOVE, RESERVE, VA, WEST, Driver
from smartlicensing.testing.sim import Simulator, choices, codes

UPDATE = f"{CLOUD_API}/accounts/{DOMAIN}/virtual-accounts/{VA}/devices/reservation-update"
CONFIRM = f"{CLOUD_API}/accounts/{DOMAIN}/virtual-accounts/{VA}/devices/confirmation-code"
WP_TAG = choices.ENTITLEMENT_TAGS[choices.WORKLOAD_PROTECTION]
EV_TAG = choices.ENTITLEMENT_TAGS[choices.ENDPOINT_VISIBILITY]


def specific(code: str, workloads: int, endpoints: int = 0) -> dict[str, Any]:
    licenses = [
        {"entitlementTag": WP_TAG, "quantity": workloads, "precedence": "LONGEST_TERM_FIRST"}
    ]
    if endpoints:
        licenses.append(
            {"entitlementTag": EV_TAG, "quantity": endpoints, "precedence": "LONGEST_TERM_FIRST"}
        )
    return {
        "reservationRequests": [
            {"reservationCode": code, "reservationType": "SPECIFIC", "licenses": licenses}
        ]
    }


async def request_code(drv: Driver, uuid: str = LAB, kind: str = "Specific") -> str:
    status = await drv.cluster_ok(uuid, "POST", "/reservation/request", {"type": kind})
    return str(status["reservation"]["requestCode"])


async def reserve(drv: Driver, code: str, workloads: int = 100, endpoints: int = 50) -> str:
    payload = await drv.cssm_ok("POST", RESERVE, specific(code, workloads, endpoints))
    return str(payload["authorizationCodes"][0]["authorizationCode"])


async def install_specific(drv: Driver, uuid: str = LAB) -> str:
    authorization = await reserve(drv, await request_code(drv, uuid))
    await drv.cluster_ok(
        uuid, "POST", "/reservation/authorization", {"authorizationCode": authorization}
    )
    return authorization


class TestRequestCode:
    async def test_request_code_has_the_documented_form_and_is_stable(self, drv: Driver) -> None:
        first = await request_code(drv)
        again = await request_code(drv)

        assert re.fullmatch(r"CB-ZCSW:0B7D1E449F3-[1-9A-HJ-NP-Za-km-z]{9}-[0-9A-F]{2}", first)
        assert again == first
        status = await drv.cluster_ok(LAB, "GET")
        assert status["reservation"] == {
            "state": "Requested",
            "type": "Specific",
            "requestCode": first,
            "reserved": {},
        }

    async def test_same_seed_gives_the_same_codes(self, drv: Driver) -> None:
        from sim.harness import make_simulator

        other = make_simulator()
        other.world.request_reservation(other.world.clusters[LAB], "Specific")

        assert await request_code(drv) == other.world.clusters[LAB].reservation.request_code  # type: ignore[union-attr]

    async def test_registered_cluster_cannot_request_a_reservation(self, drv: Driver) -> None:
        await drv.register(EAST)

        response = await drv.cluster(EAST, "POST", "/reservation/request", {"type": "Specific"})

        assert response.status_code == 409
        assert response.json()["error"] == "RegisteredConnected"

    async def test_requesting_another_type_while_requested_is_409(self, drv: Driver) -> None:
        await request_code(drv)

        response = await drv.cluster(LAB, "POST", "/reservation/request", {"type": "PLR"})

        assert response.json()["error"] == "ReservationActive"

    async def test_cluster_with_a_reservation_cannot_register(self, drv: Driver) -> None:
        await request_code(drv)

        response = await drv.cluster(
            LAB,
            "POST",
            "/registration",
            {
                "token": await drv.issue_token(),
                "transportUrl": "https://smartreceiver.cisco.com/licservice/license",
            },
        )

        assert response.status_code == 409
        assert response.json()["error"] == "ReservationActive"

    async def test_unknown_type_is_400(self, drv: Driver) -> None:
        response = await drv.cluster(LAB, "POST", "/reservation/request", {"type": "Universal"})

        assert response.status_code == 400


class TestReserveAtCssm:
    async def test_specific_reservation_end_to_end(self, drv: Driver) -> None:
        code = await request_code(drv)

        authorization = await reserve(drv, code, workloads=100, endpoints=50)
        status = await drv.cluster_ok(
            LAB, "POST", "/reservation/authorization", {"authorizationCode": authorization}
        )

        assert authorization.startswith("<specificPLR><authorizationCode>")
        assert f"<udi>P:CSW,S:0B7D1E449F3,U:{LAB}</udi>" in authorization
        assert status["registration"]["mode"] == "Reservation"
        assert status["registration"]["smartAccount"] == DOMAIN
        assert status["authorization"]["state"] == "AuthorizedReservation"
        assert status["reservation"]["state"] == "Installed"
        assert status["reservation"]["reserved"] == {
            choices.WORKLOAD_PROTECTION: 100,
            choices.ENDPOINT_VISIBILITY: 50,
        }
        assert "confirmationCode" not in status
        rows = await drv.license_rows()
        assert (
            rows[choices.WORKLOAD_PROTECTION]["reserved"],
            rows[choices.WORKLOAD_PROTECTION]["available"],
        ) == (100, 400)
        [device] = (await drv.cssm_ok("GET", DEVICES))["devices"]
        assert (device["sudi"]["uuid"], device["licenseReservation"]) == (LAB, "SPECIFIC")

    async def test_plr_reservation(self, drv: Driver) -> None:
        code = await request_code(drv, kind="PLR")
        body = {
            "reservationRequests": [
                {"reservationCode": code, "reservationType": "UNIVERSAL", "licenses": []}
            ]
        }

        payload = await drv.cssm_ok("POST", RESERVE, body)
        status = await drv.cluster_ok(
            LAB,
            "POST",
            "/reservation/authorization",
            {"authorizationCode": payload["authorizationCodes"][0]["authorizationCode"]},
        )

        assert status["reservation"]["reserved"] == {choices.PLR: 1}
        assert status["authorization"]["state"] == "AuthorizedReservation"
        assert (await drv.license_rows())[choices.PLR]["reserved"] == 1

    async def test_same_reservation_again_returns_the_same_code(self, drv: Driver) -> None:
        code = await request_code(drv)

        first = await reserve(drv, code)
        again = await reserve(drv, code)

        assert again == first
        assert (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["reserved"] == 100

    @pytest.mark.parametrize(
        ("workloads", "code", "message"),
        [
            (501, None, choices.TEXT_SHORT_OF_LICENSES),
            (10, "CB-ZCSW:0B7D1E449F3-abcdefghi-00", choices.TEXT_MALFORMED_REQUEST_CODE),
            (10, "garbage", choices.TEXT_MALFORMED_REQUEST_CODE),
        ],
        ids=["short-of-licenses", "bad-check-digits", "malformed"],
    )
    async def test_refused_reservation_is_status_error(
        self, drv: Driver, workloads: int, code: str | None, message: str
    ) -> None:
        code = code or await request_code(drv)

        response = await drv.cssm("POST", RESERVE, specific(code, workloads))

        assert response.status_code == 200
        payload = response.json()
        assert payload["status"] == "ERROR"
        assert payload["authorizationCodes"][0]["statusMessage"].startswith(message)
        assert (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["reserved"] == 0

    async def test_different_licenses_for_a_reserved_instance_is_error(self, drv: Driver) -> None:
        code = await request_code(drv)
        await reserve(drv, code, workloads=100)

        payload = (await drv.cssm("POST", RESERVE, specific(code, 10))).json()

        assert payload["status"] == "ERROR"
        assert payload["statusMessage"] == choices.TEXT_RESERVATION_EXISTS

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {
                "reservationRequests": [
                    {
                        "reservationCode": "x",
                        "reservationType": "SPECIFIC",
                        "licenses": [{"entitlementTag": "nope", "quantity": 1}],
                    }
                ]
            },
        ],
        ids=["no-requests", "unknown-tag"],
    )
    async def test_malformed_reserve_body_is_400(self, drv: Driver, body: dict[str, Any]) -> None:
        response = await drv.cssm("POST", RESERVE, body)

        assert response.status_code == 400


class TestInstall:
    async def test_install_without_a_request_is_409(self, drv: Driver) -> None:
        response = await drv.cluster(
            LAB, "POST", "/reservation/authorization", {"authorizationCode": "<x/>"}
        )

        assert response.json()["error"] == "NoReservationInProgress"

    async def test_code_for_another_cluster_is_a_mismatch(self, drv: Driver) -> None:
        await request_code(drv, LAB)
        other = await reserve(drv, await request_code(drv, WEST))

        response = await drv.cluster(
            LAB, "POST", "/reservation/authorization", {"authorizationCode": other}
        )

        assert response.status_code == 422
        assert response.json()["error"] == "ReservationMismatch"
        assert "specificPLR" not in response.text

    @pytest.mark.parametrize(
        "mangle",
        [
            lambda c: "not xml",
            lambda c: c.replace("<count>100</count>", "<count>900</count>"),
            lambda c: "<specificPLR/>",
        ],
        ids=["not-xml", "tampered-count", "empty"],
    )
    async def test_unparsable_or_tampered_code_is_invalid(self, drv: Driver, mangle: Any) -> None:
        authorization = await reserve(drv, await request_code(drv))

        response = await drv.cluster(
            LAB, "POST", "/reservation/authorization", {"authorizationCode": mangle(authorization)}
        )

        assert response.status_code == 422
        assert response.json()["error"] == "InvalidAuthorizationCode"

    async def test_installing_the_same_code_twice_is_409(self, drv: Driver) -> None:
        authorization = await install_specific(drv)

        response = await drv.cluster(
            LAB, "POST", "/reservation/authorization", {"authorizationCode": authorization}
        )

        assert response.json()["error"] == "ReservationAlreadyInstalled"

    async def test_usage_above_the_reservation_is_out_of_compliance(
        self, drv: Driver, sim: Simulator
    ) -> None:
        await install_specific(drv)  # 100 workloads, 50 endpoints reserved; the lab uses 30 / 10
        sim.world.clusters[LAB].workloads = 101

        status = await drv.cluster_ok(LAB, "GET")

        assert status["authorization"]["state"] == "OutOfCompliance"


class TestUpdate:
    async def test_update_confirmation_round_trip(self, drv: Driver) -> None:
        await install_specific(drv)
        sudi = {"udiPid": "CSW", "udiSerialNumber": "0B7D1E449F3", "uuid": LAB}

        updated = await drv.cssm_ok(
            "POST",
            UPDATE,
            {"sudi": sudi, "licenses": [{"entitlementTag": WP_TAG, "quantity": 150}]},
        )
        installed = await drv.cluster_ok(
            LAB,
            "POST",
            "/reservation/authorization",
            {"authorizationCode": updated["authorizationCode"]},
        )
        [pending] = (await drv.cssm_ok("GET", DEVICES))["devices"]
        confirmed = await drv.cssm_ok(
            "POST", CONFIRM, {"sudi": sudi, "confirmationCode": installed["confirmationCode"]}
        )
        [device] = (await drv.cssm_ok("GET", DEVICES))["devices"]

        assert re.fullmatch(r"[0-9a-f]{8}", installed["confirmationCode"])
        assert installed["reservation"]["reserved"] == {choices.WORKLOAD_PROTECTION: 150}
        assert pending["reservationPending"] is True
        assert confirmed["status"] == "SUCCESS"
        assert device["reservationPending"] is False
        rows = await drv.license_rows()
        assert (
            rows[choices.WORKLOAD_PROTECTION]["reserved"],
            rows[choices.ENDPOINT_VISIBILITY]["reserved"],
        ) == (150, 0)

    async def test_wrong_confirmation_code_is_refused(self, drv: Driver) -> None:
        await install_specific(drv)
        sudi = {"uuid": LAB}
        await drv.cssm_ok(
            "POST",
            UPDATE,
            {"sudi": sudi, "licenses": [{"entitlementTag": WP_TAG, "quantity": 120}]},
        )

        response = await drv.cssm("POST", CONFIRM, {"sudi": sudi, "confirmationCode": "00000000"})

        assert response.status_code == 400
        assert response.json()["statusMessage"] == choices.TEXT_CONFIRMATION_MISMATCH

    async def test_confirmation_without_an_update_is_refused(self, drv: Driver) -> None:
        await install_specific(drv)

        response = await drv.cssm(
            "POST", CONFIRM, {"sudi": {"uuid": LAB}, "confirmationCode": "00000000"}
        )

        assert response.json()["statusMessage"] == choices.TEXT_NO_PENDING_UPDATE

    async def test_update_beyond_what_is_available_is_refused(self, drv: Driver) -> None:
        await install_specific(drv)

        response = await drv.cssm(
            "POST",
            UPDATE,
            {"sudi": {"uuid": LAB}, "licenses": [{"entitlementTag": WP_TAG, "quantity": 501}]},
        )

        assert response.status_code == 400
        assert response.json()["statusMessage"].startswith(choices.TEXT_SHORT_OF_LICENSES)

    async def test_update_of_an_unreserved_instance_is_refused(self, drv: Driver) -> None:
        await drv.register(EAST)

        response = await drv.cssm(
            "POST",
            UPDATE,
            {"sudi": {"uuid": EAST}, "licenses": [{"entitlementTag": WP_TAG, "quantity": 1}]},
        )

        assert response.json()["statusMessage"] == choices.TEXT_NOT_RESERVED


class TestReturnAndCancel:
    async def test_return_then_remove_with_the_return_code_frees_the_licenses(
        self, drv: Driver
    ) -> None:
        await install_specific(drv)

        returned = await drv.cluster_ok(LAB, "POST", "/reservation/return")
        removed = await drv.cssm_ok(
            "POST",
            REMOVE,
            {
                "productInstancesRemoveRequests": [
                    {"sudi": {"uuid": LAB}, "returnCode": returned["returnCode"]}
                ]
            },
        )

        assert re.fullmatch(
            r"([1-9A-HJ-NP-Za-km-z]{6}-){8}[1-9A-HJ-NP-Za-km-z]{3}", returned["returnCode"]
        )
        assert returned["registration"]["state"] == "Unregistered"
        assert returned["authorization"]["state"] == "Evaluation"
        assert removed["status"] == "SUCCESS"
        assert (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["reserved"] == 0

    @pytest.mark.parametrize(
        "code", [None, "AAAAAA-AAAAAA"], ids=["no-return-code", "wrong-return-code"]
    )
    async def test_reserved_instance_needs_its_return_code(
        self, drv: Driver, code: str | None
    ) -> None:
        await install_specific(drv)

        response = await drv.cssm(
            "POST",
            REMOVE,
            {"productInstancesRemoveRequests": [{"sudi": {"uuid": LAB}, "returnCode": code}]},
        )

        assert response.status_code == 400
        assert (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["reserved"] == 100

    async def test_return_without_an_installed_reservation_is_409(self, drv: Driver) -> None:
        await request_code(drv)

        response = await drv.cluster(LAB, "POST", "/reservation/return")

        assert response.json()["error"] == "NoReservationInProgress"

    async def test_cancel_a_request_that_cssm_never_saw(self, drv: Driver) -> None:
        await request_code(drv)

        status = await drv.cluster_ok(LAB, "DELETE", "/reservation")

        assert status["reservation"]["state"] == "None"
        assert "returnCode" not in status

    async def test_cancel_with_the_authorization_code_gives_a_return_code_cssm_accepts(
        self, drv: Driver
    ) -> None:
        authorization = await reserve(drv, await request_code(drv))

        status = await drv.cluster_ok(
            LAB, "DELETE", "/reservation", {"authorizationCode": authorization}
        )
        await drv.cssm_ok(
            "POST",
            REMOVE,
            {
                "productInstancesRemoveRequests": [
                    {"sudi": {"uuid": LAB}, "returnCode": status["returnCode"]}
                ]
            },
        )

        assert status["returnCode"] == codes.return_code(drv.sim.world.key, authorization)
        assert (await drv.license_rows())[choices.WORKLOAD_PROTECTION]["reserved"] == 0

    async def test_cancel_without_a_reservation_is_409(self, drv: Driver) -> None:
        response = await drv.cluster(LAB, "DELETE", "/reservation")

        assert response.json()["error"] == "NoReservationInProgress"

    async def test_installed_reservation_must_be_returned_not_cancelled(self, drv: Driver) -> None:
        await install_specific(drv)

        cancel = await drv.cluster(LAB, "DELETE", "/reservation")
        deregister = await drv.cluster(LAB, "DELETE", "/registration")

        assert cancel.json()["error"] == "ReservationActive"
        assert deregister.json()["error"] == "ReservationActive"
