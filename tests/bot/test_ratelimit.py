"""Token buckets per session and per address."""

from __future__ import annotations

from bot.ratelimit import RateLimiter, TokenBuckets


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_refills() -> None:
    clock = Clock()
    limiter = RateLimiter(session_per_minute=20, address_per_minute=120, clock=clock)
    assert all(limiter.check("s1", "10.0.0.1") == 0 for _ in range(20))
    wait = limiter.check("s1", "10.0.0.1")
    assert 2.9 < wait <= 3.0  # one token every 3 s
    clock.now += 3
    assert limiter.check("s1", "10.0.0.1") == 0
    assert limiter.check("s1", "10.0.0.1") > 0


def test_address_limit_spans_sessions_and_refusals_take_no_token() -> None:
    clock = Clock()
    limiter = RateLimiter(session_per_minute=20, address_per_minute=3, clock=clock)
    for session in ("a", "b", "c"):
        assert limiter.check(session, "10.0.0.1") == 0
    assert limiter.check("d", "10.0.0.1") > 0
    assert limiter.check("d", "10.0.0.2") == 0  # another address
    # The refused attempt did not use a token of session d.
    assert limiter.sessions.wait_time("d") == 0


def test_idle_buckets_are_forgotten() -> None:
    clock = Clock()
    buckets = TokenBuckets(60, clock=clock)
    for i in range(100):
        buckets.take(f"k{i}")
    assert len(buckets) == 100
    clock.now += 61
    buckets.sweep()
    assert len(buckets) == 0
