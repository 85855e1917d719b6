"""REDIS_URL / REDIS_SENTINELS name a Sentinel-watched master; a setting that cannot work is refused at startup."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from jobs.redis_connection import RedisTarget
from jobs.settings import Settings


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_a_sentinel_url_names_the_sentinels_the_master_the_database_and_the_password() -> None:
    target = settings(redis_url="redis+sentinel://:s%40cret@a.example:26380,b.example,[::1]:26381/cache/2").redis_target
    assert target == RedisTarget(
        sentinels=(("a.example", 26380), ("b.example", 26379), ("::1", 26381)),
        master="cache", db=2, password="s@cret",
    )
    assert settings(redis_url="rediss+sentinel://h:1/mymaster").redis_target.ssl


def test_redis_sentinels_take_the_database_and_password_from_redis_url() -> None:
    target = settings(redis_url="redis://:pw@unused:6379/3", redis_sentinels="s1:26379, s2:26390",
                      redis_sentinel_master="main").redis_target
    assert target == RedisTarget(sentinels=(("s1", 26379), ("s2", 26390)), master="main", db=3, password="pw")


def test_workers_under_arq_get_the_same_sentinels() -> None:
    arq = settings(redis_url="redis+sentinel://h1:26379,h2:26379/mymaster/1").redis_target.arq_settings()
    assert (arq.host, arq.sentinel, arq.sentinel_master, arq.database) == (
        [("h1", 26379), ("h2", 26379)], True, "mymaster", 1)
    assert settings(redis_url="redis://r:6380/4").redis_target.arq_settings().port == 6380


@pytest.mark.parametrize(("values", "message"), [
    ({"redis_url": "redis+sentinel://h:26379/mymaster/0", "redis_sentinels": "h:26379"}, "not both"),
    ({"redis_url": "redis+sentinel://h:26379/"}, "names the master"),
    ({"redis_url": "redis+sentinel://h:port/mymaster"}, "not a sentinel host:port"),
    ({"redis_url": "redis+sentinel://h/mymaster/zero"}, "not a database number"),
    ({"redis_url": "http://h/"}, "REDIS_URL must start with"),
])
def test_a_redis_setting_that_cannot_work_is_refused_at_startup(values: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**values)
