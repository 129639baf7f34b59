"""What the demo prints and when it decides it is done, from hand-made API answers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smartlicensing.testing.demo import (
    DemoOutcome,
    Progress,
    render_tables,
    summary,
    table_signature,
)

_COLUMNS = [
    {"name": "Name", "type": "string", "priority": 0},
    {"name": "Ready", "type": "string", "priority": 0},
    {"name": "Registration", "type": "string", "priority": 0},
    {"name": "Detail", "type": "string", "priority": 1},
    {"name": "Age", "type": "date", "priority": 0},
]


def _table(*rows: tuple[str, str | None, str | None, str]) -> dict[str, Any]:
    return {
        "kind": "Table",
        "columnDefinitions": _COLUMNS,
        "rows": [
            {
                "cells": [name, ready, registration, "wide only", age],
                "object": {"metadata": {"name": name, "namespace": "licensing"}},
            }
            for name, ready, registration, age in rows
        ],
    }


def _object(
    name: str, driver: str, *conditions: tuple[str, str, str], kind: str = "registration"
) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if kind == "registration":
        spec = {"cluster": {"driver": {"type": driver}}}
    return {
        "metadata": {"name": name, "namespace": "licensing"},
        "spec": spec,
        "status": {
            "conditions": [
                {"type": type_, "status": status, "reason": reason, "message": f"{reason} text"}
                for type_, status, reason in conditions
            ]
        },
    }


class TestTables:
    def test_each_kind_is_a_block_with_namespace_and_kind_qualified_names(self) -> None:
        text = render_tables(
            {
                "SmartAccount": _table(("acme-prod", "True", None, "5s")),
                "SmartLicenseRegistration": _table(
                    ("csw-east", "True", "Registered", "4s"), ("csw-lab", "False", None, "4s")
                ),
                "LicenseReservation": {"columnDefinitions": _COLUMNS, "rows": []},
            }
        )

        assert text.splitlines() == [
            "NAMESPACE   NAME                                        READY   REGISTRATION   AGE",
            "licensing   smartaccount.smartlicensing.dev/acme-prod   True    <none>         5s",
            "",
            "NAMESPACE   NAME                                                   READY   "
            "REGISTRATION   AGE",
            "licensing   smartlicenseregistration.smartlicensing.dev/csw-east   True    "
            "Registered     4s",
            "licensing   smartlicenseregistration.smartlicensing.dev/csw-lab    False   "
            "<none>         4s",
        ]

    def test_no_objects_reads_like_kubectl(self) -> None:
        assert render_tables({"SmartAccount": {"rows": []}}) == "No resources found"

    def test_ages_alone_do_not_count_as_a_change(self) -> None:
        before = {"SmartAccount": _table(("acme-prod", "False", None, "1s"))}
        older = {"SmartAccount": _table(("acme-prod", "False", None, "2s"))}
        ready = {"SmartAccount": _table(("acme-prod", "True", None, "2s"))}

        assert table_signature(before) == table_signature(older)
        assert table_signature(before) != table_signature(ready)


class TestProgress:
    def test_done_when_accounts_and_api_registrations_are_ready_and_manual_ones_wait(
        self,
    ) -> None:
        progress = Progress(
            accounts=[_object("acme-prod", "", ("Ready", "True", "Connected"), kind="account")],
            registrations=[
                _object("csw-east", "Api", ("Ready", "True", "Registered")),
                _object("csw-lab", "Manual", ("Registered", "False", "AwaitingUser")),
            ],
        )

        assert progress.missing() == []

    @pytest.mark.parametrize(
        ("registrations", "expected"),
        [
            pytest.param(
                [_object("csw-east", "Api", ("Ready", "False", "Registering"))],
                "SmartLicenseRegistration licensing/csw-east is not Ready",
                id="api-not-ready",
            ),
            pytest.param(
                [_object("csw-lab", "Manual", ("Registered", "False", "NotRegistered"))],
                "SmartLicenseRegistration licensing/csw-lab does not wait for a person",
                id="manual-other-reason",
            ),
            pytest.param(
                [_object("csw-lab", "Manual")],
                "SmartLicenseRegistration licensing/csw-lab does not wait for a person",
                id="manual-no-status",
            ),
        ],
    )
    def test_names_each_object_that_is_not_there_yet(
        self, registrations: list[dict[str, Any]], expected: str
    ) -> None:
        progress = Progress(
            accounts=[_object("acme-prod", "", ("Ready", "True", "Connected"), kind="account")],
            registrations=registrations,
        )

        (missing,) = progress.missing()
        assert missing.startswith(expected)

    def test_no_account_is_not_done(self) -> None:
        assert Progress().missing() == ["no SmartAccount was applied"]

    def test_an_account_that_is_not_ready_is_named(self) -> None:
        progress = Progress(
            accounts=[_object("acme-prod", "", ("Ready", "False", "CSSMUnavailable"))]
        )

        assert progress.missing() == ["SmartAccount licensing/acme-prod is not Ready"]


def test_summary_names_what_became_ready_the_instruction_the_day_and_the_calls() -> None:
    text = summary(
        DemoOutcome(
            ready=("SmartAccount licensing/acme-prod",),
            awaiting_user={"licensing/csw-lab": "enter the token in Settings > Licensing"},
            syncs_after_a_day={"licensing/csw-east": 1},
            cssm_calls=7,
            cluster_calls=5,
            kubeconfig=Path("/tmp/kubeconfig"),
            operator_log=Path("/tmp/operator.log"),
        )
    )

    assert text.splitlines()[2:] == [
        "  Ready: SmartAccount licensing/acme-prod",
        "  Waiting for a person: licensing/csw-lab: enter the token in Settings > Licensing",
        "  A simulated day later: licensing/csw-east synced 1 time",
        "  Calls (simulator call log): 7 to CSSM and On-Prem, 5 to clusters",
    ]
