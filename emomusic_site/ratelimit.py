"""Fixed-window rate limits kept in a cache that every web process shares.

The "ratelimit" cache is the database by default, so the limits hold across
gunicorn workers and machines without Redis, and keep working when Redis is
down. Set RATELIMIT_CACHE_URL to a Redis URL to move them there.
"""

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest


@dataclass(frozen=True)
class Limit:
    count: int
    window_seconds: int


class RateLimited(Exception):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Too many attempts. Try again in {retry_after_seconds} seconds.")
        self.retry_after_seconds = retry_after_seconds


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a proxy we
    # trust sets it, and gunicorn's forwarded_allow_ips rewrites REMOTE_ADDR then.
    return request.META.get("REMOTE_ADDR", "unknown")


def rate_limit_hit(*, scope: str, key: str) -> None:
    """Count one attempt for (scope, key); raise RateLimited past the scope's limit."""
    if not settings.RATE_LIMITS_ENABLED:
        return
    limit = Limit(*settings.RATE_LIMITS[scope])
    window = int(time.time()) // limit.window_seconds
    digest = hashlib.sha256(key.lower().encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{window}"
    cache = caches["ratelimit"]
    # add() is a no-op when the key exists, so the first hit of a window sets 1.
    if cache.add(cache_key, 1, timeout=limit.window_seconds):
        attempts = 1
    else:
        try:
            attempts = cache.incr(cache_key)
        except ValueError:  # expired between add() and incr()
            cache.set(cache_key, 1, timeout=limit.window_seconds)
            attempts = 1
    if attempts > limit.count:
        retry_after = limit.window_seconds - int(time.time()) % limit.window_seconds
        raise RateLimited(retry_after)
