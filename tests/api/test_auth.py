"""API keys, tenants and link tokens: who may see which job."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from jobs.settings import Settings
from service.apikeys import create_key
from service.tokens import make_token
from streams.keys import Keyspace
from tests.support.sse import read_sse
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def secure(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"auth_required": True})) as stack:
        yield stack


async def new_key(stack: Stack, name: str) -> dict[str, str]:
    _key, secret = await create_key(stack.state.redis, Keyspace(stack.settings.key_prefix), name)
    return {"Authorization": f"Bearer {secret}"}


async def test_no_key_is_401_when_auth_is_required(secure: Stack, site: str) -> None:
    response = await secure.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await secure.client.get("/jobs")).status_code == 401


async def test_wrong_and_unknown_keys_get_the_same_401(secure: Stack, site: str) -> None:
    good = await new_key(secure, "alice")
    wrong_secret = good["Authorization"][:-4] + "AAAA"
    answers = []
    for value in (wrong_secret, "Bearer ss_0123456789abcdef_nope", "Bearer garbage", "Basic dXNlcjpwdw=="):
        response = await secure.client.get("/jobs", headers={"Authorization": value})
        answers.append((response.status_code, response.json()))
    assert {status for status, _ in answers} == {401}
    assert answers[0] == answers[1] == answers[2]


async def test_only_a_hash_of_the_key_is_stored(secure: Stack, redis_url: str) -> None:
    headers = await new_key(secure, "alice")
    # `ss_<id>_<secret>`: the secret is everything after the id (it may hold `_` itself; taking
    # only the text after the last `_` once matched a few random bytes of the token secret).
    secret = headers["Authorization"].removeprefix("Bearer ss_").partition("_")[2]
    assert len(secret) >= 40
    client = Redis.from_url(redis_url)
    try:
        for key in await client.keys("*"):
            kind = (await client.type(key)).decode()
            values = (await client.hgetall(key)).values() if kind == "hash" else [await client.get(key)] \
                if kind == "string" else []
            assert all(secret.encode() not in (v or b"") for v in values), key
    finally:
        await client.aclose()


async def test_another_key_sees_404_everywhere(secure: Stack, site: str) -> None:
    alice, bob = await new_key(secure, "alice"), await new_key(secure, "bob")
    submitted = await secure.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"}, headers=alice)
    job_id = submitted.json()["id"]
    await secure.wait_terminal_as(job_id, alice)
    unknown = "0123456789abcdef0123456789abcdef"
    for method, path in [("GET", "/jobs/{}"), ("GET", "/jobs/{}/events"), ("GET", "/jobs/{}/result"),
                         ("DELETE", "/jobs/{}")]:
        foreign = await secure.client.request(method, path.format(job_id), headers=bob)
        missing = await secure.client.request(method, path.format(unknown), headers=bob)
        assert foreign.status_code == missing.status_code == 404, (method, path)
        assert foreign.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"
    assert (await secure.client.get(f"/jobs/{job_id}", headers=alice)).status_code == 200
    assert [j["id"] for j in (await secure.client.get("/jobs", headers=alice)).json()["jobs"]] == [job_id]
    assert (await secure.client.get("/jobs", headers=bob)).json()["jobs"] == []


async def test_link_tokens_open_events_and_result_of_their_job_only(secure: Stack, site: str) -> None:
    alice = await new_key(secure, "alice")
    first = (await secure.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"},
                                      headers=alice)).json()
    other = (await secure.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"},
                                      headers=alice)).json()
    # No Authorization header from here on: what a browser's EventSource does.
    events = [e async for e in read_sse(secure.client, first["links"]["events"])]
    assert events[-1]["type"] == "completed"
    assert (await secure.client.get(first["links"]["result"])).status_code == 200
    token = first["links"]["events"].split("token=", 1)[1]
    # The token opens nothing else: not the record, not a cancel, not another job.
    assert (await secure.client.get(f"/jobs/{first['id']}?token={token}")).status_code == 401
    assert (await secure.client.delete(f"/jobs/{first['id']}?token={token}")).status_code == 401
    assert (await secure.client.get(f"/jobs/{other['id']}/events?token={token}")).status_code == 404
    assert (await secure.client.get(f"/jobs/{other['id']}/result?token={token}")).status_code == 404


async def test_tampered_and_expired_tokens_are_404(secure: Stack, site: str) -> None:
    alice = await new_key(secure, "alice")
    job = (await secure.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"},
                                    headers=alice)).json()
    expires, signature = job["links"]["result"].split("token=", 1)[1].split(".")
    tampered = f"{int(expires) + 3600}.{signature}"
    expired = make_token(await secure.state.link_secret(), job["id"], 60, now=0)
    for token in (tampered, expired, "garbage", ""):
        for path in (f"/jobs/{job['id']}/result", f"/jobs/{job['id']}/events"):
            response = await secure.client.get(path, params={"token": token})
            assert response.status_code == 404, (token, path)


async def test_keys_cli_create_list_revoke(secure: Stack, site: str, redis_url: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "KEY_PREFIX": secure.settings.key_prefix}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "service.cli", "keys", *args], env=env,
                              capture_output=True, text=True, timeout=60, check=True)
        return done.stdout

    created = cli("create", "ci-bot")
    key = created.strip().splitlines()[-1]
    assert key.startswith("ss_") and " " not in key
    headers = {"Authorization": f"Bearer {key}"}
    ok = await secure.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"}, headers=headers)
    assert ok.status_code == 202
    assert "ci-bot" in cli("list")
    assert key not in cli("list")
    cli("revoke", "ci-bot")
    secure.state.verifier._good.clear()  # what the 5 s cache would do by itself
    refused = await secure.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"}, headers=headers)
    assert refused.status_code == 401


async def test_submissions_are_rate_limited_per_key(settings: Settings, site: str) -> None:
    limited = settings.model_copy(update={"auth_required": True, "submits_per_minute": 60, "submit_burst": 3})
    async with running_stack(limited, workers=0) as stack:
        alice, bob = await new_key(stack, "alice"), await new_key(stack, "bob")
        body = {"type": "scrape", "url": f"{site}/plain"}
        statuses = [(await stack.client.post("/jobs", json=body, headers=alice)).status_code for _ in range(3)]
        assert statuses == [202, 202, 202]
        refused = await stack.client.post("/jobs", json=body, headers=alice)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert refused.headers["retry-after"].isdigit() and 1 <= int(refused.headers["retry-after"]) <= 2
        # Another key has its own budget.
        assert (await stack.client.post("/jobs", json=body, headers=bob)).status_code == 202


async def test_running_jobs_are_capped_per_key(settings: Settings, site: str) -> None:
    capped = settings.model_copy(update={"max_running_per_key": 1})
    async with running_stack(capped) as stack:
        slow = await stack.submit({"type": "scrape", "url": f"{site}/slow?s=1"})
        quick = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        slow_events = await stack.wait_terminal(slow["id"])
        quick_events = await stack.wait_terminal(quick["id"])
        # The second job started only after the first ended, although the worker had free slots.
        assert quick_events[1]["type"] == "started"
        assert int(quick_events[1]["id"].split("-")[0]) >= int(slow_events[-1]["id"].split("-")[0])
        assert quick_events[-1]["type"] == "completed"


async def test_a_rerun_frees_its_running_slot_when_it_ends(settings: Settings, site: str) -> None:
    """A re-run runs under the arq id `<job id>.<n>`: its running entry was added under that id but
    freed under the job id, so it stayed in the owner's running set until it went stale (minutes),
    holding one of the key's MAX_RUNNING_PER_KEY slots."""
    capped = settings.model_copy(update={"max_running_per_key": 2})
    async with running_stack(capped) as stack:
        failed = await stack.submit({"type": "scrape", "url": f"{site}/status/404", "max_attempts": 1})
        first = await stack.wait_terminal(failed["id"])
        assert first[-1]["type"] == "failed"
        assert (await stack.client.post(f"/jobs/{failed['id']}/retry")).status_code == 202
        rerun = [event async for event in read_sse(
            stack.client, f"/jobs/{failed['id']}/events?last_event_id={first[-1]['id']}")]
        assert [e["type"] for e in rerun][-1] == "failed" and "started" in [e["type"] for e in rerun]
        running = await stack.state.redis.zrange(stack.state.keys.running("public"), 0, -1)
        assert running == []
