"""`POST /jobs` as a raw ASGI app: the service's hot path, and the only code that accepts a job.

`service.app` dispatches it ahead of Starlette's router, under the app's own
middleware (BodyLimit, CORS) and 500 handler, so every check holds as on any
route; what it skips is routing, the exception middleware and Request/Response
objects. Its errors are answered by `service.errors.error_response`, the one
mapping the app's handlers use too. The order of the checks is what a client
sees: who is calling (401), the media type (415), the body (413 by BodyLimit,
422), the server's limits (422), Idempotency-Key (422), the rate (429), then
the idempotent replay or the new job (202).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from jobs.lifecycle.idempotency import Earlier, claim_key, request_hash, valid_key
from jobs.lifecycle.submit import new_job_id, submit_job
from jobs.models import REQUEST_MODELS, JobRequest, JobStatus
from jobs.store.records import load_job

from ..auth import caller_of
from ..errors import Conflict, InvalidBody, RateLimited, error_response, from_validation_error
from ..json_body import check_json_media_type, parse_json_body
from ..links import signed_links
from ..ratelimit import submission_wait_s
from ..state import AppState
from ..validation import check_request


@dataclass(slots=True)
class SubmitHeaders:
    """The request headers a submit reads; the first of each name counts, as in Starlette's `Headers`."""

    authorization: str | None = None
    content_type: str | None = None
    idempotency_key: str | None = None

    @classmethod
    def of(cls, scope: Scope) -> SubmitHeaders:
        headers = cls()
        for name, value in scope["headers"]:  # lower-case names, as ASGI servers give them
            if name == b"authorization" and headers.authorization is None:
                headers.authorization = value.decode("latin-1")
            elif name == b"content-type" and headers.content_type is None:
                headers.content_type = value.decode("latin-1")
            elif name == b"idempotency-key" and headers.idempotency_key is None:
                headers.idempotency_key = value.decode("latin-1")
        return headers


class ClientGone(Exception):
    """The client disconnected before its whole body arrived: there is no one to answer."""


async def read_body(receive: Receive) -> bytes:
    """The whole body (BodyLimit's `receive` refuses one over MAX_BODY_BYTES as it arrives)."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_job_request(body: Any) -> JobRequest:
    if not isinstance(body, dict):
        raise InvalidBody("the body must be a JSON object", code="invalid_body")
    job_type = body.get("type", "scrape")
    model = REQUEST_MODELS.get(job_type) if isinstance(job_type, str) else None
    if model is None:
        kinds = ", ".join(sorted(REQUEST_MODELS))
        raise InvalidBody(f"type: unknown job type {str(job_type)[:40]!r}; one of: {kinds}", field="type")
    try:
        return model.model_validate(body)  # type: ignore[return-value]
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


@dataclass(frozen=True, slots=True)
class Accepted:
    """A `202`: the job's receipt, its `Location`, and whether it replays an earlier submit."""

    body: bytes
    location: str
    replayed: bool = False


async def receipt(state: AppState, job_id: str, job_type: str, status: str, *, replayed: bool = False) -> Accepted:
    links = await signed_links(state, job_id)
    body = {"id": job_id, "type": job_type, "status": status,
            "links": {"self": links.self, "events": links.events, "result": links.result}}
    return Accepted(orjson.dumps(body), links.self, replayed)


async def accept_job(state: AppState, headers: SubmitHeaders, receive: Receive) -> Accepted:
    """Every check of a submit, in the order a client sees them, then the job (or the earlier one)."""
    caller = await caller_of(state, headers.authorization)
    check_json_media_type(headers.content_type)
    job_request = parse_job_request(parse_json_body(await read_body(receive)))
    settings = state.settings
    await check_request(job_request, settings=settings, policy=state.policy, redis=state.submits, keys=state.keys,
                        owner=caller.owner, llm_configured=settings.llm_configured)
    idempotency_key = headers.idempotency_key
    if idempotency_key is not None and not valid_key(idempotency_key):
        raise InvalidBody("Idempotency-Key: 1 to 255 visible ASCII characters (no spaces)", field="Idempotency-Key")
    wait_s = await submission_wait_s(
        state.submits, state.keys.submit_rate(caller.owner),
        per_minute=settings.submits_per_minute, burst=settings.submit_burst,
    )
    if wait_s:
        limited = RateLimited(f"over {settings.submits_per_minute} submissions a minute; "
                              f"retry in {wait_s} s", retry_after_s=wait_s)
        limited.headers = {"Retry-After": str(wait_s)}
        raise limited
    job_id = new_job_id()
    if idempotency_key is not None:
        body_hash = request_hash(job_request)
        earlier = await claim_key(state.submits, state.keys.idempotency(caller.owner, idempotency_key),
                                  body_hash, job_id, settings.retention_s)
        if earlier is not None:
            return await same_as_before(state, earlier, body_hash)
    try:
        record = await submit_job(state.submits, state.queue, job_request, owner=caller.owner, job_id=job_id)
    except BaseException:
        if idempotency_key is not None:  # free the key: the next retry must be able to submit
            await state.submits.delete(state.keys.idempotency(caller.owner, idempotency_key))
        raise
    state.metrics.submitted.labels(record.type).inc()
    return await receipt(state, record.id, record.type, record.status)


async def same_as_before(state: AppState, earlier: Earlier, body_hash: str) -> Accepted:
    if earlier.body_hash != body_hash:
        raise Conflict("this Idempotency-Key was used with a different request body",
                       code="idempotency_conflict", job_id=earlier.job_id)
    stored = await load_job(state.submits, state.keys, earlier.job_id)
    record = stored.record if stored else None
    status = record.status if record else JobStatus.QUEUED  # the first submit may still be writing it
    return await receipt(state, earlier.job_id, record.type if record else "scrape", status, replayed=True)


class SubmitEndpoint:
    """The ASGI app of `POST /jobs`: the answer is written as bytes, in one `send` for its head and one
    for its body."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            accepted = await accept_job(self.state, SubmitHeaders.of(scope), receive)
        except ClientGone:
            return
        except Exception as exc:
            response = error_response(exc)
            if response is None:
                raise  # a bug: the app's 500 handler answers it
            await response(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(accepted.body)).encode()),
                   (b"location", accepted.location.encode())]
        if accepted.replayed:
            headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": 202, "headers": headers})
        await send({"type": "http.response.body", "body": accepted.body})
