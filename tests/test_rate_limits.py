"""ScopedRateLimit: DRF's sliding window, on the database cache and in one Redis script.

Both backends run in both CI passes: the Redis one against the local Redis (db 14), the
database one on the test database.
"""

from __future__ import annotations

import threading

import pytest
from django.core.cache.backends.redis import RedisCache
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import ScopedRateThrottle

from accounts.throttling import ScopedRateLimit

RATE = "10/min"


class View:
    throttle_scope = "identify"


def redis_cache() -> RedisCache:
    return RedisCache("redis://127.0.0.1:6379/14", {})


@pytest.fixture(params=["database", "redis"])
def backend(request, monkeypatch):
    monkeypatch.setattr(ScopedRateLimit, "THROTTLE_RATES", {"identify": RATE})
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"identify": RATE})
    if request.param == "redis":
        cache = redis_cache()
        monkeypatch.setattr(ScopedRateLimit, "cache", cache)
    else:
        from django.core.cache import cache
    cache.clear()
    yield request.param
    cache.clear()


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(ScopedRateLimit, "timer", lambda self: now[0])
    return now


def ask(address: str = "10.0.0.1") -> ScopedRateLimit:
    request = APIRequestFactory().get("/", REMOTE_ADDR=address)
    request.user = None
    limit = ScopedRateLimit()
    limit.allowed = limit.allow_request(request, View())
    return limit


@pytest.mark.django_db
def test_the_rate_per_period_then_refused_with_drfs_wait(backend, clock):
    assert [ask().allowed for _ in range(10)] == [True] * 10
    clock[0] += 20
    refused = ask()
    assert not refused.allowed
    assert refused.wait() == pytest.approx(40.0)  # until the oldest leaves the window
    assert ask("10.0.0.2").allowed  # every client has its own window
    clock[0] += 39.9
    assert not ask().allowed
    clock[0] += 0.2
    assert [ask().allowed for _ in range(11)] == [True] * 10 + [False]


@pytest.mark.django_db
def test_never_more_than_the_rate_in_any_period(backend, clock):
    passed = []
    for _ in range(600):  # a request every 0.5 s for five minutes
        if ask().allowed:
            passed.append(clock[0])
        clock[0] += 0.5
    assert len(passed) == 50  # 10 in each minute
    for i, start in enumerate(passed):
        assert sum(1 for t in passed[i:] if t < start + 60) <= 10


def test_concurrent_requests_on_redis_never_pass_the_limit(monkeypatch):
    # Redis runs the window as one script; DRF's read-then-write (the database cache)
    # can let concurrent requests past the limit.
    monkeypatch.setattr(ScopedRateLimit, "THROTTLE_RATES", {"identify": RATE})
    cache = redis_cache()
    monkeypatch.setattr(ScopedRateLimit, "cache", cache)
    cache.clear()
    allowed: list[bool] = []

    def client() -> None:
        for _ in range(20):
            allowed.append(ask().allowed)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cache.clear()
    assert allowed.count(True) == 10 and len(allowed) == 80


@pytest.mark.django_db
def test_the_configured_cache_is_the_one_used(monkeypatch):
    """Redis when REDIS_URL is set (CI's second pass), else the database cache."""
    from django.core.cache import cache, caches

    monkeypatch.setattr(ScopedRateLimit, "THROTTLE_RATES", {"identify": RATE})
    cache.clear()
    limit = ask("10.0.0.9")
    assert limit.allowed and limit.key
    if isinstance(caches["default"], RedisCache):
        client = caches["default"]._cache.get_client(write=True)
        key = cache.make_and_validate_key(limit.key)
        assert client.type(key) == b"zset"  # the window, not a pickled list
        assert client.zscore(key, client.zrange(key, 0, 0)[0]) == limit.now
    else:
        assert cache.get(limit.key) == [limit.now]  # DRF's list of request times
    cache.clear()
