"""Test doubles and the demo: the licensing simulator and the local Kubernetes API.

Nothing in the operator imports this package; only the command line and the tests do."""
