"""Fixed-window rate limits and the growing log-in delay, kept in a cache that every web process shares.

The "ratelimit" cache is the database by default, so the limits hold across
gunicorn workers and machines without Redis, and keep working when Redis is
down. Set RATELIMIT_CACHE_URL to a Redis URL to move them there.

Why not django-axes or django-ratelimit (both were weighed):
- django-ratelimit refuses Django's database cache (its check
  django_ratelimit.E003: "does not support atomic increment"), so it would put
  every limit in Redis or memcached, and the limits would go when Redis does.
- django-axes counts failed log-ins only and locks a key out for one fixed
  cool-off, which is also the window its failures are counted in. It has no
  delay that grows with each failure, and it does nothing for sign-ups,
  password-reset emails or uploads, so a second limiter would remain anyway.
"""

import hashlib
import ipaddress
import time
from dataclasses import dataclass
from functools import lru_cache

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


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _is_trusted(address: str, networks) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The address of the client that made the request, as far as it can be trusted.

    gunicorn does not rewrite REMOTE_ADDR from X-Forwarded-For, so behind the TLS
    proxy every request would seem to come from the proxy. The header is read only
    when REMOTE_ADDR is one of settings.TRUSTED_PROXIES (none by default, so a
    header a client sends itself is ignored): walking it from the right, the first
    address that is not a trusted proxy is the client. Anything the proxy did not
    write (entries left of the client) may be forged and is never used.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(remote, networks):
        return remote
    forwarded = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    client = remote
    for entry in reversed([entry for entry in forwarded if entry]):
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            break  # garbage: the last address a trusted proxy vouched for stands
        client = entry
        if not _is_trusted(entry, networks):
            break
    return client


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


# --- The growing log-in delay ------------------------------------------------
# Failed password checks are counted per (account, address). The first few are
# free; after that each one doubles the wait before the next check from that
# address for that account. Keying on both means nobody can lock another person
# out from their own address, and a guesser gets ever slower instead of a fixed
# number of tries per window.
FAILURES_FORGOTTEN_AFTER_SECONDS = 24 * 60 * 60


def _login_key(*, username: str, address: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}\0{address}".encode()).hexdigest()[:32]
    return f"loginfail:{digest}"


def login_delay_seconds(failures: int) -> int:
    """How long to wait after this many failures before the next password check."""
    free = settings.LOGIN_FREE_FAILURES
    if failures <= free:
        return 0
    return min(2 ** min(failures - free - 1, 30), settings.LOGIN_MAX_DELAY_SECONDS)


def login_delay_check(*, username: str, address: str) -> None:
    """Raise RateLimited while the (account, address) pair must still wait."""
    if not settings.RATE_LIMITS_ENABLED:
        return
    failures, last = caches["ratelimit"].get(_login_key(username=username, address=address), (0, 0.0))
    wait = last + login_delay_seconds(failures) - time.time()
    if wait > 0:
        raise RateLimited(max(1, int(wait + 0.999)))


def login_failure_record(*, username: str, address: str) -> None:
    if not settings.RATE_LIMITS_ENABLED:
        return
    key = _login_key(username=username, address=address)
    cache = caches["ratelimit"]
    failures, _last = cache.get(key, (0, 0.0))
    cache.set(key, (failures + 1, time.time()), timeout=FAILURES_FORGOTTEN_AFTER_SECONDS)


def login_failures_clear(*, username: str, address: str) -> None:
    caches["ratelimit"].delete(_login_key(username=username, address=address))
