"""A minimal kopf operator over the test Widget kind, run by ``test_kopf.py`` with KopfRunner."""

from __future__ import annotations

from typing import Any

import kopf

GROUP = "kubeapi.smartlicensing.dev"
FINALIZER = "kubeapi.smartlicensing.dev/test-operator"


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="kubeapi.smartlicensing.dev"
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="kubeapi.smartlicensing.dev", key="last-handled-configuration"
    )
    settings.watching.server_timeout = 30


@kopf.on.create(GROUP, "v1", "widgets")
def created(name: str, body: kopf.Body, patch: kopf.Patch, **_: Any) -> None:
    print(f"create-handler {name}")
    patch.status["phase"] = "Created"
    kopf.info(body, reason="Created", message="seen by the operator")


@kopf.timer(GROUP, "v1", "widgets", interval=0.2)
def tick(status: kopf.Status, patch: kopf.Patch, **_: Any) -> None:
    patch.status["ticks"] = int(status.get("ticks", 0)) + 1


@kopf.on.delete(GROUP, "v1", "widgets")
def deleted(name: str, **_: Any) -> None:
    print(f"delete-handler {name}")
