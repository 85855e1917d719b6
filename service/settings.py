"""The web process's settings: the shared ones, plus what only HTTP serving reads.

A worker builds `jobs.settings.Settings` and never sees these; both read the
same environment and `.env`, each ignoring what belongs to the other.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from jobs.settings import Settings


class WebSettings(Settings):
    """`Settings` and the knobs of the web app. `.env.example` lists each with a comment."""

    # Web
    port: int = Field(8000, ge=1, le=65535)
    cors_origins: Annotated[list[str], NoDecode] = []
    sse_keepalive_s: float = Field(15.0, gt=0)
    sse_retry_ms: int = Field(2_000, ge=0)
    sse_send_timeout_s: float = Field(30.0, gt=0)
    sse_buffer_events: int = Field(1_000, ge=10)
    sse_buffer_bytes: int = Field(1024 * 1024, ge=64 * 1024)
    sse_send_buffer_bytes: int = Field(64 * 1024, ge=4 * 1024)
    activity_queue_every_s: float = Field(5.0, gt=0)

    # Access
    auth_required: bool = True
    token_secret: str = ""
    token_ttl_s: int = Field(86_400, ge=60)
    submits_per_minute: int = Field(600, ge=0)
    submit_burst: int = Field(60, ge=1)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)

    # Schedules: the shortest interval a schedule may run at (every_s, or a cron's closest runs), and how many
    # schedules one key may have.
    schedule_min_every_s: int = Field(60, ge=1)
    schedules_per_key: int = Field(100, ge=1)

    # Hostile clients (service/http_guard.py)
    max_header_bytes: int = Field(64 * 1024, ge=1024)
    max_headers: int = Field(100, ge=8)
    header_timeout_s: float = Field(10.0, gt=0)
    max_connections: int = Field(4096, ge=8)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value
