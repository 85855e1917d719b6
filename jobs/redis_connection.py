"""Redis clients built from the settings: one server, or a master found through Sentinel.

`RedisTarget` is where Redis is: a plain URL (`redis://`, `rediss://`,
`unix://`), or a master that Redis Sentinel watches, named by
`redis+sentinel://[user:password@]host:26379,host2:26379/mymaster/0` (TLS to
the master: `rediss+sentinel://`) or by `REDIS_SENTINELS` +
`REDIS_SENTINEL_MASTER`. The web app, its SSE hub, the worker (its commands
and its wake subscription) and the CLI all get their clients here.

What makes a failover transparent: a Sentinel-managed connection asks the
sentinels where the master is every time it connects, and turns a
`READONLY` reply (a master demoted to a replica) into a connection error. So
every client that reconnects after an error — the hub's XREAD loop, the
worker's poll and wake loops, the next web request — lands on the promoted
replica by itself once the sentinels have promoted it. Commands in flight
when the master dies fail; nothing here retries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar, overload
from urllib.parse import unquote

from arq.connections import RedisSettings
from redis.asyncio import BlockingConnectionPool, ConnectionPool, Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool

SENTINEL_SCHEMES = ("redis+sentinel://", "rediss+sentinel://")
DEFAULT_SENTINEL_PORT = 26379
# Sentinels answer at once or not at all: a sentinel host that is gone must not
# hold up the search for the master (the next sentinel is asked instead).
SENTINEL_TIMEOUT_S = 2.0

ClientT = TypeVar("ClientT", bound=Redis)


class RedisTargetError(ValueError):
    """REDIS_URL / REDIS_SENTINELS do not name a Redis this service can use."""


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """Where Redis is. `sentinels` empty: the single server of `url`."""

    url: str = ""
    sentinels: tuple[tuple[str, int], ...] = ()
    master: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    ssl: bool = False

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    @classmethod
    def from_settings(cls, redis_url: str, sentinels: str = "", sentinel_master: str = "") -> RedisTarget:
        """The target of REDIS_URL, or of REDIS_SENTINELS + REDIS_SENTINEL_MASTER when set.

        With REDIS_SENTINELS, REDIS_URL still gives the database, the password and
        TLS (`rediss://`); its host and port are not used.
        """
        if redis_url.startswith(SENTINEL_SCHEMES):
            if sentinels.strip():
                raise RedisTargetError("set either a redis+sentinel:// REDIS_URL or REDIS_SENTINELS, not both")
            return parse_sentinel_url(redis_url)
        if not sentinels.strip():
            return cls(url=redis_url)
        if redis_url.startswith("unix://"):
            raise RedisTargetError("REDIS_SENTINELS needs a redis:// or rediss:// REDIS_URL (for db and password)")
        options = ConnectionPool.from_url(redis_url).connection_kwargs
        return cls(
            sentinels=parse_sentinel_hosts(sentinels),
            master=sentinel_master or "mymaster",
            db=int(options.get("db", 0)),
            username=options.get("username"),
            password=options.get("password"),
            ssl=redis_url.startswith("rediss://"),
        )

    @overload
    def client(self, *, max_connections: int, wait_s: float | None = None) -> Redis: ...

    @overload
    def client(self, *, max_connections: int, wait_s: float | None = None, redis_class: type[ClientT]) -> ClientT: ...

    def client(self, *, max_connections: int, wait_s: float | None = None,
               redis_class: type[Redis] = Redis) -> Redis:
        """A client with a pool of at most `max_connections`.

        `wait_s`: past the cap, a command waits that long for a connection
        (a blocking pool) instead of failing at once.
        """
        if not self.uses_sentinel:
            pool: ConnectionPool
            if wait_s is None:
                pool = ConnectionPool.from_url(self.url, max_connections=max_connections)
            else:
                pool = BlockingConnectionPool.from_url(self.url, max_connections=max_connections, timeout=wait_s)
            return redis_class(connection_pool=pool)
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(self.sentinels),
            sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT_S, "socket_connect_timeout": SENTINEL_TIMEOUT_S},
        )
        options: dict[str, Any] = {
            "db": self.db, "username": self.username, "password": self.password, "ssl": self.ssl,
            "max_connections": max_connections, "socket_keepalive": True,
        }
        if wait_s is None:
            return sentinel.master_for(self.master, redis_class=redis_class,  # type: ignore[no-any-return]
                                       connection_pool_class=MasterPool, **options)
        return sentinel.master_for(self.master, redis_class=redis_class,  # type: ignore[no-any-return]
                                   connection_pool_class=BlockingMasterPool, timeout=wait_s, **options)

    def arq_settings(self) -> RedisSettings:
        """The same target as arq's `RedisSettings` (for arq's own `Worker` and `create_pool`)."""
        if not self.uses_sentinel:
            return RedisSettings.from_dsn(self.url)
        return RedisSettings(
            host=list(self.sentinels), sentinel=True, sentinel_master=self.master, database=self.db,
            username=self.username, password=self.password, ssl=self.ssl,
        )

    async def current_url(self) -> str:
        """A plain URL of the server to talk to now (the master the sentinels name), for `redis-cli -u`."""
        if not self.uses_sentinel:
            return self.url
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(self.sentinels), socket_timeout=SENTINEL_TIMEOUT_S, socket_connect_timeout=SENTINEL_TIMEOUT_S
        )
        try:
            host, port = await sentinel.discover_master(self.master)
        finally:
            for node in sentinel.sentinels:
                await node.aclose()
        auth = ""
        if self.password is not None:
            auth = f"{self.username or ''}:{self.password}@"
        return f"{'rediss' if self.ssl else 'redis'}://{auth}{host}:{port}/{self.db}"


def parse_sentinel_hosts(hosts: str) -> tuple[tuple[str, int], ...]:
    """`host:port,host:port` (port 26379 when left out; `[::1]:26379` for IPv6)."""
    parsed = []
    for item in hosts.split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("["):
            host, _, tail = item[1:].partition("]")
            port = tail.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        port = port or str(DEFAULT_SENTINEL_PORT)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise RedisTargetError(f"not a sentinel host:port: {item!r}")
        parsed.append((host, int(port)))
    if not parsed:
        raise RedisTargetError("no sentinel named")
    return tuple(parsed)


def parse_sentinel_url(url: str) -> RedisTarget:
    """`redis+sentinel://[user:password@]host:port,host:port/<master>[/<db>]`."""
    scheme, _, rest = url.partition("://")
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    master, _, db = path.split("?", 1)[0].partition("/")
    if not master:
        raise RedisTargetError("a redis+sentinel:// URL names the master: redis+sentinel://host:26379/mymaster/0")
    db = db.strip("/") or "0"
    if not db.isdigit():
        raise RedisTargetError(f"not a database number: {db!r}")
    return RedisTarget(
        sentinels=parse_sentinel_hosts(hosts), master=unquote(master), db=int(db),
        username=username, password=password, ssl=scheme == "rediss+sentinel",
    )


class MasterPool(SentinelConnectionPool):
    """redis-py's Sentinel pool, which also closes its client's connections to the sentinels.

    `Redis.aclose()` disconnects its pool only; without this, the sentinels'
    connections would stay open until the process ends.
    """

    async def disconnect(self, inuse_connections: bool = True) -> None:
        await super().disconnect(inuse_connections)
        if inuse_connections:  # closing, not just dropping idle links to a former master
            for node in self.sentinel_manager.sentinels:
                await node.connection_pool.disconnect()


class BlockingMasterPool(MasterPool, BlockingConnectionPool):
    """A Sentinel pool that waits for a free connection past its cap (as `BlockingConnectionPool`)."""
