"""The private internals of libraries that our code still relies on, each with its guard.

A release may change an internal without a deprecation. Each library below is
bounded in pyproject.toml below its next release that could, and each test
here fails, naming the internal and the file that relies on it, when the
installed release no longer offers it as we use it. To raise a bound: install
the new release, run this module, re-read what fails, update the code (and a
fingerprint, for the methods we copy), then raise the bound.

Internals still used (guard: the test named after each group):

arq <0.29 (jobs/worker/runner.py, InstantWorker) - test_arq_worker_*
    Worker.main, Worker.close, Worker._poll_iteration  overridden by copies of arq's own
        (the poll replaced by a wake; redis-py 5's aclose; claiming every free slot): fingerprinted
    Worker.finish_job  overridden by a fenced copy (only while the worker holds the lease): fingerprinted,
        and run_job must still call it with its seven arguments in order
    Worker.finish_failed_job  overridden (the job's own queue, fenced): fingerprinted, and run_job must still
        call it as (job_id, result data)
    Worker.queue_name  one queue per arq Worker; InstantWorker takes several (jobs/queue/lanes.py): every
        method of arq's that reads it is listed, with why it is safe (the shared queue is its queue_name)
    Worker._jobs_started, run_job, handle_sig (drain on SIGTERM, arq's otherwise),
        _cancel_aborted_jobs, heart_beat; run_job awaits on_job_end before it frees the lease
        (run_job is also overridden, signature-guarded: a payload check, then arq's own);
        run_job's start line, whose `delayed=` NoPhantomDelay drops: its format and arguments
    Worker attributes sem, job_counter, tasks, job_tasks, _pool, _handle_signals, ...
httpcore <1.1 (jobs/fetch/transports/httpcore_pool.py, _transport.py) - test_httpcore_*
    AsyncConnectionPool._assign_requests_to_connections  overridden (fingerprinted),
        and its _requests, _connections, _max_connections, _max_keepalive_connections
    AsyncPoolRequest.request, .connection, .is_queued(), .assign_to_connection()
    AsyncHTTP11Connection.MAX_INCOMPLETE_EVENT_SIZE
httpx <0.30 (jobs/fetch/transports/httpcore_transport.py) - test_httpx_*
    AsyncHTTPTransport._pool  swapped for our pool (httpx takes no network backend)
aiohttp <3.15 (jobs/fetch/transports/aiohttp_*.py) - test_aiohttp_*
    ClientSession._retry_connection  set False (no silent resend of a GET)
    TCPConnector._factory, ._loop  our protocol class; BaseConnector._get asks is_connected()
    aiohttp.client_proto.ResponseHandler: feed_data, data_received, is_connected
    aiohttp.helpers.is_ip_address
html-to-markdown <3.22 (jobs/extract/markdown.py) - test_html_to_markdown_*
    html_to_markdown._html_to_markdown: ConversionOptions, PreprocessingOptions, TierStrategy.TIER1, convert
redis <6 (jobs/redis_connection.py, MasterPool) - test_redis_sentinel_*
    SentinelConnectionPool.sentinel_manager, Sentinel.sentinels  closed with the pool;
        disconnect(inuse_connections=False) is its "drop idle links to a former master";
        SentinelConnectionPool and BlockingConnectionPool mixed (both pass keywords on via super())
uvicorn <0.56 (service/http_guard.py, GuardedHttpToolsProtocol) - test_uvicorn_*
    HttpToolsProtocol.__init__, connection_made/lost, data_received, send_400_response,
        on_message_begin, on_header, on_headers_complete, on_message_complete,
        on_response_complete, shutdown  overridden around uvicorn's own (signatures held); shutdown
        reads the cycle's response_started, chunked_encoding, response_complete
    data_received answers any httptools.HttpParserError with send_400_response (our 431 rides
        on it); each RequestResponseCycle calls back on_response_complete; attributes
        transport, parser, cycle (.response_complete), loop
httptools (with uvicorn) - test_uvicorn_*: an exception in a parser callback stops the
    parse and comes out of feed_data as HttpParserCallbackError, an HttpParserError
uvicorn's request cycle (service/sse.py): guarded in tests/repo/test_sse_internals.py.

No longer used (replaced by public APIs): arq's Worker._release_sem_dec_counter_on_complete
(InstantWorker frees a slot in its own done callback), asyncio's _asyncio_future_blocking
(streams/hub.py) and uvicorn's cycle.flow.write_paused (service/sse.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import textwrap
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

import aiohttp
import aiohttp.client_proto
import aiohttp.connector
import aiohttp.helpers
import httpcore
import httptools
import httpx
import pytest
from arq.worker import Worker
from httpcore._async.connection_pool import AsyncPoolRequest
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from jobs.extract import markdown
from jobs.fetch.transports.aiohttp_connector import CheckedResponseHandler, GuardedConnector
from jobs.fetch.transports.httpcore_pool import LinearConnectionPool
from jobs.worker.runner import ARQ_START_LINE


def fingerprint(function: Callable[..., Any]) -> str:
    return hashlib.sha256(textwrap.dedent(inspect.getsource(function)).encode()).hexdigest()[:16]


def changed(distribution: str, internal: str, user: str, what: str) -> str:
    return (f"{distribution} {version(distribution)} changed `{internal}`, which {user} relies on: {what}. "
            f"Re-read it there, adapt, then adjust this guard (tests/repo/test_library_internals.py).")


# ---- arq ----

# Copied into InstantWorker with changes: any change upstream must be looked at.
ARQ_COPIED = {
    "main": "0ecb21ce3368eccd",
    "close": "d14f94e939753f5e",
    "_poll_iteration": "489ccd5a28868742",
    "finish_job": "93bb5bdcf65892e5",
    "finish_failed_job": "103418320f3ae56c",
}
# Every arq Worker method that reads `self.queue_name`, and why InstantWorker, which claims from several
# queues (its kinds' and the shared one, its queue_name), is right with it.
ARQ_QUEUE_NAME_READERS = {
    "__init__": "sets it (the shared queue) and the health-check key from it",
    "main": "overridden (InstantWorker.main)",
    "_poll_iteration": "overridden: claims over every lane (jobs.queue.lanes)",
    "start_jobs": "never called: _poll_iteration no longer does",
    "run_job": "only into serialized results, which are not kept (keep_result 0), and the failure path's "
               "finish_failed_job, overridden",
    "finish_job": "overridden: the job's own queue",
    "finish_failed_job": "overridden: the job's own queue",
    "run_cron": "queues the cron in the shared queue, which every worker takes",
    "record_health": "the health-check line's queue size: the shared queue's",
}
ARQ_CALLED = {
    "_jobs_started": "(self) -> int",
    "_cancel_aborted_jobs": "(self) -> None",
    "heart_beat": "(self) -> None",
    "run_job": "(self, job_id: str, score: int) -> None",
    "handle_sig": "(self, signum: signal.Signals) -> None",
}
ARQ_ATTRIBUTES = (
    "sem", "job_counter", "max_jobs", "tasks", "job_tasks", "loop", "_pool", "_handle_signals",
    "health_check_key", "queue_name", "poll_delay_s", "burst", "max_burst_jobs", "functions",
    "on_startup", "on_shutdown", "ctx", "allow_pick_jobs", "allow_abort_jobs", "on_job_end", "main_task",
)  # fmt: skip
RUNNER = "jobs/worker/runner.py (InstantWorker)"


@pytest.mark.parametrize("name", sorted(ARQ_COPIED))
def test_arq_worker_methods_instant_worker_copies_are_unchanged(name: str) -> None:
    method = getattr(Worker, name, None)
    assert method is not None, changed("arq", f"Worker.{name}", RUNNER, "it is gone")
    assert fingerprint(method) == ARQ_COPIED[name], changed(
        "arq", f"Worker.{name}", RUNNER, "its source differs from the version InstantWorker overrides")


@pytest.mark.parametrize("name", sorted(ARQ_CALLED))
def test_arq_worker_methods_instant_worker_calls_keep_their_signature(name: str) -> None:
    method = getattr(Worker, name, None)
    assert method is not None, changed("arq", f"Worker.{name}", RUNNER, "it is gone")
    assert str(inspect.signature(method)) == ARQ_CALLED[name], changed(
        "arq", f"Worker.{name}", RUNNER, f"its signature is now {inspect.signature(method)}")


def test_arq_worker_run_job_awaits_on_job_end_before_it_frees_the_lease() -> None:
    """The drain requeues a job in on_job_end: its event must be written before another worker can claim it."""
    source = inspect.getsource(Worker.run_job)
    hook, finish = source.find("await self.on_job_end(ctx)"), source.find("self.finish_job(")
    assert 0 <= hook < finish, changed(
        "arq", "Worker.run_job", RUNNER, "it no longer awaits on_job_end before finish_job frees the lease")


def test_arq_worker_run_job_calls_finish_job_with_the_arguments_instant_worker_takes() -> None:
    """InstantWorker.finish_job takes them positionally: a new or reordered argument would be misread."""
    call = inspect.getsource(Worker.run_job).split("self.finish_job(", 1)[-1].split(")", 1)[0]
    assert [part.strip() for part in call.split(",") if part.strip()] == [
        "job_id", "finish", "result_data", "result_timeout_s", "keep_result_forever", "incr_score", "keep_in_progress",
    ], changed("arq", "Worker.run_job", RUNNER, "its call of finish_job, which InstantWorker overrides, changed")


def test_arq_worker_run_job_calls_finish_failed_job_as_instant_worker_takes_it() -> None:
    source = inspect.getsource(Worker.run_job)
    assert source.count("self.finish_failed_job(job_id, result_data") == 2, changed(
        "arq", "Worker.run_job", RUNNER, "its calls of finish_failed_job, which InstantWorker overrides, changed")


def test_arq_worker_methods_that_read_queue_name_are_those_instant_worker_is_right_with() -> None:
    """arq's Worker takes one queue; InstantWorker several. A new reader of `queue_name` must be looked at."""
    readers = {name for name, member in vars(Worker).items()
               if inspect.isfunction(member) and "self.queue_name" in inspect.getsource(member)}
    assert readers == set(ARQ_QUEUE_NAME_READERS), changed(
        "arq", f"the Worker methods reading queue_name ({sorted(readers ^ set(ARQ_QUEUE_NAME_READERS))})", RUNNER,
        "InstantWorker claims from several queues and keeps each job's own")
    assert "_queue_name=self.queue_name" in inspect.getsource(Worker.run_cron), changed(
        "arq", "Worker.run_cron", RUNNER, "the cron is no longer queued in the worker's queue_name (the shared one)")


def test_arq_worker_run_job_start_line_no_phantom_delay_rewrites_is_unchanged() -> None:
    """NoPhantomDelay recognises arq's start line by its format and rewrites its fourth argument."""
    source = inspect.getsource(Worker.run_job)
    assert f"logger.info('{ARQ_START_LINE}', (start_ms - enqueue_time_ms) / 1000, ref, s, extra)" in source, \
        changed("arq", "Worker.run_job", RUNNER, "its start line (format or arguments), which NoPhantomDelay rewrites")
    assert "extra += f' delayed={(start_ms - score) / 1000:0.2f}s'" in source, \
        changed("arq", "Worker.run_job", RUNNER, "the delayed= part of its start line, which NoPhantomDelay drops")


async def test_arq_worker_attributes_instant_worker_reads_are_there() -> None:
    async def job(ctx: dict[str, Any]) -> None:
        return None

    worker = Worker(functions=[job], handle_signals=False)
    missing = [name for name in ARQ_ATTRIBUTES if not hasattr(worker, name)]
    assert missing == [], changed("arq", f"Worker attributes {missing}", RUNNER, "they are gone")
    assert isinstance(worker.sem, asyncio.BoundedSemaphore) and worker.job_counter == 0, changed(
        "arq", "Worker.sem / Worker.job_counter", RUNNER, "the slot bookkeeping InstantWorker._job_ended undoes")


# ---- httpcore and httpx ----

POOL = "jobs/fetch/transports/httpcore_pool.py (LinearConnectionPool)"


def test_httpcore_pool_assignment_that_linear_connection_pool_replaces_is_unchanged() -> None:
    original = httpcore.AsyncConnectionPool._assign_requests_to_connections
    assert fingerprint(original) == "bbebb869706796d8", changed(
        "httpcore", "AsyncConnectionPool._assign_requests_to_connections", POOL,
        "its source differs from the version LinearConnectionPool makes the same decisions as")
    calls = inspect.getsource(httpcore.AsyncConnectionPool.handle_async_request)
    assert "self._assign_requests_to_connections()" in calls, changed(
        "httpcore", "AsyncConnectionPool.handle_async_request", POOL,
        "it no longer assigns requests through _assign_requests_to_connections")


def test_httpcore_pool_state_that_linear_connection_pool_reads_is_there() -> None:
    pool = LinearConnectionPool(max_connections=7, max_keepalive_connections=3)
    for name, expected in (("_requests", []), ("_connections", []), ("_max_connections", 7),
                           ("_max_keepalive_connections", 3)):
        assert getattr(pool, name, None) == expected, changed(
            "httpcore", f"AsyncConnectionPool.{name}", POOL, f"expected {expected!r}")
    request = AsyncPoolRequest(httpcore.Request("GET", "http://example.com/"))
    assert request.is_queued() and request.connection is None, changed(
        "httpcore", "AsyncPoolRequest.is_queued/connection", POOL, "a new request is not queued")
    assert request.request.url.origin == httpcore.Origin(b"http", b"example.com", 80), changed(
        "httpcore", "AsyncPoolRequest.request", POOL, "it does not hold the request")
    assert callable(getattr(request, "assign_to_connection", None)), changed(
        "httpcore", "AsyncPoolRequest.assign_to_connection", POOL, "it is gone")


def test_httpcore_head_limit_the_transports_share_is_there() -> None:
    limit = getattr(httpcore.AsyncHTTP11Connection, "MAX_INCOMPLETE_EVENT_SIZE", None)
    assert isinstance(limit, int) and limit > 0, changed(
        "httpcore", "AsyncHTTP11Connection.MAX_INCOMPLETE_EVENT_SIZE",
        "jobs/fetch/transports/httpcore_transport.py (MAX_HEAD_BYTES)", "it is gone")


async def test_httpx_transport_pool_that_guarded_transport_swaps_is_the_one_it_sends_through() -> None:
    transport = httpx.AsyncHTTPTransport()
    user = "jobs/fetch/transports/httpcore_transport.py (GuardedTransport)"
    assert isinstance(getattr(transport, "_pool", None), httpcore.AsyncConnectionPool), changed(
        "httpx", "AsyncHTTPTransport._pool", user, "it is not an httpcore pool")
    assert "self._pool.handle_async_request(" in inspect.getsource(httpx.AsyncHTTPTransport.handle_async_request), \
        changed("httpx", "AsyncHTTPTransport.handle_async_request", user, "it no longer sends through self._pool")
    await transport.aclose()


# ---- aiohttp ----

TRANSPORT = "jobs/fetch/transports/aiohttp_transport.py"
CONNECTOR = "jobs/fetch/transports/aiohttp_connector.py (GuardedConnector)"


def test_aiohttp_session_retry_connection_is_a_setting_it_reads() -> None:
    assert "_retry_connection" in aiohttp.ClientSession.ATTRS, changed(
        "aiohttp", "ClientSession._retry_connection", TRANSPORT, "it is no longer a session attribute")
    assert "self._retry_connection" in inspect.getsource(aiohttp.ClientSession._request), changed(
        "aiohttp", "ClientSession._retry_connection", TRANSPORT, "ClientSession._request no longer reads it")


async def test_aiohttp_connector_makes_protocols_with_the_factory_guarded_connector_sets() -> None:
    from jobs.fetch.addresses import AddressPolicy
    from jobs.fetch.transports.options import TransportOptions

    options = TransportOptions(AddressPolicy(), max_header_bytes=1024)
    connector = GuardedConnector(options.address_guard(), max_head_bytes=1024, ssl_context=options.ssl_context())
    try:
        factory: Any = getattr(connector, "_factory", None)
        assert callable(factory) and isinstance(factory(), CheckedResponseHandler), changed(
            "aiohttp", "TCPConnector._factory", CONNECTOR, "it does not make our protocol")
        source = inspect.getsource(aiohttp.connector.TCPConnector)
        assert "self._factory" in source, changed(
            "aiohttp", "TCPConnector._factory", CONNECTOR, "the connector no longer makes protocols with it")
        assert "proto.is_connected()" in inspect.getsource(aiohttp.connector.BaseConnector._get), changed(
            "aiohttp", "BaseConnector._get", CONNECTOR, "an idle connection is no longer asked is_connected()")
    finally:
        await connector.close()


def test_aiohttp_response_handler_hooks_checked_response_handler_overrides_are_there() -> None:
    handler = aiohttp.client_proto.ResponseHandler
    expected = {"feed_data": "(self, data: ~_T, size: int = 0) -> None",
                "data_received": "(self, data: bytes) -> None", "is_connected": "(self) -> bool"}
    for name, signature in expected.items():
        method = getattr(handler, name, None)
        assert method is not None and str(inspect.signature(method)) == signature, changed(
            "aiohttp", f"client_proto.ResponseHandler.{name}", CONNECTOR, f"expected {signature}")


def test_aiohttp_ip_literal_check_the_transport_uses_is_there() -> None:
    is_ip = getattr(aiohttp.helpers, "is_ip_address", None)
    assert is_ip is not None and is_ip("127.0.0.1") and is_ip("::1") and not is_ip("example.com"), changed(
        "aiohttp", "helpers.is_ip_address", TRANSPORT, "it is gone or answers differently")


# ---- html-to-markdown ----


def test_html_to_markdown_native_module_markdown_calls_is_there() -> None:
    """The fast path must be the one in use: the fallback costs ~80 us more a page."""
    assert markdown._NATIVE_PREPROCESSING is not None, changed(
        "html-to-markdown", "html_to_markdown._html_to_markdown", "jobs/extract/markdown.py",
        "the native module or its PreprocessingOptions is gone, so every page takes the slow public API")
    converted = markdown._convert("<p>a <a href='/b'>link</a></p>", "https://example.com/x") or ""
    assert converted.strip() == "a [link](https://example.com/b)", changed(
        "html-to-markdown", "html_to_markdown._html_to_markdown.convert", "jobs/extract/markdown.py",
        "its ConversionOptions or convert() no longer take what _convert passes")


def test_html_to_markdown_tier1_scanner_markdown_asks_for_is_there() -> None:
    """Tier 1 (the single-pass scanner, ~2x faster here) is chosen by name: AUTO sends our pages to tier 2."""
    from html_to_markdown import _html_to_markdown as native

    assert markdown._NATIVE_TIER1 == native.TierStrategy.TIER1, changed(
        "html-to-markdown", "html_to_markdown._html_to_markdown.TierStrategy.TIER1", "jobs/extract/markdown.py",
        "the tier-1 strategy is gone or renamed")


def test_redis_sentinel_pool_parts_master_pool_builds_on_are_there() -> None:
    from redis.asyncio import Redis
    from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

    from jobs.redis_connection import BlockingMasterPool

    sentinel = Sentinel([("127.0.0.1", 26379)])  # type: ignore[no-untyped-call]
    pool = BlockingMasterPool("mymaster", sentinel, max_connections=2, timeout=1)
    assert pool.sentinel_manager is sentinel and pool.is_master, "SentinelConnectionPool.sentinel_manager"
    assert all(isinstance(node, Redis) for node in sentinel.sentinels), "Sentinel.sentinels"
    assert (pool.max_connections, pool.timeout) == (2, 1), "BlockingConnectionPool under SentinelConnectionPool"
    assert "inuse_connections=False" in inspect.getsource(SentinelConnectionPool.get_master_address), \
        "SentinelConnectionPool.get_master_address drops idle connections through disconnect()"


# ---- uvicorn (and httptools under it) ----

GUARD = "service/http_guard.py (GuardedHttpToolsProtocol)"
UVICORN_OVERRIDDEN = {
    "__init__": "(self, config: 'Config', server_state: 'ServerState', app_state: 'dict[str, Any]', "
                "_loop: 'asyncio.AbstractEventLoop | None' = None) -> 'None'",
    "connection_made": "(self, transport: 'asyncio.Transport') -> 'None'",
    "connection_lost": "(self, exc: 'Exception | None') -> 'None'",
    "data_received": "(self, data: 'bytes') -> 'None'",
    "send_400_response": "(self, msg: 'str') -> 'None'",
    "on_message_begin": "(self) -> 'None'",
    "on_header": "(self, name: 'bytes', value: 'bytes') -> 'None'",
    "on_headers_complete": "(self) -> 'None'",
    "on_message_complete": "(self) -> 'None'",
    "on_response_complete": "(self) -> 'None'",
    "shutdown": "(self) -> 'None'",
}


@pytest.mark.parametrize("name", sorted(UVICORN_OVERRIDDEN))
def test_uvicorn_httptools_protocol_methods_the_guard_overrides_keep_their_signature(name: str) -> None:
    method = getattr(HttpToolsProtocol, name, None)
    assert method is not None, changed("uvicorn", f"HttpToolsProtocol.{name}", GUARD, "it is gone")
    assert str(inspect.signature(method)) == UVICORN_OVERRIDDEN[name], changed(
        "uvicorn", f"HttpToolsProtocol.{name}", GUARD, f"its signature is now {inspect.signature(method)}")


def test_uvicorn_httptools_protocol_calls_what_the_guard_hooks() -> None:
    received = inspect.getsource(HttpToolsProtocol.data_received)
    assert "except httptools.HttpParserError" in received and "self.send_400_response(" in received, changed(
        "uvicorn", "HttpToolsProtocol.data_received", GUARD,
        "a parser error no longer goes to send_400_response, where a refused header count becomes 431")
    assert "on_response=self.on_response_complete" in inspect.getsource(HttpToolsProtocol.on_headers_complete), \
        changed("uvicorn", "HttpToolsProtocol.on_response_complete", GUARD,
                "a request cycle no longer calls it back, so idle connections would not be timed")


async def test_uvicorn_httptools_protocol_attributes_the_guard_reads_are_there() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    protocol = HttpToolsProtocol(Config(app, http="httptools"), ServerState(), {})
    for name in ("transport", "parser", "cycle", "loop"):
        assert hasattr(protocol, name), changed("uvicorn", f"HttpToolsProtocol.{name}", GUARD, "it is gone")
    assert isinstance(protocol.parser, httptools.HttpRequestParser), changed(
        "uvicorn", "HttpToolsProtocol.parser", GUARD, "it is not an httptools parser (the guard drops it)")


def test_uvicorn_httptools_callback_exception_stops_the_parse_as_a_parser_error() -> None:
    class Refusing:
        headers_completed = False

        def on_header(self, name: bytes, value: bytes) -> None:
            raise ValueError("refused")

        def on_headers_complete(self) -> None:
            self.headers_completed = True

    callbacks = Refusing()
    parser = httptools.HttpRequestParser(callbacks)
    with pytest.raises(httptools.HttpParserError):
        parser.feed_data(b"GET / HTTP/1.1\r\na: b\r\nc: d\r\n\r\n")
    assert not callbacks.headers_completed, changed(
        "httptools", "HttpRequestParser callbacks", GUARD, "the parse goes on after a callback raised")
