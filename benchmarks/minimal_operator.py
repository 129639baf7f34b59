"""The baseline of ``make bench``: the least a kopf operator can do with a registration.

On creation it patches ``status.conditions`` with ``Ready=True`` and nothing else: no CSSM, no
cluster, no Secrets. What the real operator costs beyond this (latency, memory) is its own work;
what this costs is kopf's and the Kubernetes API's.

    kopf run --standalone --all-namespaces benchmarks/minimal_operator.py
"""

from __future__ import annotations

import datetime
from typing import Any

import kopf


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Progress in annotations: the CRD's status schema would prune kopf's own status field.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix="bench.smartlicensing.dev"
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="bench.smartlicensing.dev"
    )
    settings.posting.enabled = False


@kopf.on.create("smartlicensing.dev", "v1alpha1", "smartlicenseregistrations")
def ready(patch: kopf.Patch, meta: kopf.Meta, **_: Any) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch.status["conditions"] = [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Baseline",
            "message": "set by the minimal kopf operator",
            "lastTransitionTime": now,
            "observedGeneration": meta.get("generation", 1),
        }
    ]
