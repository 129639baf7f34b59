"""What a Secure Workload cluster can refuse, as types, mapped from the contract's ``error`` codes.

``docs/product-api.md`` lists the codes. Each type's ``reason`` is the CamelCase word a status
condition uses. Messages come from the cluster's ``message`` (which never carries codes or
tokens by contract) and are masked again on our side anyway.
"""

from __future__ import annotations


class ProductError(Exception):
    """Base of every product-driver error."""

    reason = "ProductError"
    code: str | None = None
    """The contract's ``error`` value this type stands for, when it stands for one."""

    def __init__(self, message: str, *, operation: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation


class ClusterUnreachable(ProductError):
    """The cluster did not answer, or kept answering 503, after the retries allowed.

    ``outcome_unknown``: a step that changes the cluster may have been carried out; read
    :meth:`ProductDriver.status` before trying again.
    """

    reason = "ClusterUnreachable"
    code = "Unavailable"

    def __init__(self, message: str, *, operation: str = "", outcome_unknown: bool = False) -> None:
        super().__init__(message, operation=operation)
        self.outcome_unknown = outcome_unknown


class ClusterCredentialsRejected(ProductError):
    reason = "ClusterCredentialsRejected"
    code = "Unauthorized"


class ClusterMismatch(ProductError):
    """The cluster at the driver's URL is not the cluster of the spec (its UUID differs)."""

    reason = "ClusterMismatch"


class ClusterCABundleInvalid(ProductError):
    reason = "ClusterCABundleInvalid"


class ClusterRequestInvalid(ProductError):
    reason = "ClusterRequestInvalid"
    code = "BadRequest"


class UnexpectedClusterAnswer(ProductError):
    reason = "UnexpectedClusterAnswer"


class AlreadyRegistered(ProductError):
    reason = "AlreadyRegistered"
    code = "AlreadyRegistered"


class ReservationActive(ProductError):
    reason = "ReservationActive"
    code = "ReservationActive"


class RegisteredConnected(ProductError):
    reason = "RegisteredConnected"
    code = "RegisteredConnected"


class NoReservationInProgress(ProductError):
    reason = "NoReservationInProgress"
    code = "NoReservationInProgress"


class ReservationAlreadyInstalled(ProductError):
    reason = "ReservationAlreadyInstalled"
    code = "ReservationAlreadyInstalled"


class NotRegistered(ProductError):
    reason = "NotRegistered"
    code = "NotRegistered"


class UnsupportedVersion(ProductError):
    reason = "UnsupportedVersion"
    code = "UnsupportedVersion"


class TokenRefused(ProductError):
    """The registration token could not be used; a new token is the cure for every subtype."""

    reason = "TokenRefused"


class InvalidToken(TokenRefused):
    reason = "InvalidToken"
    code = "InvalidToken"


class TokenExpired(TokenRefused):
    reason = "TokenExpired"
    code = "TokenExpired"


class TokenRevoked(TokenRefused):
    reason = "TokenRevoked"
    code = "TokenRevoked"


class TokenExhausted(TokenRefused):
    reason = "TokenExhausted"
    code = "TokenExhausted"


class ReservationMismatch(ProductError):
    reason = "ReservationMismatch"
    code = "ReservationMismatch"


class InvalidAuthorizationCode(ProductError):
    reason = "InvalidAuthorizationCode"
    code = "InvalidAuthorizationCode"


class TransportUnreachable(ProductError):
    """The cluster cannot reach the CSSM or On-Prem server its transport URL names."""

    reason = "TransportUnreachable"
    code = "TransportUnreachable"


class ManualCodeSecretMissing(ProductError):
    """The spec does not say where a person should put a code the Secure Workload UI shows."""

    reason = "ManualCodeSecretMissing"


ERRORS_BY_CODE: dict[str, type[ProductError]] = {
    cls.code: cls
    for cls in (
        ClusterUnreachable,
        ClusterCredentialsRejected,
        ClusterRequestInvalid,
        AlreadyRegistered,
        ReservationActive,
        RegisteredConnected,
        NoReservationInProgress,
        ReservationAlreadyInstalled,
        NotRegistered,
        UnsupportedVersion,
        InvalidToken,
        TokenExpired,
        TokenRevoked,
        TokenExhausted,
        ReservationMismatch,
        InvalidAuthorizationCode,
        TransportUnreachable,
    )
    if cls.code is not None
}
