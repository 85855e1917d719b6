"""The OpenAPI document of the HTTP contract, built from the same pydantic models the code uses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from pydantic.json_schema import models_json_schema

from jobs.lifecycle.bulk import MAX_BULK
from jobs.lifecycle.idempotency import KEY_PATTERN
from jobs.models import (
    AskRequest,
    BatchRequest,
    ChangeEntry,
    CrawlRequest,
    ErrorInfo,
    JobRecord,
    JobStatus,
    ScrapeRequest,
    SubmitResponse,
)
from jobs.queue.history import MAX_MINUTES as MAX_HISTORY_MINUTES
from jobs.schedules.models import Schedule, SchedulePatch, ScheduleRequest
from jobs.store.listing import MAX_CURSOR_MS
from streams.ascii_decimal import ascii_decimal_pattern
from streams.events import MAX_ID_PART, EventType

from .routes.jobs import MAX_PAGE_LIMIT, MAX_PAGE_OFFSET, SCHEDULE_ID_PATTERN
from .settings import WebSettings

REF = "#/components/schemas/{model}"


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


ERROR = _ref("Error")
JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"}}
TOKEN = {"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "The job's link token (from `links`): opens its events and result without a key."}


_ID_PART = ascii_decimal_pattern(MAX_ID_PART)
# What `requested_last_id` takes: `<ms>` or `<ms>-<seq>`, each below 2^64, but not the greatest id
# (nothing can follow it); empty means "from the start".
EVENT_ID_PATTERN = f"^(?!{MAX_ID_PART}-{MAX_ID_PART}$)(?:{_ID_PART}(?:-{_ID_PART})?)?$"
EVENT_ID = {"type": "string", "pattern": EVENT_ID_PATTERN}


def _resume_after(header: str, query: str) -> list[dict[str, Any]]:
    """An SSE endpoint's resume point: the `Last-Event-ID` header, and the same as a query for `EventSource`."""
    return [{"name": "Last-Event-ID", "in": "header", "schema": EVENT_ID, "description": header},
            {"name": "last_event_id", "in": "query", "schema": EVENT_ID, "description": query}]


PAGE_SIZE = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT}}
LIST_CURSOR = {"type": "string", "pattern": f"^(?:{ascii_decimal_pattern(MAX_CURSOR_MS)}:[0-9A-Za-z]{{1,64}})?$",
               "description": "`next_cursor` of the previous page (empty or absent: the first page)."}
# One SSE event as it is framed (OpenAPI before 3.2: `schema` describes one event of the stream).
SSE_EVENT = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": f"^{_ID_PART}-{_ID_PART}$"},
        "event": {"type": "string", "enum": [str(kind) for kind in EventType]},
        "data": {"type": "string", "contentMediaType": "application/json",
                 "contentSchema": {"type": "object", "required": ["ts"]}},
        "retry": {"type": "integer", "minimum": 0},
    },
}


# The URLs this document promises are accepted: http(s), a host of letter-led labels (never read as an
# IP address, never an IDNA-refused hyphen pair), the default port, a plain path. A strict subset of what
# `validate_url` admits (IDNs, ports, queries …), which README's URL rules describe in full.
URL_PATTERN = r"^https?://[a-z][a-z0-9]{0,30}(?:\.[a-z][a-z0-9]{0,30}){0,4}(?:/[A-Za-z0-9._~-]{0,40}){0,6}$"


# Any text with a character str.strip() keeps: what AskRequest takes as a question.
NOT_BLANK = "[^" + "".join(f"\\u{code:04x}" for code in range(0x10000) if chr(code).isspace()) + "]"


_B64 = "[A-Za-z0-9+/]"
_B64_TAIL = f"(?:{_B64}{{2}}={{0,2}}|{_B64}{{3}}=?)"
# `webhook_signing_key`'s rule: `whsec_` and the base64 (padded or not) of 24 to 64 bytes.
WEBHOOK_SECRET_PATTERN = (f"^whsec_(?:(?:{_B64}{{4}}){{8,20}}{_B64_TAIL}?"
                          f"|(?:{_B64}{{4}}){{21}}(?:{_B64}{{2}}={{0,2}})?)$")


def _declare_what_models_check(schemas: dict[str, Any]) -> None:
    """What the request models check beyond their generated JSON Schema, declared."""
    schemas["WebhookSpec"]["properties"]["secret"]["pattern"] = WEBHOOK_SECRET_PATTERN
    # Only a scrape may leave out `type` (it is the default kind).
    for name in ("CrawlRequest", "BatchRequest", "AskRequest"):
        schemas[name]["required"] = sorted({*schemas[name].get("required", []), "type"})
    ask = schemas["AskRequest"]
    ask["properties"]["questions"]["items"] = {"type": "string", "minLength": 1, "maxLength": 1000,
                                               "pattern": NOT_BLANK}
    ask["oneOf"] = [{"required": [name], "properties": {name: {"type": "string"}}} for name in ("job", "url")]


def _declare_urls(schemas: dict[str, Any]) -> None:
    """Every URL field of a request says which URLs it takes, not "a string"."""
    url = {"type": "string", "pattern": URL_PATTERN, "maxLength": 2048}
    for name in ("ScrapeRequest", "CrawlRequest", "WebhookSpec"):
        schemas[name]["properties"]["url"].update(url)
    schemas["BatchRequest"]["properties"]["urls"]["items"] = url
    schemas["AskRequest"]["properties"]["url"]["anyOf"][0].update(url)


# What a client reads next about a submitted job (also how a stateful fuzzer reaches real jobs).
# `DELETE /jobs/{id}` is not linked: it cancels and the job stays readable, whereas a link to a
# DELETE tells a client (and schemathesis' use-after-free check) that the resource is then gone.
JOB_LINKS = {name.capitalize(): {"operationId": name, "parameters": {"job_id": "$response.body#/id"}}
             for name in ("get", "events", "result", "retry")}


def _errors(*codes: int) -> dict[str, Any]:
    meaning = {400: "Bad request", 401: "No or bad API key", 404: "Unknown, expired or not yours",
               409: "Not in a state that allows this", 413: "Body too large",
               415: "Not JSON by its Content-Type: send application/json", 422: "Invalid body: `field` says where",
               429: "Rate limited: see Retry-After", 503: "Redis unreachable"}
    return {str(code): _json(ERROR, meaning[code]) for code in codes}


def _declare_no_llm(schemas: dict[str, Any]) -> None:
    """Without an LLM, `extract` is refused at submit: the document says so instead of promising it."""
    for name in ("ScrapeRequest", "CrawlRequest", "BatchRequest"):
        schemas[name]["properties"]["extract"] = {
            "type": "null", "description": "LLM extraction: this server has no LLM configured (OPENAI_MODEL)."}


# A date-time (RFC 3339) no more than 30 days (`MAX_DELAY_S`) after the request is made.
SCHEDULED_DATE_TIME = "scheduled-date-time"


@dataclass(frozen=True, slots=True)
class ServerBounds:
    """What this server accepts, from its settings: the document states the same limits as the checks."""

    auth_required: bool
    llm_configured: bool = True
    max_attempts: int = 5
    max_timeout_s: float = 3600
    crawl_max_pages: int = 10_000
    batch_max_urls: int = 1000
    schedule_min_every_s: int = 60

    @classmethod
    def of(cls, settings: WebSettings) -> ServerBounds:
        return cls(auth_required=settings.auth_required, llm_configured=settings.llm_configured,
                   max_attempts=settings.max_attempts, max_timeout_s=settings.max_job_timeout_s,
                   crawl_max_pages=settings.crawl_max_pages, batch_max_urls=settings.batch_max_urls,
                   schedule_min_every_s=settings.schedule_min_every_s)


def _declare_server_maxima(schemas: dict[str, Any], bounds: ServerBounds) -> None:
    """The maxima `service.validation` holds a request to on this server (422 beyond them)."""
    for name in ("ScrapeRequest", "CrawlRequest", "BatchRequest", "AskRequest"):
        properties = schemas[name]["properties"]
        properties["max_attempts"]["maximum"] = bounds.max_attempts
        _number_schema(properties["timeout_s"])["maximum"] = bounds.max_timeout_s
        # `run_at` at most MAX_DELAY_S ahead: no JSON Schema keyword bounds a date by "now", so the
        # format is named for the rule (a fuzzer registers it; see tests/support/schemathesis_hooks.py).
        _number_schema(properties["run_at"])["format"] = SCHEDULED_DATE_TIME
        # The models refuse both at once (one start time).
        schemas[name]["not"] = {"required": ["delay_s", "run_at"], "properties": {
            "delay_s": {"type": "number"}, "run_at": {"type": "string"}}}
    schemas["CrawlRequest"]["properties"]["limit"]["maximum"] = bounds.crawl_max_pages
    # Path patterns run on RE2 (no lookaround, no backreferences); a pattern that is no regex is a 422.
    for name in ("include_paths", "exclude_paths"):
        schemas["CrawlRequest"]["properties"][name]["items"] = {"type": "string", "format": "regex"}
    schemas["BatchRequest"]["properties"]["urls"]["maxItems"] = bounds.batch_max_urls
    if not bounds.llm_configured:
        _declare_no_llm(schemas)


def _number_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional number's schema (`anyOf: [number, null]`)."""
    branches: list[dict[str, Any]] = schema.get("anyOf", [schema])
    return next((branch for branch in branches if branch.get("type") != "null"), schema)


def _bulk_body(statuses: list[str], *, say_which: bool = False) -> dict[str, Any]:
    """`POST /jobs/retry` and `/jobs/delete`: ids, or a filter over your jobs (a delete must say which)."""
    body: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {
        "ids": {"type": "array", "maxItems": MAX_BULK, "items": {"type": "string", "minLength": 1, "maxLength": 64}},
        "status": {"type": "string", "enum": statuses},
        "type": {"type": "string", "enum": ["scrape", "crawl", "batch", "ask"]},
        "cursor": {**LIST_CURSOR, "description": "The `next_cursor` of the previous call."}}}
    if say_which:
        body["anyOf"] = [{"required": ["ids"]}, {"required": ["status"]}]
    return body


def _bulk_answer(done: str) -> dict[str, Any]:
    return {"type": "object", "properties": {
        done: {"type": "array", "items": {"type": "string"}},
        "skipped": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "reason": {"type": "string"}, "status": {"type": "string"}}}},
        "next_cursor": {"type": ["string", "null"]}}}


SCHEDULE_ID = {"name": "schedule_id", "in": "path", "required": True,
               "schema": {"type": "string", "pattern": f"^{SCHEDULE_ID_PATTERN.pattern}$"}}
# Cron fields a schema can promise are read (cronsim refuses e.g. day 30 of February, so days stop at 28).
_CRON_STEP = r"(?:/(?:[1-9]|[1-5][0-9]))?"
_CRON_ANY_MINUTE = rf"(?:\*{_CRON_STEP}|[1-5]?[0-9])"
_CRON_FIXED_MINUTE = "[1-5]?[0-9]"
_CRON_HOUR = r"(?:\*|1?[0-9]|2[0-3])"
_CRON_FIXED_HOUR = "(?:1?[0-9]|2[0-3])"
_CRON_REST = r" (?:\*|[1-9]|1[0-9]|2[0-8]) (?:\*|[1-9]|1[0-2]) (?:\*|[0-7])"


def cron_pattern(floor_s: int) -> str:
    """5-field cron expressions whose runs are never closer than `floor_s` (at most a day): each minute, hourly
    or daily. The server takes more (lists, ranges, names, a seconds field) where the floor allows."""
    if floor_s <= 60:
        return f"^{_CRON_ANY_MINUTE} {_CRON_HOUR}{_CRON_REST}$"
    if floor_s <= 3600:
        return f"^{_CRON_FIXED_MINUTE} {_CRON_HOUR}{_CRON_REST}$"
    return f"^{_CRON_FIXED_MINUTE} {_CRON_FIXED_HOUR}{_CRON_REST}$"


def _typed(name: str, json_type: str) -> dict[str, Any]:
    """`name` given with a value of its type (not null): what the models mean by "given"."""
    return {"required": [name], "properties": {name: {"type": json_type}}}


def _declare_schedules(schemas: dict[str, Any], bounds: ServerBounds) -> None:
    """What the schedule models and routes check: the floor, cron and zone, one cadence, a job without a start."""
    zones = sorted(available_timezones())
    for name in ("ScheduleRequest", "SchedulePatch"):
        properties = schemas[name]["properties"]
        _number_schema(properties["every_s"])["minimum"] = bounds.schedule_min_every_s
        _number_schema(properties["cron"])["pattern"] = cron_pattern(bounds.schedule_min_every_s)
        _number_schema(properties["timezone"])["enum"] = zones
        schemas[name]["not"] = {"allOf": [_typed("every_s", "integer"), _typed("cron", "string")]}
    # The job: any body `POST /jobs` takes, without a start time of its own (a run starts at its tick).
    schemas["ScheduleRequest"]["properties"]["job"] = {"allOf": [_ref("JobRequest")], "not": {"anyOf": [
        _typed("delay_s", "number"), _typed("run_at", "string")]}}
    schemas["ScheduleRequest"]["anyOf"] = [_typed("every_s", "integer"), _typed("cron", "string")]
    schemas["SchedulePatch"]["minProperties"] = 1


SCHEDULE_LINKS = {name.capitalize(): {"operationId": f"{name}Schedule",
                                      "parameters": {"schedule_id": "$response.body#/id"}}
                  for name in ("get", "change", "delete")}
SCHEDULE_LINKS["Changes"] = {"operationId": "scheduleChanges", "parameters": {"schedule_id": "$response.body#/id"}}
# A `next_cursor` of `GET /schedules/{id}/changes`: an entry id of the schedule's history.
CHANGES_CURSOR = {"type": "string", "pattern": f"^(?:{_ID_PART}(?:-{_ID_PART})?)?$",
                  "description": "`next_cursor` of the previous page (empty or absent: the newest changes)."}


@cache
def openapi_document(bounds: ServerBounds) -> dict[str, Any]:
    """The document for this server: what it accepts with its settings (an API key, LLM, maxima)."""
    auth_required = bounds.auth_required
    _, top = models_json_schema(
        [(m, "validation") for m in (ScrapeRequest, CrawlRequest, BatchRequest, AskRequest, ScheduleRequest,
                                     SchedulePatch)]
        + [(m, "serialization") for m in (JobRecord, SubmitResponse, ErrorInfo, Schedule, ChangeEntry)],
        ref_template=REF,
    )
    schemas: dict[str, Any] = dict(top.get("$defs", {}))
    _declare_urls(schemas)
    _declare_what_models_check(schemas)
    _declare_server_maxima(schemas, bounds)
    _declare_schedules(schemas, bounds)
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": _ref("ErrorInfo")}}
    schemas["JobRequest"] = {
        "oneOf": [_ref(name) for name in ("ScrapeRequest", "CrawlRequest", "BatchRequest", "AskRequest")],
        "discriminator": {"propertyName": "type", "mapping": {
            "scrape": REF.format(model="ScrapeRequest"), "crawl": REF.format(model="CrawlRequest"),
            "batch": REF.format(model="BatchRequest"), "ask": REF.format(model="AskRequest")}},
    }
    record = _ref("JobRecord")
    schedule = _ref("Schedule")
    paths: dict[str, Any] = {
        "/jobs": {
            "post": {
                "summary": "Submit a job", "operationId": "submit",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "pattern": f"^{KEY_PATTERN.pattern}$"},
                                "description": "A retried submit with the same key and body returns the same job."}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("JobRequest")}}},
                "responses": {"202": {**_json(_ref("SubmitResponse"), "Accepted; `Location` is the job"),
                                      "links": JOB_LINKS},
                              **_errors(401, 404, 409, 413, 415, 422, 429, 503)},
            },
            "get": {
                "summary": "Your jobs, newest first", "operationId": "list",
                "parameters": [
                    {"name": "status", "in": "query",
                     "schema": {"type": "string", "enum": [str(status) for status in JobStatus]}},
                    {"name": "type", "in": "query",
                     "schema": {"type": "string", "enum": ["scrape", "crawl", "batch", "ask"]}},
                    {"name": "url", "in": "query", "schema": {"type": "string", "maxLength": 2048},
                     "description": "Jobs whose URL (a batch: one of its first three) contains this, any case."},
                    {"name": "schedule", "in": "query",
                     "schema": {"type": "string", "pattern": f"^{SCHEDULE_ID_PATTERN.pattern}$"},
                     "description": "The runs of this schedule of yours."},
                    {"name": "cursor", "in": "query", "schema": LIST_CURSOR},
                    PAGE_SIZE,
                ],
                "responses": {"200": _json({"type": "object", "properties": {
                    "jobs": {"type": "array", "items": record},
                    "next_cursor": {"type": ["string", "null"]}}}, "A page of jobs"), **_errors(401, 422)},
            },
        },
        "/schedules": {
            "post": {
                "summary": "Make a schedule: a job submitted every `every_s` seconds, or by `cron` in `timezone`",
                "operationId": "createSchedule",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("ScheduleRequest")}}},
                "responses": {"201": {**_json(schedule, "Made; `Location` is the schedule"),
                                      "links": {**SCHEDULE_LINKS, "Runs": {
                                          "operationId": "list", "parameters": {"schedule": "$response.body#/id"}}}},
                              **_errors(401, 404, 409, 413, 415, 422, 503)},
            },
            "get": {
                "summary": "Your schedules, newest first", "operationId": "listSchedules",
                "parameters": [{"name": "cursor", "in": "query", "schema": LIST_CURSOR}, PAGE_SIZE],
                "responses": {"200": _json({"type": "object", "properties": {
                    "schedules": {"type": "array", "items": schedule},
                    "next_cursor": {"type": ["string", "null"]}}}, "A page of schedules"), **_errors(401, 422)},
            },
        },
        "/schedules/{schedule_id}": {
            "parameters": [SCHEDULE_ID],
            "get": {"summary": "The schedule, with its next runs", "operationId": "getSchedule",
                    "responses": {"200": _json(schedule, "The schedule"), **_errors(401, 404)}},
            "patch": {"summary": "Pause, resume, or change the cadence or jitter", "operationId": "changeSchedule",
                      "requestBody": {"required": True,
                                      "content": {"application/json": {"schema": _ref("SchedulePatch")}}},
                      "responses": {"200": _json(schedule, "Changed"), **_errors(401, 404, 413, 415, 422)}},
            "delete": {"summary": "Delete: no run after this (past runs stay, as jobs)",
                       "operationId": "deleteSchedule",
                       "responses": {"204": {"description": "Deleted"}, **_errors(401, 404)}},
        },
        "/schedules/{schedule_id}/changes": {
            "parameters": [SCHEDULE_ID],
            "get": {"summary": "What the schedule's runs found new or changed, newest first, with their diffs",
                    "operationId": "scheduleChanges",
                    "parameters": [{"name": "cursor", "in": "query", "schema": CHANGES_CURSOR}, PAGE_SIZE],
                    "responses": {"200": _json({"type": "object", "properties": {
                        "changes": {"type": "array", "items": _ref("ChangeEntry")},
                        "next_cursor": {"type": ["string", "null"]}}}, "A page of changes"),
                        **_errors(401, 404, 422)}},
        },
        "/jobs/{job_id}": {
            "parameters": [JOB_ID],
            "get": {"summary": "The job record", "operationId": "get",
                    "responses": {"200": _json(record, "The record"), **_errors(401, 404)}},
            "delete": {"summary": "Cancel", "operationId": "cancel",
                       "responses": {"202": _json(record, "Cancelled"), **_errors(401, 404, 409)}},
        },
        "/jobs/{job_id}/events": {
            "parameters": [JOB_ID, TOKEN],
            "get": {
                "summary": "The job's events: history, then live, until the terminal one (SSE)",
                "operationId": "events",
                "parameters": [
                    *_resume_after("Resume strictly after this event id.",
                                   "The same, for clients that cannot send headers (the header wins)."),
                    {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json"]},
                     "description": "`json`: the history so far as a JSON array."},
                ],
                "responses": {
                    "200": {"description": "`text/event-stream` (id = stream id, event = type, data = JSON with "
                                           "`ts`), or with `Accept: application/json` the history as a JSON array",
                            "content": {"text/event-stream": {"schema": SSE_EVENT},
                                        "application/json": {"schema": {"type": "array", "items": {
                                            "type": "object", "properties": {
                                                "id": {"type": "string"}, "type": {"type": "string"},
                                                "data": {"type": "object"}}}}}}},
                    "204": {"description": "Resumed after the terminal event: nothing more will come"},
                    **_errors(400, 401, 404, 422),
                },
            },
        },
        "/jobs/{job_id}/result": {
            "parameters": [JOB_ID, TOKEN],
            "get": {"summary": "The result (crawl and batch: paged, readable while running)", "operationId": "result",
                    "parameters": [
                        {"name": "cursor", "in": "query", "description": "Crawl and batch: the first page's offset.",
                         "schema": {"type": "integer", "minimum": 0, "maximum": MAX_PAGE_OFFSET}},
                        {"name": "limit", "in": "query", "description": "Crawl and batch: pages per answer.",
                         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_LIMIT}},
                    ],
                    "responses": {"200": _json({"type": "object"}, "The result document"),
                                  **_errors(401, 404, 409, 422)}},
        },
        "/jobs/{job_id}/retry": {
            "parameters": [JOB_ID],
            "post": {"summary": "Re-run a failed or cancelled job as a new attempt", "operationId": "retry",
                     "responses": {"202": _json(record, "Queued again"), **_errors(401, 404, 409)}},
        },
        "/jobs/retry": {"post": {
            "summary": "Re-run many of your failed (or cancelled) jobs, by ids or by filter",
            "operationId": "retryMany",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _bulk_body(
                ["failed", "cancelled"])}}},
            "responses": {"200": _json(_bulk_answer("retried"), "What was re-run, what was skipped and why"),
                          **_errors(401, 413, 415, 422)}}},
        "/jobs/delete": {"post": {
            "summary": "Delete many of your finished jobs, by ids or by filter (unfinished ones are skipped)",
            "operationId": "deleteMany",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _bulk_body(
                ["completed", "failed", "cancelled"], say_which=True)}}},
            "responses": {"200": _json(_bulk_answer("deleted"), "What was deleted, what was skipped and why"),
                          **_errors(401, 413, 415, 422)}}},
        "/events": {"get": {
            "summary": "The lifecycle of every job of yours, live and resumable; `queue` every few seconds (SSE)",
            "operationId": "activity",
            "parameters": [
                *_resume_after("Resume strictly after this entry id (without one: from now on; `0`: all kept).",
                               "The same, for clients that cannot send headers."),
                {"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "An activity token from `GET /events/link`: opens this stream without a key."},
            ],
            "responses": {"200": {"description": "`text/event-stream`: queued, started, retrying, changed, completed, "
                                                 "failed, cancelled (data: the job's record; `changed` adds `change`: "
                                                 "url, status, previous_job, fields), `queue` (no id), `resync`",
                                  "content": {"text/event-stream": {"schema": SSE_EVENT}}},
                          **_errors(400, 401)}}},
        "/events/link": {"get": {
            "summary": "A URL of your activity stream for a browser: a read-only, expiring token scoped to you",
            "operationId": "activityLink",
            "responses": {"200": _json({"type": "object", "properties": {
                "url": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"}}}, "The link"),
                **_errors(401)}}},
        "/queue/history": {"get": {
            "summary": "Jobs submitted, completed and failed per minute, and the queue depth seen",
            "operationId": "queueHistory",
            "parameters": [{"name": "minutes", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY_MINUTES}}],
            "responses": {"200": _json({"type": "object", "properties": {"minutes": {"type": "array", "items": {
                "type": "object", "properties": {
                    "at": {"type": "string", "format": "date-time"}, "submitted": {"type": "integer"},
                    "completed": {"type": "integer"}, "failed": {"type": "integer"},
                    "depth": {"type": ["integer", "null"]}}}}}}, "One entry per minute, oldest first"),
                **_errors(401, 422, 503)}}},
        "/queue": {"get": {"summary": "Queue depth by priority, scheduled, running, outcomes, live workers",
                           "operationId": "queue",
                           "responses": {"200": _json({"type": "object"}, "Queue"), **_errors(401, 503)}}},
        "/workers": {"get": {"summary": "Live workers: host, pid, start, last heartbeat, finished, jobs running now",
                             "operationId": "workers",
                             "responses": {"200": _json({"type": "object", "properties": {"workers": {
                                 "type": "array", "items": {"type": "object"}}}}, "Workers"),
                                 **_errors(401, 503)}}},
        "/health": {"get": {"summary": "Redis reachable, live workers", "operationId": "health", "security": [],
                            "responses": {"200": _json({"type": "object"}, "Healthy"), **_errors(503)}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "security": [],
                             "responses": {"200": {"description": "Prometheus text format",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }
    components: dict[str, Any] = {"schemas": schemas}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Scrapestream", "version": "0.1.0",
                 "description": "Web-scraping jobs you can watch live: submit, follow over SSE, read the result."},
        "paths": paths,
        "components": components,
    }
    if auth_required:
        components["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer",
                                                    "description": "`scrapestream keys create NAME`"}}
        document["security"] = [{"apiKey": []}]
    else:
        for item in paths.values():
            for operation in item.values():
                if isinstance(operation, dict):
                    operation.pop("security", None)
    return document
