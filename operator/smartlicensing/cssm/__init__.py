"""Async client of Cisco Smart Software Manager (cloud) and Smart Software Manager On-Prem.

The HTTP surface is the one the bundled simulator serves too; see :mod:`.client` for the
retry, rate-limit and token-caching rules, :mod:`.errors` for what can go wrong.
"""

from smartlicensing.cssm.client import (
    CallPolicy,
    ClientCredentials,
    CSSMClient,
    CSSMEndpoint,
    RateLimits,
    ServerType,
)
from smartlicensing.cssm.errors import (
    AccountNotFound,
    CABundleInvalid,
    CredentialsRejected,
    CSSMError,
    CSSMRequestInvalid,
    CSSMUnavailable,
    InstanceRemovalRejected,
    RateLimited,
    ReservationRejected,
    TokenRejected,
    UnexpectedAnswer,
    VirtualAccountNotFound,
)

__all__ = [
    "AccountNotFound",
    "CABundleInvalid",
    "CSSMClient",
    "CSSMEndpoint",
    "CSSMError",
    "CSSMRequestInvalid",
    "CSSMUnavailable",
    "CallPolicy",
    "ClientCredentials",
    "CredentialsRejected",
    "InstanceRemovalRejected",
    "RateLimited",
    "RateLimits",
    "ReservationRejected",
    "ServerType",
    "TokenRejected",
    "UnexpectedAnswer",
    "VirtualAccountNotFound",
]
