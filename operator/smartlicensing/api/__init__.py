"""Pydantic models of the three kinds' spec and status; the CRD YAML is generated from them."""
