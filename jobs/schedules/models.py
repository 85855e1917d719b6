"""The shapes of schedules clients send and read: a new schedule, a change to one, and the schedule itself.

Pure pydantic, like `jobs.models`: the SDK reads `Schedule` with it. The job body
a schedule runs is checked as `POST /jobs` checks a body (`service.routes.schedules`),
so here it is only a JSON object.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator, model_validator

from jobs.models import json_integer
from jobs.schedules.timing import cron_error, zone_error

# A year: anything slower is better written as a cron expression.
MAX_EVERY_S: Final = 366 * 86_400
MAX_JITTER_S: Final = 3_600
MAX_CRON_LENGTH: Final = 200


class ScheduleTiming(BaseModel):
    """How often a schedule runs: `every_s`, or `cron` in `timezone`; and the jitter spreading its runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The bounds before the validator: after it, pydantic would not write them into the JSON Schema.
    every_s: Annotated[int, Field(ge=1, le=MAX_EVERY_S), BeforeValidator(json_integer)] | None = Field(
        None, description="Run every this many seconds (at least SCHEDULE_MIN_EVERY_S)."
    )
    cron: str | None = Field(
        None, min_length=1, max_length=MAX_CRON_LENGTH,
        description="A cron expression: 5 fields (minute hour day month weekday), or 6 with seconds first.",
    )
    timezone: str | None = Field(
        None, min_length=1, max_length=64,
        description="The IANA time zone `cron` is read in (default UTC); kept, and unused, beside `every_s`.",
    )
    jitter_s: Annotated[int, Field(ge=0, le=MAX_JITTER_S), BeforeValidator(json_integer)] | None = Field(
        None,
        description="Each run starts up to this many seconds after its tick (the same offset on every worker).",
    )

    @field_validator("cron")
    @classmethod
    def _readable_cron(cls, value: str | None) -> str | None:
        if value is not None and (why := cron_error(value)):
            raise ValueError(why)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and (why := zone_error(value)):
            raise ValueError(why)
        return value

    @model_validator(mode="after")
    def _one_cadence(self) -> ScheduleTiming:
        if self.every_s is not None and self.cron is not None:
            raise ValueError("give every_s or cron, not both")
        return self


class ScheduleRequest(ScheduleTiming):
    """`POST /schedules`: a cadence, and the job body each run submits (as `POST /jobs` takes it)."""

    job: dict[str, Any] = Field(description="The job each run submits: any body `POST /jobs` takes.")

    @model_validator(mode="after")
    def _a_cadence(self) -> ScheduleRequest:
        if self.every_s is None and self.cron is None:
            raise ValueError("give every_s (seconds) or cron (with an optional timezone)")
        return self


class SchedulePatch(ScheduleTiming):
    """`PATCH /schedules/{id}`: pause or resume, or change the cadence or jitter; what is left out stays."""

    paused: StrictBool | None = Field(None, description="true: no runs until resumed; false: resume.")


class ScheduleRun(BaseModel):
    """A run of a schedule: its job, and the tick it ran for."""

    model_config = ConfigDict(extra="allow")

    job: str
    scheduled_for: str


class ScheduleLinks(BaseModel):
    self: str
    runs: str = Field(description="`GET /jobs?schedule={id}`: its runs, newest first.")


class Schedule(BaseModel):
    """A schedule as `GET /schedules/{id}` answers it; fields a newer server adds are kept, never refused."""

    model_config = ConfigDict(extra="allow")

    id: str
    every_s: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    jitter_s: int = 0
    paused: bool = False
    job: dict[str, Any] = Field(description="The job body each run submits, without any secret.")
    created_at: str
    updated_at: str
    next_runs: list[str] = Field(description="When the next runs are due (jitter included); empty while paused.")
    runs: int = Field(0, description="Runs submitted so far.")
    last_run: ScheduleRun | None = None
    last_change: dict[str, Any] | None = Field(
        None, description="The latest run whose page changed (`job`, `url`, `at`), from the schedule's history."
    )
    links: ScheduleLinks
