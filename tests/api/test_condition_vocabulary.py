"""The condition vocabulary: every type and reason the kinds need, each a valid CamelCase word."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from pydantic import ValidationError

from smartlicensing.api import conditions as c
from smartlicensing.api.meta import Condition, ConditionStatus

REASON = re.compile(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")
CONSTANTS = {
    name: value for name, value in vars(c).items() if name.isupper() and isinstance(value, str)
}

REQUIRED_REASONS = """
AccountNotReady AccountNotFound CredentialsRejected CredentialsSecretMissing
VirtualAccountNotFound Connected CSSMUnavailable RateLimited TokenIssued TokenFromSecret
TokenSecretMissing InvalidToken TokenExpired TokenRevoked TokenExhausted AlreadyRegistered
UnsupportedVersion ClusterUnreachable ClusterCredentialsRejected ClusterMismatch Registering
Registered NotRegistered Deregistering Suspended Standby AwaitingUser Evaluation
EvaluationExpired Authorized AuthorizationExpired InCompliance OverUtilized InvalidSpec Syncing
Succeeded
""".split()  # noqa: SIM905  (a paragraph of words reads better than a 36-item list)


def test_every_required_reason_is_defined() -> None:
    missing = sorted(set(REQUIRED_REASONS) - set(CONSTANTS.values()))

    assert missing == []


@pytest.mark.parametrize(
    ("kind_types", "expected"),
    [
        pytest.param(
            c.REGISTRATION_CONDITIONS,
            {
                "Ready",
                "TokenReady",
                "Registered",
                "Authorized",
                "Compliant",
                "Reconciling",
                "Stalled",
            },
            id="slr",
        ),
        pytest.param(
            c.SMART_ACCOUNT_CONDITIONS, {"Ready", "Compliant", "Reconciling", "Stalled"}, id="sma"
        ),
        pytest.param(
            c.RESERVATION_CONDITIONS,
            {"Ready", "RequestCodeReady", "Authorized", "Installed", "Reconciling", "Stalled"},
            id="lres",
        ),
    ],
)
def test_condition_types_per_kind(kind_types: tuple[str, ...], expected: set[str]) -> None:
    assert set(kind_types) == expected
    assert kind_types[0] == c.READY


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_every_word_fits_the_condition_reason_pattern(name: str) -> None:
    assert REASON.fullmatch(CONSTANTS[name]), CONSTANTS[name]


def test_conditions_refuse_naive_timestamps() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        Condition(
            type=c.READY,
            status=ConditionStatus.TRUE,
            reason=c.SUCCEEDED,
            last_transition_time=datetime(2026, 12, 3, 10, 0),
        )
