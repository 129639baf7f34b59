"""Pydantic models of the three kinds' spec and status; the CRD YAML is generated from them.

Modules: ``meta`` (what the kinds share), ``smartaccount``, ``registration``, ``reservation``
(one kind each), ``conditions`` (condition types and reasons), ``durations`` (Go-style
durations) and ``crds`` (the CustomResourceDefinition generator).
"""

from smartlicensing.api.meta import API_VERSION, CATEGORY, GROUP, VERSION

__all__ = ["API_VERSION", "CATEGORY", "GROUP", "VERSION"]
