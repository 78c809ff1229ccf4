"""Settings read once from the environment (and an optional `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY = (
    "movievote-development-secret-do-not-use-in-production"  # refused in production
)
# What the app writes while it runs lives in a hidden folder: Reflex's development server
# reloads on changes to the project's other entries (a database write restarted it)
DATA_DIR = PROJECT_ROOT / ".data"
DATABASE_FILE_NAME = "movievote.db"
LEGACY_DATABASE_FILE = PROJECT_ROOT / "movievote.db"  # the default before 2026-11

Channel = Literal["email", "sms", "in_app"]


class Settings(BaseSettings):
    """Every setting movievote reads, with its environment variable name."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    movievote_env: Literal["development", "production"] = "development"
    # everything the app writes at run time (the default SQLite database, generated files)
    movievote_data_dir: Path = DATA_DIR
    database_url: str = ""  # empty: SQLite in data_dir
    secret_key: str = DEFAULT_SECRET_KEY
    access_token_minutes: int = Field(default=60 * 24, ge=1)
    # Argon2id's cost (security.PasswordCost): OWASP's first recommended setting, 19 MiB and 2
    # passes (~20 ms of CPU a hash on these cores); a hash made at another cost, or an older
    # account's bcrypt hash, is replaced at the account's next log-in
    password_hash_memory_kib: int = Field(default=19_456, ge=8, le=4_194_304)
    password_hash_time_cost: int = Field(default=2, ge=1, le=16)
    # where password hashing runs (security.PasswordWork): threads per process (0: half the cores
    # shared by the workers, GRANIAN_WORKERS, at least 1), their nice value (-1: SCHED_IDLE, which
    # starves log-ins when the workers keep the cores busy), how many checks may wait at most
    password_hash_threads: int = Field(default=0, ge=0, le=64)
    password_hash_nice: int = Field(default=5, ge=-1, le=19)
    password_hash_queue: int = Field(default=32, ge=1, le=10_000)
    # a log-in that would wait longer than this for the password threads is answered 503 busy at once
    password_hash_max_wait_seconds: float = Field(default=1.0, gt=0, le=60)
    vote_timezone: str = "UTC"
    # after a month ends (in the vote time zone), how long admins may still void or restore its
    # votes; then its result is published and final
    results_grace_hours: float = Field(default=24, ge=0)
    # the language of /display when its URL names none (`?lang=pt-BR`): screens send whatever
    # Accept-Language their browser has, and nobody clicks on a TV; empty: Accept-Language
    display_language: str = Field(default="", pattern=r"^(|en|pt-BR)$")
    ranking_cache_ttl_seconds: float = Field(default=300, gt=0)
    ranking_refresh_delay_seconds: float = Field(default=0.05, ge=0, le=0.9)
    ranking_fold_interval_seconds: float = Field(default=1.0, gt=0)
    database_pool_size: int = Field(default=20, ge=1)
    # group commit of votes on PostgreSQL (services.ballot_box): at most this many votes per
    # statement; and how long a batch that is not full waits for more (0: never waits)
    vote_batch_max: int = Field(default=500, ge=1, le=5000)
    vote_batch_window_seconds: float = Field(default=0.0, ge=0, le=0.05)
    login_failures_per_account: int = Field(default=5, ge=1)
    login_failures_per_client: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    # where failed-login counters live; empty: Reflex's Redis when there is one (many workers
    # must share them), else this process's memory
    rate_limit_storage_url: str = ""
    reflex_redis_url: str = ""  # REFLEX_REDIS_URL, read by Reflex too: state in Redis, many workers

    # --- who may vote: verified addresses, who may join, links in emails ---
    email_verification: Literal["required", "off"] = "required"
    signup_mode: Literal["open", "domains", "invite"] = "open"
    allowed_email_domains: str = ""  # comma-separated, for SIGNUP_MODE=domains
    # where people open the app (links in emails); required in production. Empty (development
    # only): the address the request came to
    public_url: str = ""
    verification_link_hours: float = Field(default=24, gt=0)
    password_reset_minutes: float = Field(default=30, gt=0)
    verification_emails_per_hour: int = Field(default=3, ge=1)
    # sign-ups per client address: a lobby behind one NAT address must still get through,
    # and the verified mailbox, not this, is what limits votes
    signups_per_client: int = Field(default=100, ge=1)
    signup_window_seconds: int = Field(default=3600, ge=1)
    # proxies whose X-Forwarded-For is believed (comma-separated addresses or networks)
    forwarded_allow_ips: str = ""

    # --- edges: request size, database time-outs, origins, headers, cache bounds ---
    max_request_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # a catalogue file an admin imports (the page's upload, POST /api/admin/catalogue/import)
    max_upload_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    database_connect_timeout_seconds: float = Field(default=3, gt=0)
    database_pool_timeout_seconds: float = Field(default=2, gt=0)
    database_statement_timeout_seconds: float = Field(default=5, gt=0)
    cors_allowed_origins: str = ""  # comma-separated; empty: same origin only
    frame_ancestors: str = "'self'"  # CSP frame-ancestors: who may embed the pages (/display)
    ranking_cache_max_entries: int = Field(default=256, ge=8)

    # --- recommendations: retrain after this many new ratings and votes, checked this often ---
    recommend_retrain_after: int = Field(default=50, ge=1)
    recommend_check_seconds: float = Field(default=30, gt=0)

    notify_default_channel: Channel = "in_app"
    notify_max_attempts: int = Field(default=3, ge=1, le=10)
    notify_retry_seconds: float = Field(default=0.5, ge=0)
    notify_email_from: str = "movievote <no-reply@movievote.local>"
    notify_smtp_url: str = ""  # e.g. smtp://localhost:1025 ; empty = log only
    notify_sms_gateway_url: str = ""  # HTTP gateway taking {to, body}; empty = log only

    tmdb_base_url: str = "https://api.themoviedb.org/3"
    tmdb_api_key: str = ""
    tmdb_image_base_url: str = "https://image.tmdb.org/t/p/w500"
    omdb_base_url: str = "https://www.omdbapi.com"
    omdb_api_key: str = ""

    @field_validator("vote_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"VOTE_TIMEZONE must be an IANA zone name, got {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        self.movievote_data_dir = self.movievote_data_dir.absolute()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / DATABASE_FILE_NAME}"
        return self

    @property
    def data_dir(self) -> Path:
        return self.movievote_data_dir

    @property
    def uses_default_database(self) -> bool:
        """DATABASE_URL was not given: the zero-setup SQLite file in the data folder."""
        return self.database_url == f"sqlite:///{self.data_dir / DATABASE_FILE_NAME}"

    @model_validator(mode="after")
    def _safe_secret_in_production(self) -> Settings:
        if self.movievote_env == "production":
            if self.secret_key == DEFAULT_SECRET_KEY:
                raise ValueError("SECRET_KEY must be set in production (the default is public)")
            if len(self.secret_key.encode()) < 32:
                raise ValueError("SECRET_KEY must be at least 32 bytes in production")
            if not self.public_url:
                # links in mails must not follow the Host header a request brings
                raise ValueError(
                    "PUBLIC_URL must be set in production (the address links in emails use)"
                )
            if self.email_verification == "required" and not self.notify_smtp_url:
                raise ValueError(
                    "EMAIL_VERIFICATION=required needs NOTIFY_SMTP_URL in production: without "
                    "mail nobody could confirm an address, so nobody could vote"
                )
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.vote_timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database's file (None for PostgreSQL or an in-memory database)."""
        if not self.is_sqlite:
            return None
        name = make_url(self.database_url).database
        if not name or name == ":memory:" or name.startswith("file:"):
            return None
        return Path(name)

    @property
    def sync_database_url(self) -> str:
        """The URL for synchronous tools (Alembic, Reflex's `reflex db` commands)."""
        return _with_driver(self.database_url, sqlite="sqlite", postgres="postgresql+psycopg")

    @property
    def async_database_url(self) -> str:
        """The URL for the application's async engine."""
        return _with_driver(
            self.database_url, sqlite="sqlite+aiosqlite", postgres="postgresql+psycopg"
        )


def _with_driver(url: str, *, sqlite: str, postgres: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"DATABASE_URL is not a URL: {url!r}")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"{sqlite}://{rest}"
    if base in ("postgresql", "postgres"):
        return f"{postgres}://{rest}"
    raise ValueError(f"DATABASE_URL must be sqlite:// or postgresql://, got {scheme}://")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
