"""kopf's settings are part of the operator's contract: each is set from our settings."""

from __future__ import annotations

import kopf

from smartlicensing.api.meta import FINALIZER
from smartlicensing.config import OperatorSettings
from smartlicensing.handlers.operator import configure_kopf


def test_deletion_during_a_timer_pass_is_rechecked_within_our_polling_not_kopfs_minute() -> None:
    settings = kopf.OperatorSettings()
    assert settings.background.cancellation_polling == 60

    configure_kopf(settings, OperatorSettings(timer_exit_polling=0.5))

    assert settings.background.cancellation_polling == 0.5


def test_finalizer_and_progress_storage_carry_our_prefix() -> None:
    settings = kopf.OperatorSettings()

    configure_kopf(settings, OperatorSettings())

    assert settings.persistence.finalizer == FINALIZER
    assert FINALIZER.startswith("smartlicensing.dev/")
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
