"""Redirects into the refused ranges, followed (or not) by a real worker.

A host name that passes the submit-time check but resolves to a refused
address cannot be faked here without changing code, so fetch time is covered
with redirects instead: a page on an admitted loopback address
(ALLOW_PRIVATE_ADDRESSES=127.0.0.2/32) redirects to every refused spelling.
The job fails with a typed error, and a canary on 127.0.0.1 (same port as the
page) and one on ::1 prove that nothing ever knocked. Odd spellings of the
admitted address itself are followed: the guard judges addresses, not spellings.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
import redis

from service.settings import WebSettings
from tests.support.listeners import Canary, server_beside_canary
from tests.support.raw_http import HTTPServer, redirect, reply
from tests.support.redis_server import RedisServer
from tests.support.stack import Stack, running_stack

from .outcome import QUICK_RETRIES, completion, failure

ADMITTED = "127.0.0.2"

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def admitting(redis_server: RedisServer) -> AsyncIterator[Stack]:
    """The app and one worker, with ALLOW_PRIVATE_ADDRESSES and ALLOWED_PORTS read from the environment."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ALLOW_PRIVATE_ADDRESSES", f"{ADMITTED}/32")
        env.setenv("ALLOWED_PORTS", "80,443")
        settings = WebSettings(
            _env_file=None, redis_url=redis_server.url, auth_required=False, submits_per_minute=0,
            fetch_timeout_s=10, **QUICK_RETRIES,
        )
    assert settings.allow_private_addresses == f"{ADMITTED}/32"
    assert settings.allowed_ports == "80,443"
    async with running_stack(settings) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module")
async def twin() -> AsyncIterator[tuple[HTTPServer, Canary]]:
    """A page server on 127.0.0.2 and a canary on 127.0.0.1 with the same port.

    A redirect that kept the port and slipped through to any loopback spelling
    would knock on the canary.
    """
    async with server_beside_canary(ADMITTED) as twins:
        yield twins


# (Location, code): every one must fail the job with that code, the message
# saying which redirect was refused.
REDIRECTS = [
    ("http://127.0.0.1:{port}/", "blocked_address"),
    ("http://127.1:{port}/admin", "blocked_address"),
    ("http://2130706433:{port}/", "blocked_address"),
    ("http://0x7f000001:{port}/", "blocked_address"),
    ("http://0x7f.0.0.1:{port}/", "blocked_address"),
    ("http://0177.0.0.1:{port}/", "blocked_address"),
    ("http://127.000.000.001:{port}/", "blocked_address"),
    ("http://%31%32%37.0.0.1:{port}/", "blocked_address"),
    ("http://127.0.0.1.:{port}/", "blocked_address"),
    ("HTTP://127.0.0.1:{port}/", "blocked_address"),
    ("http://localhost:{port}/", "blocked_address"),
    ("http://LOCALHOST.:{port}/", "blocked_address"),
    ("http://app.localhost:{port}/", "blocked_address"),
    ("http://a@127.0.0.1:{port}/", "blocked_address"),
    ("http://127.0.0.1:{port}\\@example.com/", "blocked_address"),
    ("http:\\\\127.0.0.1:{port}\\", "blocked_address"),
    ("//127.0.0.1:{port}/", "blocked_address"),  # scheme-relative
    ("http://[::1]:{port6}/", "blocked_address"),
    ("http://[::ffff:127.0.0.1]:{port}/", "blocked_address"),
    ("http://[::ffff:7f00:1]:{port}/", "blocked_address"),
    ("http://[::127.0.0.1]:{port}/", "blocked_address"),
    ("http://[64:ff9b::7f00:1]:{port}/", "blocked_address"),
    ("http://[2002:7f00:1::]:{port}/", "blocked_address"),
    ("http://127.0.0.3:{port}/", "blocked_address"),  # next to the admitted address
    ("http://0.0.0.0:{port}/", "blocked_address"),
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "blocked_address"),
    ("http://2852039166/latest/meta-data/", "blocked_address"),
    ("http://0251.0376.0251.0376/latest/meta-data/", "blocked_address"),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", "blocked_address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "blocked_address"),
    ("http://100.100.100.200/latest/meta-data/", "blocked_address"),
    ("http://10.0.0.1/", "blocked_address"),
    ("http://192.168.1.1/", "blocked_address"),
    ("http://100.64.0.1/", "blocked_address"),
    ("http://224.0.0.1/", "blocked_address"),
    ("http://[fc00::1]/", "blocked_address"),
    ("http://[fe80::1]/", "blocked_address"),
    ("http://8.8.8.8:{port}/", "blocked_address"),  # public, but not an allowed port
    ("file:///etc/passwd", "invalid_url"),
    ("gopher://127.0.0.1:{port}/_SET%20pwned%201", "invalid_url"),
    ("dict://127.0.0.1:{port}/info", "invalid_url"),
    ("ftp://127.0.0.1:{port}/", "invalid_url"),
    ("ws://127.0.0.1:{port}/", "invalid_url"),
    ("javascript:alert(1)", "invalid_url"),
    ("data:text/html,<h1>hi</h1>", "invalid_url"),
    ("http://user@[", "invalid_url"),
    ("http://[::1/", "invalid_url"),
    ("http://exa mple.com/", "invalid_url"),
]


def redirect_chain(server: HTTPServer, location: str, canary6: Canary) -> str:
    """/start → /go (same server) → `location`; returns the URL to submit."""
    server.routes["/start"] = redirect("/go", "301 Moved Permanently")
    server.routes["/go"] = redirect(location.format(port=server.port, port6=canary6.port))
    return server.url("/start")


@pytest.mark.parametrize(("location", "code"), REDIRECTS)
async def test_a_redirect_into_a_refused_range_fails_the_job_and_is_never_followed(
    admitting: Stack, twin: tuple[HTTPServer, Canary], canary6: Canary, location: str, code: str
) -> None:
    server, bait = twin

    error = await failure(admitting, redirect_chain(server, location, canary6))

    assert error["code"] == code, error
    assert f"{server.url('/go')} redirected to" in error["message"], error
    # One attempt: a refused address does not become reachable by asking again.
    assert [r.path for r in server.requests] == ["/start", "/go"]
    assert bait.contacted() == 0
    assert canary6.contacted() == 0


@pytest.mark.parametrize(
    "location",
    ["/ok", "//127.0.0.2:{port}/ok", "http://0x7f000002:{port}/ok", "http://0177.0.0.2:{port}/ok",
     "http://127.2:{port}/ok", "HTTP://127.0.0.2.:{port}/ok", "http:\\\\127.0.0.2:{port}\\ok"],
)
async def test_a_redirect_to_the_admitted_address_in_any_spelling_is_followed(
    admitting: Stack, twin: tuple[HTTPServer, Canary], canary6: Canary, location: str
) -> None:
    """The guard refuses by address, not by spelling: odd spellings of an admitted one are fine."""
    server, bait = twin
    server.routes["/ok"] = reply(body=b"<html><title>Arrived</title><p>ok</p></html>")

    summary, document = await completion(admitting, redirect_chain(server, location, canary6))

    assert summary["title"] == "Arrived"
    assert document["url"] == server.url("/ok")  # the spelling the guard checked
    assert [r.path for r in server.requests] == ["/start", "/go", "/ok"]
    assert bait.contacted() == 0


async def test_the_admitted_address_is_fetched_and_only_it(
    admitting: Stack, twin: tuple[HTTPServer, Canary]
) -> None:
    server, bait = twin
    server.routes["/"] = reply(body=b"<html><title>Admitted</title><p>Hello from 127.0.0.2</p></html>")

    summary, document = await completion(admitting, server.url("/"))
    assert summary["title"] == "Admitted"
    assert document["status"] == 200 and document["url"] == server.url("/")

    for refused in (f"http://127.0.0.3:{server.port}/", f"http://127.0.0.1:{server.port}/",
                    f"http://localhost:{server.port}/", f"http://[::ffff:127.0.0.1]:{server.port}/",
                    f"http://[::1]:{server.port}/", f"http://0x7f000003:{server.port}/"):
        response = await admitting.client.post("/jobs", json={"type": "scrape", "url": refused})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("blocked_address", "url"), error
    assert bait.contacted() == 0


async def test_the_worker_still_serves_after_every_refusal(
    admitting: Stack, twin: tuple[HTTPServer, Canary]
) -> None:
    """Runs last: the one worker of this module has refused every redirect above."""
    server, _bait = twin
    server.routes["/after"] = reply(body=b"<html><title>Still here</title><p>ok</p></html>")
    summary, _document = await completion(admitting, server.url("/after"))
    assert summary["title"] == "Still here"
    assert len(admitting.workers) == 1
