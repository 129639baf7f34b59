"""Every choice the simulator makes where public sources are silent ([N]) or only suggest ([I]).

Cisco publishes no specification of CSSM, of SSM On-Prem or of Secure Workload's licensing, so a
simulator must decide code formats, timers, entitlement tags and error texts somewhere. They are
all decided here, once, so that docs/simulator.md can point at one module and a test can pin a
value by name rather than by a literal copied from the code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

# --- Licenses -------------------------------------------------------------------------------

WORKLOAD_PROTECTION: Final = "Tetration Workload Protection"
ENDPOINT_VISIBILITY: Final = "Tetration Endpoint Visibility"
PLR: Final = "Secure Workload PLR"
LICENSE_NAMES: Final = (WORKLOAD_PROTECTION, ENDPOINT_VISIBILITY, PLR)

ENTITLEMENT_TAGS: Final = {
    # [N] the real tags were not found; these follow ISO 19770-2 as CSSM's tags do.
    WORKLOAD_PROTECTION: "regid.2022-08.com.cisco.CSW_WORKLOAD_PROTECTION,1.0_"
    "3d1e6a52-8f0b-4c7e-9b1a-5a4e2f0c7d11",
    ENDPOINT_VISIBILITY: "regid.2022-08.com.cisco.CSW_ENDPOINT_VISIBILITY,1.0_"
    "7b2c9e40-1d3a-4f6b-8e25-0c9d4a6b3f22",
    PLR: "regid.2022-08.com.cisco.CSW_PLR,1.0_c5a8d7e1-6f24-4b39-a0d7-2e1b8c9f4a33",
}
LICENSE_BY_TAG: Final = {tag: name for name, tag in ENTITLEMENT_TAGS.items()}

PRODUCT_PID: Final = "CSW"
PRODUCT_TYPE: Final = "Secure Workload"
PRODUCT_TAG_NAME: Final = "regid.2022-08.com.cisco.CSW,1.0_0f6a9d2c-4b7e-4c1a-9e3d-8a5b1c7e2f44"
BILLING_TYPE: Final = "PREPAID"
LICENSE_TYPE: Final = "PERPETUAL"

FIRST_SUPPORTED_VERSION: Final = (3, 8)
"""Smart Licensing arrived with Secure Workload 3.8 [C]; older clusters answer 412."""

# --- Timers ---------------------------------------------------------------------------------

ACCESS_TOKEN_LIFETIME: Final = timedelta(seconds=3599)  # [C] observed expires_in
CLUSTER_SYNC_INTERVAL: Final = timedelta(hours=24)  # seed only [N]
AUTHORIZATION_LIFETIME: Final = timedelta(days=90)  # [C] 90 days without contact
REGISTRATION_RENEWAL: Final = timedelta(days=180)  # [C] ID certificate renewal
REGISTRATION_LIFETIME: Final = timedelta(days=365)  # [C] ID certificate validity
EVALUATION_PERIOD: Final = timedelta(days=90)  # [C] counts down only while in use
CLOCK_ADVANCE_MAX: Final = timedelta(days=3660)
"""[N] One call of the control API moves the clock at most ten years: every due sync runs on
the way, so an unbounded step would hold the simulator for as long as it takes."""
TOKEN_MIN_DAYS: Final = 1  # [N] documented bounds of expiresAfterDays
TOKEN_MAX_DAYS: Final = 365
TOKEN_DESCRIPTION_MAX: Final = 100
LICENSES_PAGE_DEFAULT: Final = 50
LICENSES_PAGE_MAX: Final = 1000
HMAC_MAX_SKEW: Final = timedelta(seconds=300)
"""How far a signed request's ``Timestamp`` may be from the server's real time."""

SLOW_ANSWER_MAX_SECONDS: Final = 30.0
"""Injected slowness is real time; bounded so a forgotten fault cannot hang a test run."""

CALL_LOG_LIMIT: Final = 20_000
"""Oldest calls are dropped beyond this, so a long benchmark cannot exhaust memory."""

BODY_LOG_LIMIT: Final = 2_000
"""Characters of a (masked) request body kept in the call log."""

RATE_LIMIT_MIN_RATE: Final = 0.001
RATE_LIMIT_MAX_BURST: Final = 1_000_000
"""[N] Bounds of ``PUT /_sim/rate-limit``: a Retry-After stays under about 17 minutes."""

REQUEST_BODY_LIMIT: Final = 1024 * 1024
"""[N] Larger request bodies are answered 413 unread: no call the operator makes comes near it."""

AUTHORIZATION_CODE_MAX_BYTES: Final = 64 * 1024

# --- Transport URLs -------------------------------------------------------------------------

CLOUD_TRANSPORT_HOSTS: Final = frozenset(
    {"smartreceiver.cisco.com", "smartreceiver-stage.cisco.com"}
)
CLOUD_TRANSPORT_PATH: Final = "/licservice/license"
ONPREM_TRANSPORT_PATHS: Final = (
    "/SmartTransport",
    "/Transportgateway/services/DeviceRequestHandler",
)
CLOUD_TRANSPORT_URL: Final = "https://smartreceiver.cisco.com/licservice/license"

# --- Code formats ---------------------------------------------------------------------------

BASE58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
REQUEST_CODE_VERSION: Final = "CB"
"""[I] the two letters in front of ``-Z``; one version for Specific and PLR alike."""
REQUEST_CODE_PATTERN: Final = (
    r"^(?P<version>[A-Z]{2})-Z(?P<pid>[A-Z0-9-]+):(?P<serial>[A-Z0-9]{4,20})"
    r"-(?P<nonce>[1-9A-HJ-NP-Za-km-z]{9})-(?P<check>[0-9A-F]{2})$"
)
SERIAL_LENGTH: Final = 11
"""[I] a cluster's serial is the first 11 hex digits of its UUID, upper case (like FCW2134L0RN)."""
CONFIRMATION_CODE_LENGTH: Final = 8  # [C-] 8 hex characters
RETURN_CODE_GROUPS: Final = (6, 6, 6, 6, 6, 6, 6, 6, 3)  # [C-] eight groups of 6, one of 3
REGISTRATION_TOKEN_BYTES: Final = 48
"""[I] registration tokens are opaque; the simulator issues base64-like strings of this size."""
ACCESS_TOKEN_BYTES: Final = 32

# --- Reservation types ----------------------------------------------------------------------

RESERVATION_SPECIFIC: Final = "SPECIFIC"
RESERVATION_UNIVERSAL: Final = "UNIVERSAL"  # [I] PLR's reservationType

# --- Error texts (CSSM envelope statusMessage and OAuth descriptions) ---------------------------

TEXT_INVALID_CLIENT: Final = "The client credentials are not valid."
TEXT_INVALID_TOKEN: Final = "The access token is unknown or has expired."
TEXT_NO_API_ACCESS: Final = (
    "This application has no access to the Smart Accounts and Licensing API; ask for it to be "
    "subscribed."
)
TEXT_UNKNOWN_ACCOUNT: Final = "No Smart Account with this domain is accessible to the client."
TEXT_UNKNOWN_VIRTUAL_ACCOUNT: Final = "The virtual account does not exist in this Smart Account."
TEXT_TOKEN_UNKNOWN: Final = "The token does not exist in this virtual account."
TEXT_TOKEN_ALREADY_REVOKED: Final = "The token is already revoked."
TEXT_MALFORMED_REQUEST_CODE: Final = "The reservation request code is malformed."
TEXT_SHORT_OF_LICENSES: Final = "Insufficient licenses available in the virtual account"
TEXT_RESERVATION_EXISTS: Final = (
    "A reservation with other licenses already exists for this product instance; update it."
)
TEXT_UNKNOWN_INSTANCE: Final = "No such product instance in this virtual account."
TEXT_NOT_RESERVED: Final = "The product instance holds no license reservation."
TEXT_RETURN_CODE_REQUIRED: Final = (
    "A reserved product instance needs its return code to be removed."
)
TEXT_RETURN_CODE_INVALID: Final = "The return code does not match the reservation."
TEXT_NO_PENDING_UPDATE: Final = "No reservation update is waiting for a confirmation code."
TEXT_CONFIRMATION_MISMATCH: Final = (
    "The confirmation code does not match the last authorization code issued."
)
TEXT_UNKNOWN_LICENSE: Final = "Unknown entitlement tag."

TEXT_CODE_TOO_LONG: Final = "the authorization code is too long"
TEXT_CODE_NOT_XML: Final = "the authorization code is not well-formed XML"
TEXT_CODE_INCOMPLETE: Final = "the authorization code lacks its authorizationCode, signature or udi"
TEXT_CODE_SIGNATURE: Final = "the authorization code's signature does not verify"
TEXT_CODE_UNKNOWN_ENTITLEMENT: Final = "the authorization code grants an unknown entitlement"


# --- Cluster-side errors of docs/product-api.md: (HTTP status, error, message) ---------------

ERR_UNKNOWN_CLUSTER: Final = (404, "NotFound", "no such cluster")
ERR_UNSUPPORTED_VERSION: Final = (
    412,
    "UnsupportedVersion",
    "Smart Licensing needs Secure Workload 3.8 or later; this cluster runs {version}",
)
ERR_REGISTER_WHILE_RESERVED: Final = (
    409,
    "ReservationActive",
    "a license reservation is requested or installed",
)
ERR_TRANSPORT_UNKNOWN: Final = (
    502,
    "TransportUnreachable",
    "the transport URL names no licensing server this cluster can reach",
)
ERR_ALREADY_REGISTERED: Final = (
    409,
    "AlreadyRegistered",
    "this cluster is already registered; register with force to replace it",
)
ERR_TOKEN_UNKNOWN: Final = (422, "InvalidToken", "the licensing server does not know the token")
ERR_TOKEN_REVOKED: Final = (422, "TokenRevoked", "the registration token was revoked")
ERR_TOKEN_EXPIRED: Final = (422, "TokenExpired", "the registration token has expired")
ERR_TOKEN_EXHAUSTED: Final = (422, "TokenExhausted", "the registration token has no uses left")
ERR_NOT_REGISTERED: Final = (409, "NotRegistered", "the cluster is not registered")
ERR_SERVER_UNREACHABLE: Final = (
    502,
    "TransportUnreachable",
    "the licensing server could not be reached",
)
ERR_DEREGISTER_WHILE_RESERVED: Final = (
    409,
    "ReservationActive",
    "a license reservation is requested or installed; cancel or return it instead",
)
ERR_RESERVE_WHILE_REGISTERED: Final = (
    409,
    "RegisteredConnected",
    "the cluster is registered; deregister it first",
)
ERR_RESERVATION_EXISTS: Final = (
    409,
    "ReservationActive",
    "a license reservation is already requested or installed",
)
ERR_INVALID_AUTHORIZATION_CODE: Final = (422, "InvalidAuthorizationCode", "{reason}")
ERR_RESERVATION_MISMATCH: Final = (
    422,
    "ReservationMismatch",
    "the authorization code does not match this cluster's reservation request code",
)
ERR_NOTHING_REQUESTED: Final = (409, "NoReservationInProgress", "no reservation is requested")
ERR_ALREADY_INSTALLED: Final = (
    409,
    "ReservationAlreadyInstalled",
    "this authorization code is already installed",
)
ERR_CANCEL_INSTALLED: Final = (
    409,
    "ReservationActive",
    "the reservation is installed; return it instead",
)
ERR_NOTHING_INSTALLED: Final = (409, "NoReservationInProgress", "no reservation is installed")
