"""Metrics and logging, with redaction of secrets.

:mod:`.redaction` decides what is secret and masks it; :mod:`.logs` installs the logging
handlers that apply it; :mod:`.metrics` holds the ``smartlicensing_*`` Prometheus collectors and
the server of them; :mod:`.endpoints` reads the URLs the operator listens on.
"""
