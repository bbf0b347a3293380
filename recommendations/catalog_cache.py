"""The catalog matrix kept in memory per process, rebuilt when the catalog changes.

How a change is noticed, cheapest first:
* every save or delete of a song or mood (admin, API), and every bulk write
  that sends `catalog.signals.songs_changed` (the importer, the mood
  classifier, the admin's "set mood"), drops this process's matrix and bumps
  a version number in the cache, which other processes read on each request
  when the cache is shared (Redis, database). RecommendationsConfig.ready()
  connects the receivers;
* every request compares a fast fingerprint: the highest song id, and every
  mood's id with the region centre admins set on it (an index lookup and a
  few rows), which catches bulk inserts and a region moved in another process;
* at most every SLOW_CHECK_SECONDS, the song count and the latest `updated`
  time of any song, which catch deletes and queryset updates that bypass the
  signals. PostgreSQL counts rows by reading them (4 ms at 28,933 songs, on
  the database's CPU, for every request when it was in the fast fingerprint)
  and the latest update is a scan on SQLite (about 150 ms at 200,000 songs).
"""

import logging
import threading
import time
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db.models import Max

from catalog.models import Mood, Song
from catalog.selectors import mood_centres_get
from recommendations.engine import FEATURES, Catalog, CatalogColumns, build_catalog_from_columns, columns_from_rows

logger = logging.getLogger(__name__)

SLOW_CHECK_SECONDS = 30.0
VERSION_KEY = "recommendations:catalog-version"

_lock = threading.Lock()
# (fingerprint, matrix, the moods' region centres as catalog.selectors.mood_centres_get gave them)
_cached: tuple[tuple[Any, ...], Catalog, dict[int, tuple[float, float]]] | None = None
_slow_fingerprint: tuple[float, Any] = (0.0, None)  # (checked at, (song count, latest update))


def catalog_fingerprint(*, slow: bool = True) -> tuple[Any, ...]:
    """What identifies the catalog's current state; `slow` adds the song count and the latest update."""
    global _slow_fingerprint
    top_song = Song.objects.aggregate(top=Max("id"))["top"]
    # The moods are a handful of rows: one query gives their ids (count and highest) and the centres set.
    moods = tuple(Mood.objects.order_by("id").values_list("id", "centre_valence", "centre_energy"))
    checked_at, slow_part = _slow_fingerprint
    if slow or time.monotonic() - checked_at >= SLOW_CHECK_SECONDS:
        # Separate queries on purpose: SQLite answers COUNT(*) from its smallest index, but scans the whole
        # table for COUNT(id) or for a count and a maximum in one query.
        slow_part = (Song.objects.count(), Song.objects.aggregate(changed=Max("updated"))["changed"])
        _slow_fingerprint = (time.monotonic(), slow_part)
    return (top_song, moods, _version(), slow_part)


def _version() -> int:
    try:
        return cache.get(VERSION_KEY, 0)
    except Exception:  # a shared cache that is down must not take the recommendations with it
        return -1


def catalog_columns() -> CatalogColumns:
    """Every song, column by column (one query; about a second for 200,000 songs)."""
    fields = ("id", "name", "artist", "genre", "mood_id", "mood_predicted", "popularity", *FEATURES)
    records = list(Song.objects.order_by("id").values_list(*fields).iterator(chunk_size=10_000))
    if not records:
        return columns_from_rows([])
    columns = list(zip(*records, strict=True))
    return CatalogColumns(
        song_ids=np.array(columns[0], dtype=np.int64),
        titles=list(columns[1]),
        artists=list(columns[2]),
        genres=list(columns[3]),
        mood_ids=np.array([-1 if mood_id is None else mood_id for mood_id in columns[4]], dtype=np.int64),
        labelled=~np.array(columns[5], dtype=bool),
        popularity=np.array(columns[6], dtype=np.float64),
        raw=np.array(columns[7:], dtype=np.float64).T.copy(),
    )


def _current() -> tuple[Catalog, dict[int, tuple[float, float]]]:
    global _cached
    fingerprint = catalog_fingerprint(slow=False)
    cached = _cached
    if cached is not None and cached[0] == fingerprint:
        return cached[1], cached[2]
    with _lock:
        # Another thread may have rebuilt it while this one waited.
        if _cached is not None and _cached[0] == fingerprint:
            return _cached[1], _cached[2]
        fingerprint = catalog_fingerprint(slow=True)
        catalog = build_catalog_from_columns(catalog_columns())
        centres = mood_centres_get()
        _cached = (fingerprint, catalog, centres)
        return catalog, centres


def current_catalog() -> Catalog:
    """The matrix for the catalog as it is in the database (see the module's docstring for how fresh)."""
    return _current()[0]


def current_catalog_and_centres() -> tuple[Catalog, dict[int, tuple[float, float]]]:
    """The matrix and each mood's region centre (catalog.selectors.mood_centres_get), read together and as
    fresh: one freshness check for both."""
    return _current()


def catalog_forget(**kwargs: Any) -> None:
    """Drop the matrix here and tell other processes (also the receiver of the catalog's signals)."""
    global _cached
    with _lock:
        _cached = None
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.add(VERSION_KEY, 1, timeout=None)
    except Exception:
        # The fingerprint still catches the change in other processes, only later.
        logger.warning("Could not bump the catalog version in the cache.", exc_info=True)
