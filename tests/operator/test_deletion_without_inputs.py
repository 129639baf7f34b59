"""Deletion never waits for Secrets that are gone: the namespace or the Secret went first.

A deregistration needs the cluster's API key Secret (and the account's credentials). When one is
gone it cannot come back in the middle of a deletion, so the operator gives up at once, logs a
WARNING naming the cluster left registered and how to clean up by hand, and lets the object go:
no retries, no namespace stuck in Terminating.
"""

from __future__ import annotations

import logging

import pytest
from kubernetes import client as k8s
from licensing_env import (
    EAST,
    Licensing,
    licensing,
    licensing_world,
    smartlicensing_crds,
    wait_for,
)

REGISTRATIONS = "SmartLicenseRegistration"
MANUAL_STEP = "deregister it in the Secure Workload UI"


def ready(licensing: Licensing) -> None:
    licensing.ready_cloud_account()
    licensing.registration("csw-east", EAST)
    licensing.wait_condition(REGISTRATIONS, "csw-east", "Ready", "True")


def namespace_gone(licensing: Licensing) -> bool:
    try:
        licensing.core.read_namespace(licensing.namespace)
    except k8s.ApiException as error:
        if error.status == 404:
            return True
        raise
    return False


def delete_handler_retries(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "registration-delete" in r.getMessage() and "failed temporarily" in r.getMessage()
    ]


def test_deleting_the_secret_first_releases_the_registration_at_once(
    licensing: Licensing, caplog: pytest.LogCaptureFixture
) -> None:
    ready(licensing)
    secret = licensing.api_driver(EAST)["credentialsSecretRef"]["name"]

    licensing.core.delete_namespaced_secret(secret, licensing.namespace)
    licensing.delete(REGISTRATIONS, "csw-east")
    wait_for(lambda: not licensing.exists(REGISTRATIONS, "csw-east"), what="deletion")

    (warning,) = [
        r for r in caplog.records if r.levelno == logging.WARNING and MANUAL_STEP in r.getMessage()
    ]
    assert EAST in warning.getMessage()
    assert secret in warning.getMessage()
    assert "revoke its issued registration token" in warning.getMessage()
    assert delete_handler_retries(caplog) == []
    assert licensing.cluster_calls(EAST, "DELETE") == 0


def test_deleting_the_namespace_with_a_ready_registration_does_not_hold_it(
    licensing: Licensing, caplog: pytest.LogCaptureFixture
) -> None:
    ready(licensing)

    licensing.core.delete_namespace(licensing.namespace)
    wait_for(lambda: namespace_gone(licensing), timeout=5.0, what="the namespace gone")

    assert delete_handler_retries(caplog) == []
    # kopf may fail once to post the deletion's Event into the terminating namespace (the API
    # refuses new content there); nothing of ours fails, and nothing is retried.
    errors = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and "/events" not in r.getMessage()
    ]
    assert errors == []
