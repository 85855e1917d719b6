"""API_KEY: a key from the environment works beside the keys in Redis (a PaaS's first key, without a shell)."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from jobs.settings import Settings
from service.apikeys import create_key
from service.auth import ENV_OWNER
from service.settings import WebSettings
from streams.keys import Keyspace
from tests.support.stack import running_stack

ENV_KEY = "env-key-0123456789abcdef"


async def test_the_env_key_and_the_redis_keys_both_work_each_with_its_own_jobs(
    settings: Settings, site: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    required = settings.model_copy(update={"auth_required": True, "api_key": ENV_KEY})
    async with running_stack(required, workers=0) as stack:
        _, stored_key = await create_key(stack.state.redis, Keyspace(required.key_prefix), "ci")
        as_env = {"Authorization": f"Bearer {ENV_KEY}"}
        as_stored = {"Authorization": f"Bearer {stored_key}"}
        job = await stack.submit({"type": "scrape", "url": f"{site}/plain"}, headers=as_env)
        assert (await stack.client.get(f"/jobs/{job['id']}", headers=as_env)).status_code == 200
        # Tenants as ever: the Redis key does not see the env key's job, and each lists its own.
        assert (await stack.client.get(f"/jobs/{job['id']}", headers=as_stored)).status_code == 404
        assert (await stack.client.get("/jobs", headers=as_stored)).json()["jobs"] == []
        assert [j["id"] for j in (await stack.client.get("/jobs", headers=as_env)).json()["jobs"]] == [job["id"]]
        assert await stack.state.redis.hget(Keyspace(required.key_prefix).record(job["id"]), "owner") == \
            ENV_OWNER.encode()
        for wrong in (ENV_KEY[:-1], ENV_KEY + "x", ENV_KEY.upper()):
            answer = await stack.client.get("/jobs", headers={"Authorization": f"Bearer {wrong}"})
            assert answer.status_code == 401
        assert (await stack.client.get("/queue", headers=as_env)).status_code == 200
    assert ENV_KEY not in caplog.text
    assert ENV_KEY not in repr(required) and ENV_KEY not in str(required)


def test_a_short_api_key_is_refused_at_startup_without_being_repeated() -> None:
    with pytest.raises(ValidationError) as refused:
        WebSettings(_env_file=None, api_key="short-key")  # type: ignore[call-arg]
    assert "short-key" not in str(refused.value) and "API_KEY" in str(refused.value)
