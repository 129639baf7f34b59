"""The product-driver port and its drivers.

``manual``: a person enters codes in the Secure Workload UI. ``api``: the REST contract of
``docs/product-api.md``.
"""
