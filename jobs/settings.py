"""The shared settings object, read from the environment (and `.env`) at the edge.

The worker entry point builds a `Settings` once, and the web app factory its
subclass `service.settings.WebSettings`; both hand plain values down, and
nothing below them reads the environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobs.fetch.guarded_client import DEFAULT_BACKEND, Backend
from jobs.queue.kinds import parse_kinds
from jobs.redis_connection import SENTINEL_SCHEMES, RedisTarget

REDIS_SCHEMES = ("redis://", "rediss://", "unix://", *SENTINEL_SCHEMES)


class Settings(BaseSettings):
    """Every knob the worker reads (the web process reads them too). `.env.example` lists each with a comment.

    `extra="ignore"`: the same environment and `.env` carry the web's own settings
    (`service.settings.WebSettings`), which a worker has no use for.
    """

    # hide_input_in_errors: a refused setting may be a secret (API_KEY, a REDIS_URL password).
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True, hide_input_in_errors=True)

    # Redis
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Sentinel without a redis+sentinel:// URL: host:port,host:port, and the master's name.
    redis_sentinels: str = ""
    redis_sentinel_master: str = Field("mymaster", min_length=1)
    redis_max_connections: int = Field(3, ge=2, le=1024)
    key_prefix: str = Field("ss", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    retention_s: int = Field(86_400, ge=60)
    stream_maxlen: int = Field(10_000, ge=100)

    # Access (the web's own knobs are in service/settings.py)
    max_running_per_key: int = Field(100, ge=0)
    # A key accepted beside those in Redis (a PaaS's first key, without a shell); its jobs' owner is "env".
    # repr=False: never in a log line or a traceback's locals.
    api_key: str = Field("", repr=False)

    # Job control
    max_attempts: int = Field(5, ge=1, le=50)
    retry_base_s: float = Field(1.0, gt=0)
    retry_max_delay_s: float = Field(60.0, gt=0)
    priority_step_s: float = Field(60.0, ge=0)

    # Crawl, batch, ask
    crawl_max_pages: int = Field(10_000, ge=1)
    crawl_concurrency: int = Field(16, ge=1, le=512)
    host_concurrency: int = Field(4, ge=1, le=512)
    politeness_delay_s: float = Field(0.0, ge=0)
    batch_max_urls: int = Field(1_000, ge=1)
    # 0: workers filling the cores extract fastest in themselves; 1 pays for a lone worker on 2 cores.
    extract_processes: int = Field(0, ge=0, le=64)

    # Change tracking (`track_changes`, schedules)
    changes_ttl_s: int = Field(30 * 86_400, ge=60)
    changes_history_max: int = Field(1_000, ge=1, le=100_000)

    # LLM (any OpenAI-compatible server: OpenAI, Ollama, vLLM, LM Studio ...)
    openai_api_key: str = ""
    openai_base_url: str = ""
    openai_model: str = ""
    llm_timeout_s: float = Field(60.0, gt=0)
    llm_max_attempts: int = Field(2, ge=1, le=10)
    llm_token_budget: int = Field(6_000, ge=100)

    # Worker
    worker_concurrency: int = Field(32, ge=1, le=10_000)
    # The job kinds a worker takes, comma-separated (crawl,batch); empty: every kind.
    worker_kinds: str = ""
    worker_poll_s: float = Field(2.0, gt=0)
    worker_lease_s: float = Field(10.0, ge=1)
    worker_drain_s: float = Field(25.0, ge=0)
    job_timeout_s: float = Field(120.0, gt=0)
    max_job_timeout_s: float = Field(3_600.0, gt=0)

    # Fetching
    allow_private_addresses: str = "false"
    allowed_ports: str = "80,443"
    user_agent: str = "Scrapestream/0.1 (+https://github.com/scrapestream/scrapestream)"
    fetch_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    fetch_max_redirects: int = Field(10, ge=0, le=50)
    fetch_connect_timeout_s: float = Field(10.0, gt=0)
    fetch_read_timeout_s: float = Field(15.0, gt=0)
    fetch_timeout_s: float = Field(30.0, gt=0)
    fetch_backend: Backend = DEFAULT_BACKEND

    log_level: str = "INFO"
    # `json`: one JSON object per line (timestamp, level, logger, message, job_id while a job runs).
    log_format: Literal["text", "json"] = "text"

    @field_validator("api_key")
    @classmethod
    def _api_key_is_not_guessable(cls, value: str) -> str:
        # The message never repeats the value.
        if value and (len(value) < 16 or value != value.strip()):
            raise ValueError("API_KEY must be at least 16 characters, without surrounding spaces (or empty)")
        return value

    @field_validator("worker_kinds")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        return ",".join(parse_kinds(value))  # raises, naming the kinds there are, for a typo

    @property
    def worker_kind_list(self) -> tuple[str, ...]:
        """The kinds WORKER_KINDS names (every kind when it is empty)."""
        return parse_kinds(self.worker_kinds)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(REDIS_SCHEMES):
            raise ValueError(f"REDIS_URL must start with one of {', '.join(REDIS_SCHEMES)}")
        return value

    @model_validator(mode="after")
    def _redis_target_is_whole(self) -> Settings:
        self.redis_target  # noqa: B018 - raises, at startup, what a first connection would
        return self

    @property
    def redis_target(self) -> RedisTarget:
        """Where Redis is: REDIS_URL, or the master the sentinels name (see `jobs.redis_connection`)."""
        return RedisTarget.from_settings(self.redis_url, self.redis_sentinels, self.redis_sentinel_master)

    @property
    def llm_configured(self) -> bool:
        """Extraction and LLM answers need a model, and a server (OpenAI itself wants a key)."""
        return bool(self.openai_model and (self.openai_base_url or self.openai_api_key))

    @property
    def private_addresses_allowed(self) -> bool:
        """True when anything beyond public addresses is admitted (dev mode)."""
        return self.allow_private_addresses.strip().lower() not in ("", "false", "0", "no")
