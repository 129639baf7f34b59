"""The operator's configuration: one home, read from ``SMARTLICENSING_*`` environment variables.

Defaults are the ones the demo and a typical production install want; every field can be
overridden per deployment without touching code.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

METRICS_ENDPOINT = "http://0.0.0.0:9402/metrics"
"""The default metrics endpoint: every interface of the operator's pod, port 9402."""
METRICS_OFF = "off"
"""The value of ``metrics_endpoint`` (or ``--metrics``) that serves no metrics."""


class OperatorSettings(BaseSettings):
    """Settings of one operator process."""

    model_config = SettingsConfigDict(env_prefix="SMARTLICENSING_", frozen=True)

    log_format: str = Field(default="text", pattern="^(text|json)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    metrics_endpoint: str = Field(
        default=METRICS_ENDPOINT,
        description="Where `smartlicensing run` serves Prometheus metrics (an http:// URL with "
        "a port and a path), or `off`; the `--metrics` option overrides it.",
    )

    gc_threshold: int = Field(
        default=50_000,
        ge=0,
        description="`smartlicensing run` only: objects allocated between collections of "
        "Python's youngest garbage-collector generation, with what is alive at start-up frozen "
        "out of collections (Python's default is 700; 0 keeps Python's settings). "
        "With 700, collections took a sixth of the operator's CPU with 200 registrations "
        "applied at once.",
    )

    # --- the operator's loop ----------------------------------------------------------------

    timer_interval: float = Field(
        default=30.0,
        gt=0,
        description="Seconds between the cheap checks of each object's timetable in status.",
    )
    account_wait_interval: float = Field(
        default=2.0,
        gt=0,
        description="Seconds between looks at its SmartAccount for a registration waiting for "
        "it (AccountNotReady), so that it goes on soon after the account becomes Ready.",
    )
    first_check_spread: float = Field(
        default=10.0,
        ge=0,
        description="Seconds over which the first timer checks after a start are spread.",
    )
    schedule_window: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Fraction of the sync interval over which first syncs are spread.",
    )
    stalled_recheck: float = Field(
        default=300.0,
        gt=0,
        description="Seconds between looks at the Secrets a permanently failed object depends on.",
    )
    manual_poll_base: float = Field(
        default=60.0,
        gt=0,
        description="Seconds before the first look at CSSM for a manually registered cluster.",
    )
    manual_poll_cap: float = Field(
        default=1800.0,
        gt=0,
        description="The longest wait between looks at CSSM for a manually registered cluster.",
    )
    deletion_attempts: int = Field(
        default=8,
        ge=1,
        description="Attempts at deregistering before deletion goes ahead with a warning.",
    )
    timer_exit_polling: float = Field(
        default=1.0,
        gt=0,
        description="Seconds between kopf's checks, when an object is deleted in the middle of a "
        "timer pass, of whether the pass has ended so the finalizer can go (kopf's default: 60).",
    )
    unexpected_error_backoff: float = Field(
        default=120.0,
        gt=0,
        description="Seconds before kopf retries a handler that failed outside the operator's "
        "own error handling.",
    )
    deletion_retry_base: float = Field(
        default=5.0, gt=0, description="First wait (seconds) after a failed deregistration."
    )
    deletion_retry_cap: float = Field(
        default=300.0, gt=0, description="Longest wait (seconds) between deregistration attempts."
    )

    # --- CSSM and clusters ------------------------------------------------------------------

    cssm_requests_per_second: float = Field(
        default=5.0, gt=0, description="Requests per second to one CSSM host, all objects together."
    )
    cssm_max_in_flight: int = Field(
        default=8,
        ge=1,
        le=100,
        description="Requests of one SmartAccount's CSSM client on the wire at once.",
    )
    cssm_connect_timeout: float = Field(default=5.0, gt=0)
    cssm_read_timeout: float = Field(default=30.0, gt=0)
    cssm_max_retry_after: float = Field(
        default=30.0,
        ge=0,
        description="The longest Retry-After a call waits in place; longer ones reschedule.",
    )
    cluster_connect_timeout: float = Field(default=5.0, gt=0)
    cluster_read_timeout: float = Field(default=60.0, gt=0)
    call_attempts: int = Field(
        default=4, ge=1, description="Attempts of one safe call before it counts as failed."
    )
    call_wait_initial: float = Field(
        default=0.5, ge=0, description="First wait between attempts of one call (seconds)."
    )

    # --- the Kubernetes API -----------------------------------------------------------------

    watch_server_timeout: float = Field(
        default=300.0, gt=0, description="Seconds after which the API server ends a watch."
    )
    watch_client_timeout: float = Field(
        default=330.0, gt=0, description="Seconds after which the operator gives up a watch."
    )
    request_timeout: float = Field(default=60.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
