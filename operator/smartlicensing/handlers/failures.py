"""What a failed call means for status: the error types of the clients, as reconcile Failures.

The clients raise typed errors with messages fit for a condition (they never carry a token,
secret or code). This module only decides the condition reason and whether waiting can heal
it; ``reconcile.attempts.Failure`` carries the decision on.
"""

from __future__ import annotations

from datetime import timedelta

from smartlicensing import cssm, kube
from smartlicensing.api import conditions as c
from smartlicensing.product import errors as product_errors
from smartlicensing.reconcile.attempts import Failure


def cssm_failure(error: cssm.CSSMError, *, condition: str | None = None) -> Failure:
    """A CSSM error as a failure of the pass that made the call."""
    if isinstance(error, cssm.RateLimited):
        return Failure(
            c.RATE_LIMITED,
            error.message,
            retry_after=timedelta(seconds=error.retry_after),
            condition=condition,
        )
    if isinstance(error, cssm.CredentialsRejected):
        return Failure(c.CREDENTIALS_REJECTED, error.message, condition=condition)
    if isinstance(error, cssm.CABundleInvalid):
        return Failure(c.CA_BUNDLE_MISSING, error.message, permanent=True, condition=condition)
    if isinstance(error, cssm.AccountNotFound | cssm.VirtualAccountNotFound):
        return Failure(c.VIRTUAL_ACCOUNT_NOT_FOUND, error.message, condition=condition)
    if isinstance(error, cssm.TokenRejected):
        return Failure(c.INVALID_SPEC, error.message, permanent=True, condition=condition)
    return Failure(c.CSSM_UNAVAILABLE, error.message, permanent=False, condition=condition)


def product_failure(error: product_errors.ProductError, *, token_issued: bool) -> Failure:
    """A cluster's refusal or silence as a failure of the registration pass.

    A refused token that the operator issued is not a reason to stall: the next attempt issues
    a new one. A refused token from the user's Secret waits for the Secret to change.
    """
    message = error.message
    if isinstance(error, product_errors.TokenRefused):
        return Failure(error.reason, message, permanent=not token_issued, condition=c.TOKEN_READY)
    if isinstance(error, product_errors.AlreadyRegistered):
        return Failure(
            c.ALREADY_REGISTERED,
            f"{message}; set spec.forceRegister: true to replace that registration",
            condition=c.REGISTERED,
        )
    if isinstance(error, product_errors.UnsupportedVersion):
        return Failure(c.UNSUPPORTED_VERSION, message, condition=c.REGISTERED)
    if isinstance(error, product_errors.ClusterMismatch):
        return Failure(c.CLUSTER_MISMATCH, message, condition=c.REGISTERED)
    if isinstance(error, product_errors.ClusterCredentialsRejected):
        return Failure(c.CLUSTER_CREDENTIALS_REJECTED, message)
    if isinstance(error, product_errors.ClusterCABundleInvalid):
        return Failure(c.CA_BUNDLE_MISSING, message, permanent=True)
    if isinstance(error, product_errors.ManualCodeSecretMissing):
        return Failure(c.INVALID_SPEC, message, permanent=True)
    return Failure(c.CLUSTER_UNREACHABLE, message, permanent=False)


def secret_failure(
    error: kube.SecretError, *, reason: str, condition: str | None = None
) -> Failure:
    """A Secret that cannot be read (or written) as a failure with the given reason.

    Missing Secrets heal when someone creates them, which the operator does not watch; they are
    retried by the backoff. A Secret of the wanted name owned by someone else needs a person.
    """
    if isinstance(error, kube.SecretOwnedByOther):
        return Failure(c.INVALID_SPEC, error.message, permanent=True, condition=condition)
    if isinstance(error, kube.KubernetesUnavailable):
        return Failure(c.RETRYING, error.message, permanent=False, condition=condition)
    return Failure(reason, error.message, permanent=False, condition=condition)


def unexpected_failure(error: Exception) -> Failure:
    """An error no client should raise: retried by the backoff, named only by its type.

    Its text is not put into status: an unexpected error's message was not built to be free of
    secrets. The operator's log has the traceback.
    """
    return Failure(
        c.RETRYING,
        f"unexpected error ({type(error).__name__}); see the operator's log",
        permanent=False,
    )
