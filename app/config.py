"""Sawmill's configuration: one Settings object, read once.

Nothing else in the code reads ``os.environ``; everything that can be
configured is a field here, set through ``SAWMILL_*`` environment variables.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAWMILL_", extra="ignore")

    database_url: str = "sqlite:///sawmill.db"
    """Where the store lives; by default a SQLite file in the working directory."""

    repo: Path | None = None
    """The GitOps repository to scan (a work tree or a bare repository)."""

    ref: str = "HEAD"
    """The branch, tag or commit to scan."""

    config: Path | None = None
    """A sawmill.yaml to use instead of the one at the scanned repository's root."""

    host: str = "127.0.0.1"
    port: int = 8000

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError("SAWMILL_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("SAWMILL_PORT must be between 1 and 65535")
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
