"""`client.schedules`: make, list, read, pause, resume, change and delete schedules, and list their runs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pydantic import BaseModel

from jobs.models import JobRecord
from jobs.schedules.models import Schedule

if TYPE_CHECKING:
    from ._client import Client


def schedule_path(schedule_id: str) -> str:
    return f"/schedules/{quote(schedule_id, safe='')}"


def _given(**fields: Any) -> dict[str, Any]:
    # What is left None stays as it is (a change) or is the server's default (a new schedule).
    return {name: value for name, value in fields.items() if value is not None}


class Schedules:
    """The schedules of the client's key: `client.schedules.create(job, every_s=3600)` and the rest."""

    def __init__(self, client: Client) -> None:
        self._client = client

    async def create(
        self, job: Mapping[str, Any] | BaseModel, *, every_s: int | None = None, cron: str | None = None,
        timezone: str | None = None, jitter_s: int | None = None,
    ) -> Schedule:
        """Run `job` (any body `submit` takes) every `every_s` seconds, or by `cron` in `timezone`.

        The first `every_s` run starts at once. InvalidRequest (422) names the field at fault: `cron`,
        `timezone`, `every_s` (under the server's floor) or `job.<field>`; Conflict (`too_many_schedules`)
        when the key has as many schedules as the server allows.
        """
        body = job.model_dump(mode="json", exclude_none=True) if isinstance(job, BaseModel) else dict(job)
        payload = {**_given(every_s=every_s, cron=cron, timezone=timezone, jitter_s=jitter_s), "job": body}
        response = await self._client._call("POST", "/schedules", json=payload)
        return Schedule.model_validate_json(response.content)

    async def list(self) -> AsyncGenerator[Schedule, None]:
        """Every schedule of yours, newest first, over all pages."""
        params: dict[str, str] = {"limit": "100"}
        while True:
            page = (await self._client._call("GET", "/schedules", params=params)).json()
            for raw in page["schedules"]:
                yield Schedule.model_validate(raw)
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    async def get(self, schedule_id: str) -> Schedule:
        """The schedule, with its next runs; NotFound for one that is not yours (or was deleted)."""
        return Schedule.model_validate_json((await self._client._call("GET", schedule_path(schedule_id))).content)

    async def update(
        self, schedule_id: str, *, every_s: int | None = None, cron: str | None = None, timezone: str | None = None,
        jitter_s: int | None = None, paused: bool | None = None,
    ) -> Schedule:
        """Change what is given (a new cadence starts from now); the rest stays."""
        body = _given(every_s=every_s, cron=cron, timezone=timezone, jitter_s=jitter_s, paused=paused)
        response = await self._client._call("PATCH", schedule_path(schedule_id), json=body)
        return Schedule.model_validate_json(response.content)

    async def pause(self, schedule_id: str) -> Schedule:
        """No run until `resume`."""
        return await self.update(schedule_id, paused=True)

    async def resume(self, schedule_id: str) -> Schedule:
        """Run again, from the cadence's next tick."""
        return await self.update(schedule_id, paused=False)

    async def delete(self, schedule_id: str) -> None:
        """No run after this; the runs made so far stay, as jobs, until they expire."""
        await self._client._call("DELETE", schedule_path(schedule_id))

    async def runs(self, schedule_id: str) -> AsyncGenerator[JobRecord, None]:
        """The schedule's runs, newest first: ordinary jobs whose record names the schedule."""
        async for record in self._client.jobs(schedule=schedule_id):
            yield record
