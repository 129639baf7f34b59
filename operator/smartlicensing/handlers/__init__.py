"""kopf wiring only: decorators, settings, and turning reconcile results into patches."""
