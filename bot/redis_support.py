"""Redis for several web-app instances (production profile, docs/production.md).

With ``KRISENLOTSE_REDIS_URL`` set, the instances share through Redis:

- the socket.io message queue (:func:`socketio_manager`): an emit to a room reaches the sockets of that room
  on every instance (a widget on instance A gets the staff reply sent from the console on instance B);
- the rate limits (:class:`SharedRateLimiter`): one token bucket per session and per address for the whole
  cluster, kept in Redis by a Lua script;
- who is online in the staff console (:class:`SharedPresence`), for the availability endpoint and the queue.

Degradation when Redis is unavailable (logged once when it goes and once when it comes back):
socket.io messages reach only the clients of the instance that sent them; rate limits and presence fall
back to each instance's own memory. Nothing fails for the user; when Redis is back, sharing resumes by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import socketio
from aiohttp import web
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from bot.auth import StaffUser
from bot.keys import LIMITER, PRESENCE, SIO
from bot.live import Presence
from bot.ratelimit import RateLimiter, TokenBuckets
from bot.settings import Settings

log = logging.getLogger(__name__)

# Short time-outs: Redis is on the local network; a slow Redis must not hold up a user's message.
CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 1.0
# While Redis is down, try it again at most this often (seconds).
RETRY_INTERVAL = 3.0
PRESENCE_INTERVAL = 2.0
PRESENCE_TTL = 10


class RedisLink:
    """One Redis client with a key prefix and an up/down state that is logged when it changes."""

    def __init__(self, url: str, prefix: str = "krisenlotse:", clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.prefix = prefix
        self.clock = clock
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=COMMAND_TIMEOUT,
            health_check_interval=30, decode_responses=True)
        self.up = True
        self._retry_at = 0.0

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def usable(self) -> bool:
        """True while Redis is up, and once per RETRY_INTERVAL while it is down (a probe)."""
        if self.up:
            return True
        now = self.clock()
        if now >= self._retry_at:
            self._retry_at = now + RETRY_INTERVAL
            return True
        return False

    def failed(self, exc: BaseException) -> None:
        if self.up:
            log.warning("Redis (%s) is unavailable (%s): rate limits and staff presence now count per instance, "
                        "socket.io messages reach only this instance's clients", self.where(), type(exc).__name__)
        self.up = False
        self._retry_at = self.clock() + RETRY_INTERVAL

    def succeeded(self) -> None:
        if not self.up:
            log.warning("Redis (%s) is reachable again: rate limits, presence and socket.io are shared again",
                        self.where())
        self.up = True

    def where(self) -> str:
        return self.url.split("@")[-1]

    async def ping(self) -> bool:
        try:
            await self.client.ping()
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self.failed(exc)
            return False
        self.succeeded()
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.aclose()


# --- socket.io -------------------------------------------------------------------------------------------

class SocketioRedisManager(socketio.AsyncRedisManager):
    """python-socketio's Redis manager that logs an outage once instead of twice per emit.

    An emit is always delivered to this instance's own clients first (python-socketio does that), then
    published for the other instances; while Redis is down, the publication is skipped (and retried for the
    next emit at most every RETRY_INTERVAL)."""

    def __init__(self, url: str, channel: str, link: RedisLink) -> None:
        super().__init__(url, channel=channel, redis_options={"socket_connect_timeout": CONNECT_TIMEOUT},
                         logger=_QuietLogger())
        self.link = link

    async def _publish(self, data: Any) -> Any:
        if not self.link.usable():
            return None
        try:
            if not self.connected:
                self._redis_connect()
            result = await asyncio.wait_for(self.redis.publish(self.channel, self.json.dumps(data)),
                                            COMMAND_TIMEOUT * 2)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self.connected = False
            self.link.failed(exc)
            return None
        self.link.succeeded()
        return result

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """As python-socketio's, but retries at least every RETRY_INTERVAL (its back-off grows to 60 s, so
        the instances would stay apart for up to a minute after Redis is back)."""
        subscribed = False
        while True:
            try:
                if not subscribed:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    subscribed = True
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: reconnect
                self.link.failed(exc)
                subscribed = False
                await asyncio.sleep(RETRY_INTERVAL)


    async def close(self) -> None:
        """Stop the subscriber task and close the connections (python-socketio leaves them running)."""
        thread = getattr(self, "thread", None)
        if thread is not None and not thread.done():
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError, Exception):
                await asyncio.wait_for(thread, 3)
        for resource in (self.pubsub, self.redis):
            if resource is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(resource.aclose(), 3)
        self.connected = False


class _QuietLogger(logging.LoggerAdapter):
    """python-socketio logs every failed attempt of its Redis listener at ERROR; RedisLink logs the outage
    once, so these go to DEBUG."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("bot.redis_support.socketio"), {})

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        self.debug(msg, *args, **kwargs)


def socketio_manager(url: str, prefix: str, link: RedisLink) -> SocketioRedisManager:
    return SocketioRedisManager(url, channel=f"{prefix}socketio", link=link)


# --- rate limits -----------------------------------------------------------------------------------------

# Token bucket in Redis: refill by elapsed time (Redis's clock, the same for all instances), take ``take``
# tokens (0 = just read), keep the bucket until it would be full again. Returns the tokens left.
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local take = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1])
local ts = tonumber(b[2])
if tokens == nil or ts == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate) - take
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return tostring(tokens)
"""

MAX_PENDING_SYNCS = 1000


class SharedRateLimiter(RateLimiter):
    """The rate limits of all instances together, kept in Redis.

    The decision stays synchronous (the gateway asks ``check``): each instance decides with its local
    buckets, which mirror the Redis buckets — every token it takes is also taken in Redis, and Redis's answer
    (the tokens the whole cluster has left) replaces the local bucket. :meth:`refresh` reads the Redis
    buckets before a decision where the caller can wait for it (the socket.io channel). The cluster may
    therefore let through at most one message per instance more than the limit before all instances see it.
    Without Redis the local buckets alone decide (per-instance limits)."""

    def __init__(self, link: RedisLink, session_per_minute: int, address_per_minute: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(session_per_minute, address_per_minute, clock=clock)
        self.link = link
        self._script = link.client.register_script(_BUCKET_LUA)
        self._tasks: set[asyncio.Task[None]] = set()

    def _keys(self, session_id: str | None, address: str | None) -> list[tuple[TokenBuckets, str, str]]:
        keys = [(self.addresses, address or "-", self.link.key("rl", "a", address or "-"))]
        if session_id:
            keys.append((self.sessions, session_id, self.link.key("rl", "s", session_id)))
        return keys

    async def _sync(self, keys: list[tuple[TokenBuckets, str, str]], take: int) -> None:
        if not self.link.usable():
            return
        try:
            results = []
            for buckets, _local, redis_key in keys:
                ttl = math.ceil(buckets.capacity / buckets.rate) + 60
                results.append(await self._script(keys=[redis_key],
                                                  args=[buckets.capacity, buckets.rate, take, ttl]))
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self.link.failed(exc)
            return
        self.link.succeeded()
        for (buckets, local_key, _redis_key), tokens in zip(keys, results, strict=True):
            buckets.set_tokens(local_key, float(tokens), buckets.clock())

    async def refresh(self, session_id: str | None, address: str | None) -> None:
        """Bring the local buckets of this session and address up to the cluster's state (takes no token)."""
        await self._sync(self._keys(session_id, address), 0)

    def check(self, session_id: str | None, address: str | None) -> float:
        wait = super().check(session_id, address)
        if wait == 0 and len(self._tasks) < MAX_PENDING_SYNCS:
            with contextlib.suppress(RuntimeError):  # no running loop (unit tests): local only
                task = asyncio.get_running_loop().create_task(self._sync(self._keys(session_id, address), 1))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        return wait

    async def drain(self) -> None:
        """Wait until every token taken so far is also taken in Redis (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


# --- staff presence --------------------------------------------------------------------------------------

class SharedPresence(Presence):
    """Console sockets of all instances: each instance writes its own into Redis every PRESENCE_INTERVAL
    (and at once when one connects or leaves) with a short expiry, and reads the others' back. The sync
    readers (``staff_online``, ``by_unit``) answer from that copy; without Redis, from this instance alone."""

    def __init__(self, link: RedisLink) -> None:
        super().__init__()
        self.link = link
        self.instance = uuid.uuid4().hex
        self.remote: dict[str, StaffUser] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, sid: str, user: StaffUser) -> None:
        super().add(sid, user)
        self._changed.set()

    def remove(self, sid: str) -> None:
        super().remove(sid)
        self._changed.set()

    def _users(self) -> list[StaffUser]:
        return [*self.sockets.values(), *self.remote.values()]

    def staff_online(self, unit: str) -> int:
        return len({u.id for u in self._users() if u.member_of(unit)})

    def by_unit(self) -> dict[str, int]:
        users: dict[str, set[int]] = {}
        for user in self._users():
            for unit in user.units:
                users.setdefault(unit, set()).add(user.id)
        return {unit: len(ids) for unit, ids in users.items()}

    async def sync(self) -> None:
        """Publish this instance's sockets and read the other instances' (one round trip each way)."""
        if not self.link.usable():
            if not self.link.up:
                self.remote = {}
            return
        mine = {sid: {"id": u.id, "email": u.email, "name": u.name, "role": u.role, "units": sorted(u.units)}
                for sid, u in self.sockets.items()}
        pattern = self.link.key("presence", "*")
        own_key = self.link.key("presence", self.instance)
        try:
            await self.link.client.set(own_key, json.dumps(mine), ex=PRESENCE_TTL)
            keys = [k async for k in self.link.client.scan_iter(match=pattern, count=200) if k != own_key]
            values = await self.link.client.mget(keys) if keys else []
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            self.link.failed(exc)
            self.remote = {}
            return
        self.link.succeeded()
        remote: dict[str, StaffUser] = {}
        for key, raw in zip(keys, values, strict=True):
            try:
                for sid, u in json.loads(raw or "{}").items():
                    remote[f"{key}/{sid}"] = StaffUser(id=int(u["id"]), email=u["email"], name=u["name"],
                                                       role=u["role"], units=frozenset(u["units"]))
            except (ValueError, KeyError, TypeError):
                log.warning("Ignoring an unreadable presence entry in Redis (%s)", key)
        self.remote = remote

    async def run(self) -> None:
        while True:
            await self.sync()
            self._changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), PRESENCE_INTERVAL)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
            await self.link.client.delete(self.link.key("presence", self.instance))


# --- wiring (bot/app.py) -----------------------------------------------------------------------------------

REDIS_LINK = web.AppKey("redis_link", RedisLink)


def link_for(config: Settings) -> RedisLink | None:
    """The app's Redis link when KRISENLOTSE_REDIS_URL is set (production profile), else None."""
    return RedisLink(config.redis_url, config.redis_prefix) if config.redis_url else None


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """While the app runs: say whether Redis answers, keep the staff presence in Redis; close at the end."""
    link = app[REDIS_LINK]
    if await link.ping():
        log.info("Redis %s: socket.io, rate limits and staff presence are shared between instances",
                 link.where())
    presence = app[PRESENCE]
    if isinstance(presence, SharedPresence):
        presence.start()
    yield
    if isinstance(presence, SharedPresence):
        await presence.stop()
    limiter = app[LIMITER]
    if isinstance(limiter, SharedRateLimiter):
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(limiter.drain(), 5)
    manager = app[SIO].manager
    if isinstance(manager, SocketioRedisManager):
        await manager.close()
    await link.close()
