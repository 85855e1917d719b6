"""Refused URLs at submit time, through the API, with the address policy a fresh install has.

Every spelling of a refused address or scheme answers 422 naming the `url`
field and creates no job; public addresses next to the refused ranges are
accepted. The fetch-time half (redirects into the refused ranges, followed by
a real worker) is in test_redirects.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis

from jobs.errors import BlockedAddress, InvalidURL, JobError
from jobs.settings import Settings
from service.settings import WebSettings
from tests.fetch.cases import BLOCKED, INVALID
from tests.support.redis_server import RedisServer
from tests.support.stack import Stack, running_stack

B = BlockedAddress
I = InvalidURL  # noqa: E741

# The spellings tests/fetch/cases.py does not already hold, as a client would send them.
MORE_REFUSED: list[tuple[str, type[JobError]]] = [
    ("http://[64:ff9b::7f00:1]/", B),  # NAT64 of 127.0.0.1, hex spelling
    ("http://[::7f00:1]/", B),  # IPv4-compatible, hex spelling
    ("http://[::ffff:10.0.0.1]/", B),
    ("http://[::ffff:a9fe:a9fe]:443/", B),
    ("http://[2002:c0a8:101::]/", B),  # 6to4 of 192.168.1.1
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", B),  # Teredo, client 10.0.0.1
    ("https://[fc00::]/", B),
    ("https://[fdff:ffff::1]/", B),
    ("https://[fe80::1]:443/", B),
    ("https://[febf::1]/", B),
    ("http://[ff05::1:3]/", B),
    ("http://[2001:db8:ffff::1]/", B),
    ("http://[::]/", B),
    ("http://0.0.0.0/", B),
    ("http://0.1.2.3/", B),
    ("http://239.255.255.250/", B),  # SSDP multicast
    ("http://224.0.0.251./", B),
    ("http://255.255.255.255./", B),
    ("http://192.0.0.8/", B),
    ("http://192.88.99.1/", B),
    ("http://192.168.0.1./", B),
    ("http://10.255.255.255/", B),
    ("http://100.64.0.1/", B),
    ("http://100.127.255.254/", B),
    ("http://169.254.169.254/computeMetadata/v1/", B),
    ("http://169.254.170.2/v2/credentials", B),
    ("http://100.100.100.200/latest/meta-data/", B),
    ("HTTPS://LOCALHOST/", B),
    ("http://a.b.localhost/", B),
    ("http://app.LocalHost./", B),
    ("http://127.0.0.2/", B),
    ("http://127.255.255.254/", B),
    ("http://[::1]/", B),
    ("https://[::ffff:127.0.0.1]/", B),
    ("http://user@[::1]/", B),
    ("http://a@10.0.0.1/", B),
    ("http://169.254.169.254@example.com/", I),  # the host is example.com: credentials
    ("FILE:///etc/passwd", I),
    ("file://localhost/etc/passwd", I),
    ("gopher://example.com:70/_", I),
    ("ftp://example.com/", I),
    ("sftp://example.com/", I),
    ("data:,hello", I),
    ("JavaScript:alert(document.domain)", I),
    ("ws://example.com/socket", I),
    ("wss://example.com/socket", I),
    ("view-source:http://127.0.0.1/", I),
    ("blob:http://example.com/uuid", I),
    ("mailto:root@localhost", I),
    ("http:/127.0.0.1/", I),
    ("http://[::1]:/", B),  # an empty port is the default port (WHATWG)
    ("http://[fe80::1%eth0]/", I),
]

# Neighbours of the refused ranges, and public addresses in trick spellings.
PUBLIC = [
    "http://100.63.255.254/",
    "http://100.128.0.1/",
    "http://8.8.8.8/",
    "http://134744072/",  # 8.8.8.8
    "http://0x08080808/",
    "https://1.1.1.1/",
    "http://11.0.0.1/",
    "http://172.15.255.255/",
    "http://172.32.0.1/",
    "http://169.255.0.1/",
    "http://192.169.0.1/",
    "http://198.20.0.1/",
    "http://223.255.255.255/",
    "http://[2001:4860:4860::8888]/",
    "https://[2606:4700:4700::1111]/",
    "http://[64:ff9b::808:808]/",  # NAT64 of 8.8.8.8
    "http://[2002:808:808::1]/",  # 6to4 of 8.8.8.8
    "http://example.com/",
    "https://EXAMPLE.com:443/path?q=1#frag",
    "http://localhost.example.com/",
    "https://example.com./",
]


def case_id(url: str) -> str:
    return ascii(url if len(url) <= 60 else url[:57] + "...")


# {port} and {port6} name ports that no test server listens on: nothing is fetched here.
PORTS = {"port": 8081, "port6": 8082}
REFUSED = [
    pytest.param(url, error, id=case_id(url))
    for url, error in ((t.format(**PORTS), e) for t, e in BLOCKED + INVALID + MORE_REFUSED)
]


def default_settings(redis_url: str) -> WebSettings:
    return WebSettings(
        _env_file=None,
        redis_url=redis_url,
        allow_private_addresses="false",
        allowed_ports="80,443",
        auth_required=False,
        submits_per_minute=0,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def refusing(redis_server: RedisServer) -> AsyncIterator[Stack]:
    """One app for the whole table (no worker: refused jobs must never reach one)."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    async with running_stack(default_settings(redis_server.url), workers=0) as stack:
        yield stack


async def queued_jobs(stack: Stack) -> list[dict[str, object]]:
    response = await stack.client.get("/jobs", params={"status": "queued", "limit": 100})
    assert response.status_code == 200
    jobs: list[dict[str, object]] = response.json()["jobs"]
    return jobs


def test_the_table_is_big_enough() -> None:
    assert len(REFUSED) >= 150
    assert len(PUBLIC) >= 20


def test_a_fresh_install_refuses_private_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ALLOW_PRIVATE_ADDRESSES", "ALLOWED_PORTS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert not settings.private_addresses_allowed
    assert settings.allowed_ports == "80,443"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize(("url", "error"), REFUSED)
async def test_refused_at_submit(refusing: Stack, url: str, error: type[JobError]) -> None:
    response = await refusing.client.post("/jobs", json={"type": "scrape", "url": url})
    assert response.status_code == 422, response.text
    body = response.json()["error"]
    assert (body["code"], body["field"]) == (error.code, "url"), body
    assert body["message"]
    assert await queued_jobs(refusing) == []  # no job was created (accepted ones are cancelled)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("url", PUBLIC, ids=case_id)
async def test_public_addresses_are_not_over_blocked(refusing: Stack, url: str) -> None:
    response = await refusing.client.post("/jobs", json={"type": "scrape", "url": url})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["status"] == "queued"
    assert response.headers["location"] == f"/jobs/{job['id']}"
    # There is no internet here: cancel it rather than let anything try to fetch it.
    cancelled = await refusing.client.delete(f"/jobs/{job['id']}")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
