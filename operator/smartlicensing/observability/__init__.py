"""Metrics and logging, with redaction of secrets."""
