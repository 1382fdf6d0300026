"""Sawmill's configuration: one Settings object, read once.

Nothing else in the code reads ``os.environ``; everything that can be
configured is a field here, set through ``SAWMILL_*`` environment variables.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_path
from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAWMILL_", extra="ignore")

    data_dir: Path = user_data_path("sawmill", appauthor=False)
    """Sawmill's own folder: the default database and the mirrors of repositories tracked by URL."""

    database_url: str = ""
    """Where the store lives; by default ``sawmill.db`` in ``data_dir``, so every command agrees."""

    repo: str | None = None
    """The GitOps repository to track: a path (work tree or bare) or a git URL."""

    ref: str = "HEAD"
    """The branch, tag or commit to scan; HEAD means the default branch's tip."""

    branch: str | None = None
    """The default branch; unset, the remote's (a mirror's HEAD, a clone's origin/HEAD)."""

    git_token: SecretStr | None = None
    """An HTTPS token for a private repository tracked by URL."""

    git_token_file: Path | None = None
    """A file holding that token (a mounted secret); read at start-up."""

    fetch_interval: int = 300
    """Seconds between fetches of the tracked repository; 0 turns the timer off."""

    worker: bool = True
    """Run the background worker (fetches, scans) inside ``sawmill serve``."""

    admin_token: SecretStr | None = None
    """A token accepted as the identity ``admin``: the first sign-in without a shell."""

    admin_token_file: Path | None = None
    """A file holding that token (a mounted Secret); read at start-up."""

    webhook_secret: SecretStr | None = None
    """Shared with the git host: push webhooks are refused unless signed with it."""

    webhook_secret_file: Path | None = None
    """A file holding that secret (a mounted Secret; a trailing newline is dropped)."""

    stale_branch_days: int = 60
    """A branch idle longer than this is listed apart as stale, not counted as in flight."""

    config: Path | None = None
    """A sawmill.yaml to use instead of the one at the scanned repository's root."""

    report_retention_days: int = 180
    """Chainsaw reports sent from CI are kept this many days, then forgotten."""

    host: str = "127.0.0.1"
    port: int = 8000

    read_requires_signin: bool = False
    """Reads are open by default; true makes every page and API read need an identity."""

    trust_proxy_header: bool = False
    """Honour a ``Remote-User`` header set by an SSO proxy (only from ``trusted_proxies``)."""

    trusted_proxies: Annotated[list[str], NoDecode] = []
    """Addresses or networks (comma-separated) of the reverse proxies in front: their
    ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed (the client's address, https),
    and their ``Remote-User`` too when ``trust_proxy_header`` is on. Empty: no one's."""

    session_secret: SecretStr | None = None
    """Signs session cookies; unset, Sawmill makes one and keeps it in the store."""

    session_max_age: int = 14 * 24 * 3600
    """Seconds a sign-in lasts, checked on the server (a cookie's own expiry is not trusted)."""

    max_body_bytes: int = 1024 * 1024
    """The largest request body accepted (413 past it); a form or an API write is a few KiB."""

    web_url: str | None = None
    """The repository's web page (https://git.example.com/org/platform); unset, derived from its remote."""

    forge: Literal["github", "gitlab", "gitea", "forgejo", "bitbucket"] | None = None
    """Which forge serves it, for a self-hosted host whose name does not say (commit and PR links)."""

    public_badges: bool = False
    """Keep the badges (SVG and shields JSON) open when reads need a sign-in."""

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql:", "postgresql+")):
            raise ValueError("SAWMILL_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("web_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        # It becomes the href of every commit link: nothing but a web address.
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("https://", "http://")):
            raise ValueError("SAWMILL_WEB_URL must be an http:// or https:// address")
        return value.strip().rstrip("/")

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"SAWMILL_TRUSTED_PROXIES: {item!r} is not an address or network") from None
        return value

    @field_validator("session_secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # A short or empty secret lets anyone forge a session cookie: refuse to start.
        if value is not None and (len(value.get_secret_value()) < 32 or len(set(value.get_secret_value())) < 8):
            raise ValueError(
                "SAWMILL_SESSION_SECRET must be at least 32 varied characters; "
                "leave it unset and Sawmill makes one and keeps it in the store"
            )
        return value

    @field_validator("repo", mode="before")
    @classmethod
    def _repo_given(cls, value: object) -> object:
        if isinstance(value, Path):
            return str(value)
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("fetch_interval", "stale_branch_days")
    @classmethod
    def _not_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    @field_validator("session_max_age", "max_body_bytes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be 1 or more")
        return value

    @model_validator(mode="after")
    def _defaults_from_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'sawmill.db'}"
        self.git_token = self.git_token or _secret_from(self.git_token_file, "SAWMILL_GIT_TOKEN_FILE")
        self.admin_token = self.admin_token or _secret_from(self.admin_token_file, "SAWMILL_ADMIN_TOKEN_FILE")
        self.webhook_secret = self.webhook_secret or _secret_from(self.webhook_secret_file, "SAWMILL_WEBHOOK_SECRET_FILE")
        if self.admin_token is not None and len(self.admin_token.get_secret_value()) < 24:
            raise ValueError("SAWMILL_ADMIN_TOKEN must be at least 24 characters (e.g. `openssl rand -base64 32`)")
        return self

    @field_validator("report_retention_days")
    @classmethod
    def _keeps_a_day(cls, value: int) -> int:
        if value < 1:
            raise ValueError("SAWMILL_REPORT_RETENTION_DAYS must be 1 or more")
        return value

    @field_validator("port")
    @classmethod
    def _port_in_range(cls, value: int) -> int:
        if not 0 < value < 65536:
            raise ValueError("SAWMILL_PORT must be between 1 and 65535")
        return value


def _secret_from(path: Path | None, name: str) -> SecretStr | None:
    """The secret a mounted file holds (surrounding whitespace dropped), or None."""
    if path is None:
        return None
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{name}: cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return SecretStr(value) if value else None


@lru_cache
def get_settings() -> Settings:
    return Settings()
