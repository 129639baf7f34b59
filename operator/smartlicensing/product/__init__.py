"""The product-driver port and its drivers.

``manual``: a person enters codes in the Secure Workload UI. ``api``: the REST contract of
``docs/product-api.md``. Handlers depend on :class:`ProductDriver` and :class:`StepResult` only.
"""

from smartlicensing.product.port import (
    AuthorizationState,
    ClusterRole,
    ClusterStatus,
    LicenseUsage,
    Observer,
    ProductDriver,
    RegistrationMode,
    RegistrationState,
    Reservation,
    ReservationKind,
    ReservationState,
    SecretInput,
    SecretKeyRef,
    StepResult,
)

__all__ = [
    "AuthorizationState",
    "ClusterRole",
    "ClusterStatus",
    "LicenseUsage",
    "Observer",
    "ProductDriver",
    "RegistrationMode",
    "RegistrationState",
    "Reservation",
    "ReservationKind",
    "ReservationState",
    "SecretInput",
    "SecretKeyRef",
    "StepResult",
]
