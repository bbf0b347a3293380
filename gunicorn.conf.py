"""gunicorn's settings for the web process, read from the working directory (Procfile, `make run`, the benches).

Command-line flags still win; these are what production needs whatever starts it.
"""

import ctypes
import ctypes.util

# Recycle each worker after about 20,000 requests, the jitter keeping the workers from restarting together:
# a safety net for memory a worker might keep. Large photo buffers already go back to the system at once
# (post_fork below), and `make bench-load` reports the largest worker's memory after each run. Recycling
# every 1,000 requests, as before, replaced a worker every 20 s at 100 users: each time a third of the
# capacity stopped for about 4 s while the old worker finished its requests. A worker that exits also closes
# its keep-alive connections, which resets a request a client has just sent on one: the likely source of the
# 4 resets one load run had (its log was not kept), and none in the five runs since.
max_requests = 20_000
max_requests_jitter = 2_000

# The site is imported once, in the master, and every worker is forked from it: a new worker starts without
# importing Django, DRF and NumPy again (about 1.4 s of CPU on a 2-core AMD EPYC, taken from the requests
# being served). Nothing opens a connection at import (Django connects on a request's first query, Celery on
# its first publish), so no socket is shared across the fork. The price: changed code is picked up by a
# restart, not by HUP.
preload_app = True

# An idle connection is closed by the client or the proxy in front, never by gunicorn first. When the server
# closes a keep-alive connection as its timer runs out (2 s by default) while the client is already sending its
# next request on it, that request is reset unanswered: the load test's uploads, sent 2-4 s after a user's
# last request, were ("HTTP 0"). nginx keeps idle upstream connections 60 s and most clients less.
keepalive = 75

# glibc's malloc options, set in each worker before its threads start.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def post_fork(server, worker) -> None:
    """Blocks of 128 KB and more are mapped and unmapped on their own, so a freed
    photo buffer goes back to the system at once instead of staying in a heap
    arena (glibc otherwise raises the threshold to 32 MB after the first large
    free); two arenas instead of eight a core for the worker's threads."""
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_MMAP_THRESHOLD, 128 * 1024)
        libc.mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError):  # not glibc: its own allocator decides
        pass


def post_worker_init(worker) -> None:
    """Read the song catalog into the worker before its first request. Otherwise the first request that needs it
    builds it (a third of a second of CPU at 28,933 songs), and the worker's other threads wait on it meanwhile."""
    from django.db import connections

    from recommendations.catalog_cache import current_catalog

    try:
        songs = current_catalog().size
    except Exception:  # the database not reachable yet: the first request that needs the catalog reads it
        worker.log.warning("Could not read the song catalog before the first request.", exc_info=True)
    else:
        worker.log.info("Read the song catalog (%d songs) before the first request.", songs)
    finally:
        # Opened in the worker's main thread, which serves no request: its threads open their own.
        connections.close_all()
