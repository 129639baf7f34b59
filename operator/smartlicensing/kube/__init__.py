"""The few Kubernetes calls kopf does not make for us: reading and writing Secrets."""

from smartlicensing.kube.secrets import (
    KubernetesUnavailable,
    Owner,
    SecretAccessDenied,
    SecretError,
    SecretKeyMissing,
    SecretNotFound,
    SecretOwnedByOther,
    SecretsAPI,
    SecretValueInvalid,
    SecretWrite,
    apply_owned_secret,
    core_v1_api,
    delete_secret,
    read_secret,
    read_secret_key,
)

__all__ = [
    "KubernetesUnavailable",
    "Owner",
    "SecretAccessDenied",
    "SecretError",
    "SecretKeyMissing",
    "SecretNotFound",
    "SecretOwnedByOther",
    "SecretValueInvalid",
    "SecretWrite",
    "SecretsAPI",
    "apply_owned_secret",
    "core_v1_api",
    "delete_secret",
    "read_secret",
    "read_secret_key",
]
