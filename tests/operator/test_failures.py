"""Client errors as condition reasons, transient or permanent as waiting can or cannot heal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from smartlicensing import cssm, kube
from smartlicensing.handlers.failures import (
    cssm_failure,
    product_failure,
    secret_failure,
    unexpected_failure,
)
from smartlicensing.product import errors as p


@pytest.mark.parametrize(
    ("error", "reason", "permanent"),
    [
        pytest.param(cssm.CSSMUnavailable("down"), "CSSMUnavailable", False, id="unavailable"),
        pytest.param(
            cssm.CredentialsRejected("refused"), "CredentialsRejected", True, id="credentials"
        ),
        pytest.param(
            cssm.VirtualAccountNotFound("no va"), "VirtualAccountNotFound", False, id="no-va"
        ),
        pytest.param(cssm.AccountNotFound("no sa"), "VirtualAccountNotFound", False, id="no-sa"),
        pytest.param(cssm.TokenRejected("bad days"), "InvalidSpec", True, id="token-params"),
        pytest.param(cssm.CABundleInvalid("bad pem"), "CABundleMissing", True, id="ca"),
        pytest.param(cssm.UnexpectedAnswer("junk"), "CSSMUnavailable", False, id="junk"),
    ],
)
def test_cssm_failures(error: cssm.CSSMError, reason: str, permanent: bool) -> None:
    failure = cssm_failure(error)

    assert (failure.reason, failure.is_permanent, failure.message) == (
        reason,
        permanent,
        error.message,
    )


def test_rate_limited_carries_retry_after() -> None:
    failure = cssm_failure(cssm.RateLimited("slow down", retry_after=120.0))

    assert (failure.reason, failure.retry_after) == ("RateLimited", timedelta(seconds=120))


@pytest.mark.parametrize(
    ("error", "issued", "reason", "permanent", "condition"),
    [
        pytest.param(p.InvalidToken("x"), False, "InvalidToken", True, "TokenReady", id="users"),
        pytest.param(p.TokenExpired("x"), True, "TokenExpired", False, "TokenReady", id="issued"),
        pytest.param(
            p.AlreadyRegistered("x"), True, "AlreadyRegistered", True, "Registered", id="taken"
        ),
        pytest.param(
            p.UnsupportedVersion("x"), True, "UnsupportedVersion", True, "Registered", id="old"
        ),
        pytest.param(
            p.ClusterMismatch("x"), True, "ClusterMismatch", True, "Registered", id="uuid"
        ),
        pytest.param(
            p.ClusterCredentialsRejected("x"),
            True,
            "ClusterCredentialsRejected",
            True,
            None,
            id="key",
        ),
        pytest.param(
            p.ClusterUnreachable("x"), True, "ClusterUnreachable", False, None, id="unreachable"
        ),
        pytest.param(
            p.TransportUnreachable("x"), True, "ClusterUnreachable", False, None, id="transport"
        ),
    ],
)
def test_product_failures(
    error: p.ProductError, issued: bool, reason: str, permanent: bool, condition: str | None
) -> None:
    failure = product_failure(error, token_issued=issued)

    assert (failure.reason, failure.is_permanent, failure.condition) == (
        reason,
        permanent,
        condition,
    )


def test_a_secret_owned_by_someone_else_needs_a_person() -> None:
    error = kube.SecretOwnedByOther("taken", namespace="ns", name="csw-east-token")

    assert secret_failure(error, reason="TokenSecretMissing").is_permanent


def test_a_missing_secret_is_retried_with_the_given_reason() -> None:
    error = kube.SecretNotFound("Secret ns/x does not exist", namespace="ns", name="x")

    failure = secret_failure(error, reason="CredentialsSecretMissing")

    assert (failure.reason, failure.is_permanent) == ("CredentialsSecretMissing", False)


def test_unexpected_errors_keep_their_text_out_of_status() -> None:
    failure = unexpected_failure(KeyError("token=abcdef123456"))

    assert failure.message == "unexpected error (KeyError); see the operator's log"
    assert not failure.is_permanent
