"""In-memory token buckets: per session and per client address (one web process; with Redis shared by all
instances: bot.redis_support.SharedRateLimiter)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """One token bucket per key: ``capacity`` tokens, refilled at ``per_minute`` tokens per minute."""

    def __init__(self, per_minute: int, capacity: int | None = None,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(capacity or per_minute)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._since_sweep = 0

    def _refill(self, key: str, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        return bucket

    def wait_time(self, key: str) -> float:
        """Seconds until ``key`` may act again (0 if it may act now); takes no token."""
        bucket = self._refill(key, self.clock())
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def set_tokens(self, key: str, tokens: float, now: float) -> None:
        """Replace a bucket by a state known from elsewhere (bot.redis_support: the cluster's bucket)."""
        self._buckets[key] = _Bucket(min(self.capacity, tokens), now)

    def take(self, key: str) -> None:
        now = self.clock()
        self._refill(key, now).tokens -= 1
        self._since_sweep += 1
        if self._since_sweep >= 1000 or len(self._buckets) > self.max_keys:
            self.sweep(now)

    def sweep(self, now: float | None = None) -> None:
        """Forget buckets that have refilled completely (they behave exactly like new ones)."""
        now = self.clock() if now is None else now
        full_after = self.capacity / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}
        self._since_sweep = 0

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimiter:
    """Messages per session and per address; a message needs a token from both buckets."""

    def __init__(self, session_per_minute: int, address_per_minute: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sessions = TokenBuckets(session_per_minute, clock=clock)
        self.addresses = TokenBuckets(address_per_minute, clock=clock)

    def check(self, session_id: str | None, address: str | None) -> float:
        """0 and one token taken from each bucket if allowed; otherwise the seconds to wait (no token taken)."""
        waits = [self.addresses.wait_time(address or "-")]
        if session_id:
            waits.append(self.sessions.wait_time(session_id))
        wait = max(waits)
        if wait > 0:
            return wait
        self.addresses.take(address or "-")
        if session_id:
            self.sessions.take(session_id)
        return 0.0

    def check_address(self, address: str | None) -> float:
        """Like :meth:`check` for requests without a session (consent, feedback, deletion)."""
        return self.check(None, address)
