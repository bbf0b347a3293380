"""Fixed-window rate limits and the growing log-in delay, kept where every web process shares them.

Both live in the database by default, so the limits hold across gunicorn
workers and machines without Redis, and keep working when Redis is down:
- each fixed window's count is a row of `RateLimitWindow`, counted by one
  atomic statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING, in
  PostgreSQL and SQLite alike). Django's database cache, which counted them
  before, reads a count and then writes it back (six queries an attempt), so two
  attempts at once could count as one;
- the log-in delay's failures are in the "ratelimit" cache. Set
  RATELIMIT_CACHE_URL to a Redis URL to move them there.

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
from django.db import connection
from django.http import HttpRequest

from emomusic_site.errors import RateLimited
from emomusic_site.models import RateLimitWindow


@dataclass(frozen=True)
class Limit:
    count: int
    window_seconds: int


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies if proxy.strip())


def _is_trusted(address: str, networks) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


# An ISP hands each IPv6 customer at least a /64, and its owner may use any of
# its 2**64 addresses: a client is the /64, or every guess could come from a
# fresh address.
IPV6_CLIENT_PREFIX = 64


def _as_client(address: str) -> str:
    """The client an address belongs to as the limits count it: an IPv4 address, or an IPv6 address's /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
    return str(parsed)


def client_address(request: HttpRequest) -> str:
    """The client that made the request, as far as it can be trusted: its IPv4 address or its IPv6 /64.

    gunicorn does not rewrite REMOTE_ADDR from X-Forwarded-For, so behind the TLS
    proxy every request would seem to come from the proxy. The header is read only
    when REMOTE_ADDR is one of settings.TRUSTED_PROXIES (none by default, so a
    header a client sends itself is ignored): walking it from the right, the first
    address that is not a trusted proxy is the client. Anything the proxy did not
    write (entries left of the client) may be forged and is never used.
    """
    return _as_client(_client_ip(request))


def _client_ip(request: HttpRequest) -> str:
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
    now = int(time.time())
    window = now // limit.window_seconds
    digest = hashlib.sha256(key.lower().encode()).hexdigest()[:32]
    attempts = rate_limit_window_count(
        name=f"{scope}:{digest}:{window}", expires_at=(window + 1) * limit.window_seconds, now=now
    )
    if attempts > limit.count:
        retry_after = limit.window_seconds - now % limit.window_seconds
        raise RateLimited(retry_after)


def rate_limit_window_count(*, name: str, expires_at: int, now: int) -> int:
    """Count one attempt in the window `name` and return its attempts so far, in one atomic statement; the
    window's first attempt also deletes the windows that have ended."""
    quote = connection.ops.quote_name
    table = quote(RateLimitWindow._meta.db_table)
    name_column, attempts, expires = (quote(column) for column in ("name", "attempts", "expires_at"))
    with connection.cursor() as cursor:
        # Only quoted table and column names are formatted in; the values are parameters.
        cursor.execute(
            f"INSERT INTO {table} ({name_column}, {attempts}, {expires}) VALUES (%s, 1, %s) "  # noqa: S608
            f"ON CONFLICT ({name_column}) DO UPDATE SET {attempts} = {table}.{attempts} + 1 "
            f"RETURNING {attempts}",
            [name, expires_at],
        )
        (counted,) = cursor.fetchone()
    if counted == 1:
        RateLimitWindow.objects.filter(expires_at__lte=now).delete()
    return counted


# --- The growing log-in delay ------------------------------------------------
# Failed password checks are counted twice: per (account, client) and per
# account from every client together. The first few are free; after that each
# one doubles the wait before the next check, up to LOGIN_MAX_DELAY_SECONDS.
# - Per (account, client), few are free (LOGIN_FREE_FAILURES): one guesser gets
#   ever slower, and nobody slows another person down from their own client.
# - Per account, more are free (LOGIN_ACCOUNT_FREE_FAILURES): guesses spread
#   over many clients meet a ceiling too. That delay is capped, never a lock-out,
#   and it spares the clients where the account's password was given right
#   lately (KNOWN_CLIENT_REMEMBERED_FOR_SECONDS), so strangers cannot slow the
#   owner down where they usually log in.
FAILURES_FORGOTTEN_AFTER_SECONDS = 24 * 60 * 60
KNOWN_CLIENT_REMEMBERED_FOR_SECONDS = 90 * 24 * 60 * 60


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _pair_key(*, username: str, address: str) -> str:
    return f"loginfail:{_digest(username.strip().lower(), address)}"


def _account_key(*, username: str) -> str:
    return f"loginfail-account:{_digest(username.strip().lower())}"


def _known_client_key(*, username: str, address: str) -> str:
    return f"loginknown:{_digest(username.strip().lower(), address)}"


def login_delay_seconds(failures: int, *, free: int | None = None) -> int:
    """How long to wait after this many failures before the next password check (`free`: LOGIN_FREE_FAILURES)."""
    if free is None:
        free = settings.LOGIN_FREE_FAILURES
    if failures <= free:
        return 0
    return min(2 ** min(failures - free - 1, 30), settings.LOGIN_MAX_DELAY_SECONDS)


def _wait_seconds(key: str, *, free: int) -> float:
    failures, last = caches["ratelimit"].get(key, (0, 0.0))
    return last + login_delay_seconds(failures, free=free) - time.time()


def login_delay_check(*, username: str, address: str) -> None:
    """Raise RateLimited while the account must still wait at this client, or anywhere but its known clients."""
    if not settings.RATE_LIMITS_ENABLED:
        return
    wait = _wait_seconds(_pair_key(username=username, address=address), free=settings.LOGIN_FREE_FAILURES)
    if not caches["ratelimit"].get(_known_client_key(username=username, address=address)):
        account_wait = _wait_seconds(_account_key(username=username), free=settings.LOGIN_ACCOUNT_FREE_FAILURES)
        wait = max(wait, account_wait)
    if wait > 0:
        raise RateLimited(max(1, int(wait + 0.999)))


def login_failure_record(*, username: str, address: str) -> None:
    if not settings.RATE_LIMITS_ENABLED:
        return
    cache = caches["ratelimit"]
    now = time.time()
    for key in (_pair_key(username=username, address=address), _account_key(username=username)):
        failures, _last = cache.get(key, (0, 0.0))
        cache.set(key, (failures + 1, now), timeout=FAILURES_FORGOTTEN_AFTER_SECONDS)


def login_failures_clear(*, username: str, address: str) -> None:
    """The right password from this client: its failures go, and it is spared the account's delay from now on.

    The account's own count stays: a guesser elsewhere must not start afresh each time the owner logs in.
    """
    cache = caches["ratelimit"]
    cache.delete(_pair_key(username=username, address=address))
    cache.set(_known_client_key(username=username, address=address), True, timeout=KNOWN_CLIENT_REMEMBERED_FOR_SECONDS)
