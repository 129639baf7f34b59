"""The few Kubernetes calls kopf does not make for us (Secrets)."""
