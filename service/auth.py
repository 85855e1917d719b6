"""Who is calling: an API key (`Authorization: Bearer`: one in Redis, or API_KEY), a link token, or nobody.

Every job belongs to the key that submitted it. Another key, a bad token and
a job that never existed all get the same 404, on every route; no key (when
one is required) gets 401 before any job is looked up.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request

from jobs.store.records import StoredJob

from .errors import Unauthorized, job_not_found
from .state import AppState, app_state
from .tokens import token_opens

# The owner of every job when AUTH_REQUIRED is false and no key is sent.
PUBLIC_OWNER = "public"


# The owner of the jobs submitted with API_KEY (key ids in Redis are 16 hex digits: never this).
ENV_OWNER = "env"


def env_key_owner(api_key: str, presented: str) -> str | None:
    """ENV_OWNER when `presented` is the API_KEY setting, compared in constant time."""
    if api_key and hmac.compare_digest(presented.encode(), api_key.encode()):
        return ENV_OWNER
    return None


@dataclass(frozen=True, slots=True)
class Caller:
    owner: str


async def authenticate(request: Request) -> Caller:
    return await caller_of(app_state(request), request.headers.get("authorization"))


async def caller_of(state: AppState, header: str | None) -> Caller:
    """The caller an Authorization header names (none: the public owner, unless a key is required)."""
    if header:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthorized("use Authorization: Bearer <API key>")
        owner = env_key_owner(state.settings.api_key, presented.strip()) or await state.verifier.owner_of(
            presented.strip())
        if owner is None:
            # Wrong, unknown and revoked keys all read the same.
            raise Unauthorized("this API key is not valid")
        return Caller(owner)
    if not state.settings.auth_required:
        return Caller(PUBLIC_OWNER)
    raise Unauthorized("an API key is required: Authorization: Bearer <API key>")


async def check_access(
    request: Request, state: AppState, job_id: str, load: Callable[[], Awaitable[StoredJob | None]], *, token_ok: bool
) -> StoredJob:
    """The job, or the common 404 unless the caller may see it.

    Who is calling is settled before the job is looked up: without a valid key
    an existing job and an unknown one get the same 401, so a 401 tells nothing
    about which ids exist. `token_ok`: this route (events, result) also opens
    with the job's link token, which is checked (an HMAC, no lookup) first too.
    """
    token = request.query_params.get("token") if token_ok else None
    if token is not None:
        if not token_opens(await state.link_secret(), job_id, token):
            raise job_not_found(job_id)
        owner = None
    else:
        owner = (await authenticate(request)).owner
    stored = await load()
    if stored is None or (owner is not None and stored.owner != owner):
        raise job_not_found(job_id)
    return stored
