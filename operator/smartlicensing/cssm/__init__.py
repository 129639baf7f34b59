"""Async client of Cisco Smart Software Manager (cloud) and Smart Software Manager On-Prem."""
