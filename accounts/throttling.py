"""Rate limits per scope (identify, enroll, login): DRF's, in one Redis call on Redis.

DRF's ScopedRateThrottle keeps the times of a client's requests in the window as one
cached list, which it reads, filters and writes back on every request: two cache calls,
and the whole list pickled each time (a client at 3,000 requests a minute has 3,000
floats in it). Between the read and the write another process can do the same, so
concurrent requests can pass a limit. On the Redis cache, :class:`ScopedRateLimit`
keeps those times in a sorted set and runs DRF's rule (drop times older than the
period; refuse when N remain, else add now) as one script: one round trip, nothing
pickled, atomic across processes and machines. The rule, the rates
(REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]), the client identity (user, else address)
and the Retry-After arithmetic are DRF's. On the database cache (no Redis configured) it
is DRF's own.
"""

from __future__ import annotations

import secrets
import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

# KEYS[1]: the client's sorted set; ARGV: now, period (s), limit, a unique member.
# Returns {allowed 0/1, requests in the window, the oldest one's time (a string)}.
_WINDOW = """
local key, now, period, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
local count = redis.call('ZCARD', key)
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')[2] or ARGV[1]
if count >= limit then
  return {0, count, oldest}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(period))
return {1, count + 1, oldest}
"""
_script: Any = None  # redis-py's Script: EVALSHA, loading the script when Redis lacks it
_lock = threading.Lock()


class ScopedRateLimit(ScopedRateThrottle):
    # Not DRF's key: a sorted set, where DRF's entries (if any are left) are lists.
    cache_format = "ratewindow_%(scope)s_%(ident)s"

    def allow_request(self, request: Request, view: Any) -> bool:
        cache = self.cache
        if isinstance(cache, ConnectionProxy):  # DRF's default: django.core.cache.cache
            cache = cache._connections[cache._alias]
        if not isinstance(cache, RedisCache):
            return super().allow_request(request, view)
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        count, period = self.parse_rate(self.rate)
        if count is None or period is None:
            return True
        self.num_requests, self.duration = count, period
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        key = cache.make_and_validate_key(self.key)
        client = cache._cache.get_client(key, write=True)
        self.now = self.timer()
        member = f"{self.now!r}:{secrets.token_hex(6)}"
        allowed, in_window, oldest = _window(client)(
            keys=[key], args=[repr(self.now), period, count, member], client=client
        )
        # What DRF's wait() reads: the requests in the window, oldest last.
        self.history = [float(oldest)] * int(in_window)
        return bool(allowed)


def _window(client: Any) -> Any:
    global _script
    with _lock:
        if _script is None:
            _script = client.register_script(_WINDOW)
        return _script
