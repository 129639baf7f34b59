"""Condition types and reasons: the words status speaks, defined once.

Types follow the Kubernetes convention (CamelCase adjectives or past participles); ``Ready`` is
the summary every kind has, ``Reconciling`` and ``Stalled`` are the two abnormal-true conditions
that kstatus (and therefore Argo CD, Flux and ``kubectl wait``) understand. A reason is a
CamelCase word a program can switch on; the message next to it is for people.
"""

from __future__ import annotations

from typing import Final

# --- condition types --------------------------------------------------------------------------

READY: Final = "Ready"  # every kind: the summary; True when the object does what its spec asks
RECONCILING: Final = "Reconciling"  # every kind (kstatus): True while work towards spec is underway
STALLED: Final = "Stalled"  # every kind (kstatus): True when progress needs a change by a person
COMPLIANT: Final = "Compliant"  # sma, slr: licenses in use are covered by licenses owned
TOKEN_READY: Final = "TokenReady"  # slr: a usable registration token is at hand
REGISTERED: Final = "Registered"  # slr: the cluster is registered with CSSM / On-Prem
AUTHORIZED: Final = "Authorized"  # slr, lres: the cluster's licenses are authorized
REQUEST_CODE_READY: Final = "RequestCodeReady"  # lres: the cluster's request code is known
INSTALLED: Final = "Installed"  # lres: the authorization code is installed on the cluster

#: The condition types of each kind, in the order status lists them.
SMART_ACCOUNT_CONDITIONS: Final = (READY, COMPLIANT, RECONCILING, STALLED)
REGISTRATION_CONDITIONS: Final = (
    READY,
    TOKEN_READY,
    REGISTERED,
    AUTHORIZED,
    COMPLIANT,
    RECONCILING,
    STALLED,
)
RESERVATION_CONDITIONS: Final = (
    READY,
    REQUEST_CODE_READY,
    AUTHORIZED,
    INSTALLED,
    RECONCILING,
    STALLED,
)

# --- reasons: the account and CSSM ------------------------------------------------------------

ACCOUNT_NOT_READY: Final = "AccountNotReady"  # the referenced SmartAccount is not Ready
ACCOUNT_NOT_FOUND: Final = "AccountNotFound"  # the referenced SmartAccount does not exist
CREDENTIALS_REJECTED: Final = "CredentialsRejected"  # CSSM refused the OAuth client credentials
CREDENTIALS_SECRET_MISSING: Final = "CredentialsSecretMissing"  # a credentials Secret/key is absent
VIRTUAL_ACCOUNT_NOT_FOUND: Final = "VirtualAccountNotFound"  # no such virtual account at CSSM
CONNECTED: Final = "Connected"  # credentials and virtual account work
CSSM_UNAVAILABLE: Final = "CSSMUnavailable"  # CSSM / On-Prem unreachable or answering 5xx
RATE_LIMITED: Final = "RateLimited"  # CSSM answered 429; waiting for its Retry-After
CA_BUNDLE_MISSING: Final = "CABundleMissing"  # the CA bundle Secret/key named in spec is absent

# --- reasons: the registration token ----------------------------------------------------------

TOKEN_ISSUED: Final = "TokenIssued"  # the operator issued a token at CSSM
TOKEN_FROM_SECRET: Final = "TokenFromSecret"  # the token comes from the Secret named in spec
TOKEN_SECRET_MISSING: Final = "TokenSecretMissing"  # the token Secret or its key is absent
INVALID_TOKEN: Final = "InvalidToken"  # CSSM or the cluster rejected the token as malformed
TOKEN_EXPIRED: Final = "TokenExpired"  # the token's expiry date has passed
TOKEN_REVOKED: Final = "TokenRevoked"  # the token was revoked at CSSM
TOKEN_EXHAUSTED: Final = "TokenExhausted"  # the token reached its maximum number of uses

# --- reasons: the cluster and its registration ------------------------------------------------

ALREADY_REGISTERED: Final = "AlreadyRegistered"  # registered elsewhere; forceRegister not set
UNSUPPORTED_VERSION: Final = "UnsupportedVersion"  # the cluster's version cannot be driven
CLUSTER_UNREACHABLE: Final = "ClusterUnreachable"  # the cluster's API did not answer
CLUSTER_CREDENTIALS_REJECTED: Final = "ClusterCredentialsRejected"  # the cluster refused the key
CLUSTER_MISMATCH: Final = "ClusterMismatch"  # the cluster at the URL has a different UUID
CLUSTER_CLAIMED: Final = "ClusterClaimed"  # an older registration manages the same cluster UUID
REGISTERING: Final = "Registering"  # a registration is in progress
REGISTERED_REASON: Final = "Registered"  # the cluster is registered
NOT_REGISTERED: Final = "NotRegistered"  # the cluster is not registered (yet)
DEREGISTERING: Final = "Deregistering"  # the object is being deleted; deregistration runs
SUSPENDED: Final = "Suspended"  # spec.suspend is set; the operator only observes
STANDBY: Final = "Standby"  # a Standby cluster: licensed through its active peer
AWAITING_USER: Final = "AwaitingUser"  # the Manual driver waits for a person to act in the UI

# --- reasons: authorization and compliance ----------------------------------------------------

EVALUATION: Final = "Evaluation"  # the cluster runs in its evaluation period
EVALUATION_EXPIRED: Final = "EvaluationExpired"  # the evaluation period is over, no registration
AUTHORIZED_REASON: Final = "Authorized"  # the cluster's authorization is current
AUTHORIZATION_EXPIRED: Final = "AuthorizationExpired"  # authorization lapsed (no renewal in time)
IN_COMPLIANCE: Final = "InCompliance"  # every license in use is covered
OVER_UTILIZED: Final = "OverUtilized"  # out of compliance: some license is used beyond entitlement
NO_LICENSE_DATA: Final = "NoLicenseData"  # compliance cannot be judged: no license table yet

# --- reasons: reservations --------------------------------------------------------------------

AWAITING_REQUEST_CODE: Final = "AwaitingRequestCode"  # the request code Secret is not there yet
REQUEST_CODE_RECEIVED: Final = "RequestCodeReceived"  # the request code was read
INVALID_REQUEST_CODE: Final = "InvalidRequestCode"  # the request code is not in CSSM's format
RESERVING: Final = "Reserving"  # licenses are being reserved at CSSM
AWAITING_INSTALLATION: Final = "AwaitingInstallation"  # authorization code waits to be installed
INSTALLED_REASON: Final = "Installed"  # the authorization code is installed on the cluster
INSUFFICIENT_LICENSES: Final = "InsufficientLicenses"  # fewer licenses available than requested
RETURNING: Final = "Returning"  # the reservation is being returned to the virtual account

# --- reasons: generic -------------------------------------------------------------------------

INVALID_SPEC: Final = "InvalidSpec"  # spec breaks a rule; the message says what to change
SYNCING: Final = "Syncing"  # a sync with CSSM or the cluster is in progress
SYNC_REQUEST_OUTDATED: Final = "SyncRequestOutdated"  # sync-requested-at is not after the last
SUCCEEDED: Final = "Succeeded"  # the last reconciliation reached the desired state
RETRYING: Final = "Retrying"  # a transient failure; the next attempt is scheduled
