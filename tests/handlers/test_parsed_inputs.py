"""The runtime reuses a parsed spec or status while what it was parsed from is unchanged."""

from __future__ import annotations

from typing import Any, cast

import kopf
import pytest

from smartlicensing.handlers import registrations
from smartlicensing.handlers.runtime import Runtime
from smartlicensing.reconcile.validation import parse_spec


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: str) -> Any:
        def parse() -> str:
            self.calls += 1
            return value

        return parse


def test_a_result_is_reused_while_its_source_is_unchanged() -> None:
    runtime, parse = Runtime(), Counter()
    assert runtime.parsed("uid-1", "spec", "41", parse("first")) == "first"
    assert runtime.parsed("uid-1", "spec", "41", parse("again")) == "first"
    assert parse.calls == 1


def test_a_new_source_is_parsed_again() -> None:
    runtime, parse = Runtime(), Counter()
    runtime.parsed("uid-1", "status", {"a": 1}, parse("old"))
    assert runtime.parsed("uid-1", "status", {"a": 2}, parse("new")) == "new"
    assert runtime.parsed("uid-1", "status", "41", parse("from-body")) == "from-body"
    assert parse.calls == 3


def test_objects_and_inputs_are_kept_apart_and_forgotten() -> None:
    runtime, parse = Runtime(), Counter()
    runtime.parsed("uid-1", "spec", "41", parse("one-spec"))
    runtime.parsed("uid-1", "status", "41", parse("one-status"))
    assert runtime.parsed("uid-2", "spec", "41", parse("two-spec")) == "two-spec"
    runtime.forget("uid-1")
    assert runtime.parsed("uid-1", "spec", "41", parse("one-spec-anew")) == "one-spec-anew"
    assert parse.calls == 4


def _body(version: str | None) -> kopf.Body:
    metadata: dict[str, Any] = {"name": "csw", "namespace": "ns", "uid": "uid-1", "generation": 1}
    if version is not None:
        metadata["resourceVersion"] = version
    raw = {
        "metadata": metadata,
        "spec": {
            "accountRef": {"name": "acct"},
            "cluster": {
                "uuid": "5f0c2a8e-3c1d-4e0b-9a57-6b1e2f3d4c5b",
                "role": "Standalone",
                "driver": {"type": "Manual"},
            },
            "token": {"issue": {"expiresAfterDays": 30}},
        },
    }
    return kopf.Body(cast(kopf.RawBody, raw))


@pytest.mark.parametrize(
    ("versions", "parses"),
    [
        pytest.param(("7", "7", "7"), 1, id="unchanged-object"),
        pytest.param(("7", "8", "9"), 3, id="changed-object"),
        pytest.param((None, None, None), 3, id="no-resource-version"),
    ],
)
async def test_the_timer_parses_a_spec_once_per_resource_version(
    monkeypatch: pytest.MonkeyPatch, versions: tuple[str | None, ...], parses: int
) -> None:
    runtime = Runtime()
    calls: list[object] = []

    def counting(model: Any, raw: Any) -> Any:
        calls.append(raw)
        return parse_spec(model, raw)

    monkeypatch.setattr("smartlicensing.handlers.registrations.parse_spec", counting)
    for version in versions:
        await registrations._due(runtime, _body(version), {}, recheck_stalled=False)
    assert len(calls) == parses
