"""What the web process holds for its whole life, built once from the settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from redis.asyncio import Redis
from starlette.requests import Request

from jobs.fetch.addresses import AddressPolicy
from jobs.lifecycle.submit import QueueConfig
from jobs.store.records import StoredJob
from streams.autopipeline import AutoPipelineRedis
from streams.coalesce import Coalescer
from streams.hub import FollowerHub
from streams.keys import Keyspace

from .apikeys import KeyVerifier
from .metrics import Metrics
from .settings import WebSettings
from .sse import KEEPALIVE_FRAME, encode_frame
from .tokens import shared_secret

logger = logging.getLogger("scrapestream.service")


@dataclass(slots=True)
class AppState:
    settings: WebSettings
    redis: Redis
    queue: QueueConfig
    policy: AddressPolicy
    hub: FollowerHub
    # The same connections as `redis`, for the short commands of a submit: those of one loop turn
    # go to Redis as one pipeline (streams.autopipeline).
    submits: Redis
    verifier: KeyVerifier
    metrics: Metrics
    records: Coalescer[StoredJob | None] = field(default_factory=Coalescer)
    # Signs link tokens; set at startup (TOKEN_SECRET, or one shared through Redis).
    token_secret: bytes = b""

    async def start(self) -> None:
        await self.hub.start()
        try:
            await self.link_secret()
        except Exception:  # Redis may come up after us; the first request tries again
            logger.warning("could not read the link-token secret from Redis yet", exc_info=True)

    async def link_secret(self) -> bytes:
        if not self.token_secret:
            self.token_secret = await shared_secret(self.redis, self.keys, self.settings.token_secret)
        return self.token_secret

    @property
    def keys(self) -> Keyspace:
        return self.queue.keys

    @classmethod
    def from_settings(cls, settings: WebSettings) -> AppState:
        # A blocking pool: past `redis_max_connections` requests wait for a
        # connection instead of failing, and the process never opens more.
        queue = QueueConfig.from_settings(settings)
        target = settings.redis_target
        redis = target.client(max_connections=settings.redis_max_connections, wait_s=20)
        # The hub's reader blocks in XREAD: it gets a connection of its own.
        reader = target.client(max_connections=1)
        hub = FollowerHub(
            reader, redis, encode=encode_frame, keepalive_frame=KEEPALIVE_FRAME,
            keys=queue.keys,
            buffer_limit=settings.sse_buffer_events,
            buffer_bytes=settings.sse_buffer_bytes,
            send_timeout_s=settings.sse_send_timeout_s,
            keepalive_s=settings.sse_keepalive_s,
            # Under half the streams' MAXLEN, so every entry a tail holds is still in Redis.
            tail_entries=min(1_000, settings.stream_maxlen // 2),
        )
        return cls(
            settings=settings,
            redis=redis,
            submits=AutoPipelineRedis(redis.connection_pool),
            hub=hub,
            verifier=KeyVerifier(redis, queue.keys),
            metrics=Metrics(lambda: hub.follower_count),
            queue=queue,
            policy=AddressPolicy.from_setting(settings.allow_private_addresses, settings.allowed_ports),
        )

    async def aclose(self) -> None:
        await self.hub.stop()
        await self.hub.reader.aclose(close_connection_pool=True)
        await self.redis.aclose(close_connection_pool=True)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.scrapestream
    return state
