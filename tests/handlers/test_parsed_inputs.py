"""The runtime reuses a parsed spec or status while what it was parsed from is unchanged."""

from __future__ import annotations

from typing import Any, cast

import kopf
import pytest

from smartlicensing.api.registration import SmartLicenseRegistrationStatus
from smartlicensing.handlers import registrations
from smartlicensing.handlers.registering import RegistrationPass
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


def _body(version: str | None, generation: int | None = 1) -> kopf.Body:
    metadata: dict[str, Any] = {"name": "csw", "namespace": "ns", "uid": "uid-1"}
    if generation is not None:
        metadata["generation"] = generation
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


@pytest.fixture
def spec_parses(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every spec the registration handlers parse."""
    calls: list[object] = []

    def counting(model: Any, raw: Any) -> Any:
        calls.append(raw)
        return parse_spec(model, raw)

    monkeypatch.setattr("smartlicensing.handlers.registering.parse_spec", counting)
    return calls


@pytest.mark.parametrize(
    ("bodies", "parses"),
    [
        pytest.param([("7", 1), ("7", 1), ("7", 1)], 1, id="unchanged-object"),
        pytest.param([("7", 1), ("8", 1), ("9", 1)], 1, id="status-writes"),
        pytest.param([("7", 1), ("8", 2), ("9", 3)], 3, id="spec-edits"),
        pytest.param([(None, None), (None, None), (None, None)], 3, id="no-generation"),
    ],
)
async def test_a_spec_is_parsed_once_per_generation(
    spec_parses: list[object], bodies: list[tuple[str | None, int | None]], parses: int
) -> None:
    runtime = Runtime()
    for version, generation in bodies:
        await registrations._due(runtime, _body(version, generation), {}, recheck_stalled=False)
    assert len(spec_parses) == parses


async def test_a_pass_decides_from_the_spec_and_status_its_due_check_parsed(
    spec_parses: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = Runtime()
    body = _body("7")
    status_parses: list[object] = []
    validate = SmartLicenseRegistrationStatus.model_validate

    def counting(raw: Any) -> SmartLicenseRegistrationStatus:
        status_parses.append(raw)
        return validate(raw)

    monkeypatch.setattr(SmartLicenseRegistrationStatus, "model_validate", counting)
    events: list[str] = []
    monkeypatch.setattr(kopf, "info", lambda *_, reason, **__: events.append(reason))
    monkeypatch.setattr(kopf, "warn", lambda *_, reason, **__: events.append(reason))
    due = await registrations._due(runtime, body, {}, recheck_stalled=False)
    assert due is not None

    # No SmartAccount in the index: the pass records that, and calls nobody.
    await RegistrationPass(runtime, body, kopf.Patch(), {}, due).run()

    assert events == ["AccountNotFound"]
    assert len(spec_parses) == 1
    assert len(status_parses) == 1
