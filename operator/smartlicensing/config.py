"""The operator's configuration: one home, read from ``SMARTLICENSING_*`` environment variables.

Defaults are the ones the demo and a typical production install want; every field can be
overridden per deployment without touching code.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorSettings(BaseSettings):
    """Settings of one operator process."""

    model_config = SettingsConfigDict(env_prefix="SMARTLICENSING_", frozen=True)

    log_format: str = Field(default="text", pattern="^(text|json)$")
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
