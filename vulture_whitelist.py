"""Names vulture cannot see used: a framework, a library or Python itself calls them by name.

`make lint` runs vulture with this file as one more source; each line "uses" a
name. Add a name here only when something outside our code calls it, and say what.
"""

# ruff: noqa: B018

from __future__ import annotations


class _AnyObject:
    """Stands for any object, so that `_.name` reads as a use of `name`."""

    def __getattr__(self, name: str) -> _AnyObject:
        return self


_ = _AnyObject()

# Python: module attributes on demand (PEP 562), and the arguments of __exit__/__aexit__.
_.__getattr__
_.exc_type
_.tb
_.exc_info

# asyncio calls a Protocol's callbacks (bench/).
_.connection_made
_.connection_lost

# arq reads these from a worker's settings and calls these Worker hooks
# (the override is guarded: tests/repo/test_library_internals.py).
_.job_serializer
_.job_deserializer
_.finish_job
_.finish_failed_job

# re2.Options, set for the compiled patterns of crawl scopes and LLM schemas.
_.log_errors
_.never_capture

# httpx calls the cookie jar, httpcore its network backend and pool, aiohttp its
# connector; the private ones are guarded by tests/repo/test_library_internals.py.
_.set_cookie
_.cookie
_.connect_unix_socket
_._assign_requests_to_connections
_._retry_connection
_._factory

# Starlette runs a Response's `background`; uvicorn reads these on its Server.
_.background
_.capture_signals
_.should_exit

# The error tree's documented `robots_disallowed` (jobs/errors.py); crawl pages carry the code.
_.RobotsDisallowed

# A field of Frontier.counts, the snapshot a crawl reads its frontier through.
_.in_flight

# logging reads `job_prefix` through the text format's `%(job_prefix)s` (jobs/logs.py);
# pydantic calls a model's field serializers and dumps its fields (urls_count: clients read it in JSON).
_.job_prefix
_._millisecond_utc
_.urls_count

# uvicorn.Server runs `main_loop` (tests/support/servers.py overrides it to stop at once, not at the next tick).
_.main_loop

# Scrapy reads a spider's start URLs and allowed domains by name (bench/crawl_scrapy.py).
_.start_urls
_.allowed_domains

# Fields clients read in JSON: a run's tick (records, schedules), when a schedule last changed, and the
# `track_changes` a scheduled scrape or crawl submits (change tracking reads it).
_.scheduled_for
_.updated_at
_.track_changes
