"""What can go wrong when talking to CSSM or On-Prem, as types the reconciler can branch on.

Each error carries a message fit for a status condition: it names the operation and what to do,
and never a token, client secret, code or bearer header (the client masks anything that looks
like one before building the message). ``reason`` is the CamelCase word a condition uses.
"""

from __future__ import annotations


class CSSMError(Exception):
    """Base of every CSSM client error."""

    reason = "CSSMError"

    def __init__(self, message: str, *, operation: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation


class CSSMUnavailable(CSSMError):
    """5xx, connection failure or timeout, still failing after the retries allowed.

    ``outcome_unknown`` is true when a call that changes something (token create, reserve,
    remove) may have been carried out before the failure; the caller must look the outcome up
    (e.g. :meth:`CSSMClient.find_token`) before trying again.
    """

    reason = "CSSMUnavailable"

    def __init__(self, message: str, *, operation: str = "", outcome_unknown: bool = False) -> None:
        super().__init__(message, operation=operation)
        self.outcome_unknown = outcome_unknown


class RateLimited(CSSMError):
    """CSSM answered 429 and asked for a wait longer than the client may hold a worker."""

    reason = "RateLimited"

    def __init__(self, message: str, *, operation: str = "", retry_after: float) -> None:
        super().__init__(message, operation=operation)
        self.retry_after = retry_after


class CredentialsRejected(CSSMError):
    """The OAuth client was refused (401 ``invalid_client``) or has no API access (403)."""

    reason = "CredentialsRejected"


class AccountNotFound(CSSMError):
    """The Smart Account (or On-Prem local account) domain is unknown to these credentials."""

    reason = "AccountNotFound"


class VirtualAccountNotFound(CSSMError):
    """The Smart Account exists but has no virtual account of that name."""

    reason = "VirtualAccountNotFound"


class CSSMRequestInvalid(CSSMError):
    """CSSM refused the request as invalid (400, or ``status: ERROR`` with a statusMessage)."""

    reason = "CSSMRequestInvalid"


class TokenRejected(CSSMRequestInvalid):
    """CSSM refused to issue a registration token with these parameters."""

    reason = "TokenRejected"


class ReservationRejected(CSSMRequestInvalid):
    """CSSM refused a license reservation (short of licenses, malformed request code, ...)."""

    reason = "ReservationRejected"


class InstanceRemovalRejected(CSSMRequestInvalid):
    """CSSM refused to remove a product instance (e.g. a reserved one without a valid return
    code)."""

    reason = "InstanceRemovalRejected"


class UnexpectedAnswer(CSSMError):
    """CSSM answered with a body this client cannot read (not JSON, or missing fields)."""

    reason = "UnexpectedAnswer"


class CABundleInvalid(CSSMError):
    """The CA bundle given for the server is not loadable PEM certificate text."""

    reason = "CABundleInvalid"
