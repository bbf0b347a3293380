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
  few rows), which catches bulk inserts and a region moved in another process.
  It is read in one round trip with the rest of the map's small tables (the
  moods, the emotions' places, the strategies' moves: `catalog_state_read`), so
  a request that needs the map reads the database once for all of it;
* at most every SLOW_CHECK_SECONDS, the song count and the latest `updated`
  time of any song, which catch deletes and queryset updates that bypass the
  signals. PostgreSQL counts rows by reading them (4 ms at 28,933 songs, on
  the database's CPU, for every request when it was in the fast fingerprint)
  and the latest update is a scan on SQLite (about 150 ms at 200,000 songs).
"""

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.cache import cache
from django.db import connection
from django.db.models import Max

from catalog.models import Mood, Song
from catalog.selectors import mood_centres_get
from recommendations.engine import FEATURES, Catalog, CatalogColumns, build_catalog_from_columns, columns_from_rows
from recommendations.models import EmotionPlace, StrategyMove

logger = logging.getLogger(__name__)

SLOW_CHECK_SECONDS = 30.0
VERSION_KEY = "recommendations:catalog-version"

_lock = threading.Lock()
# (fingerprint, matrix, the moods' region centres as catalog.selectors.mood_centres_get gave them)
_cached: tuple[tuple[Any, ...], Catalog, dict[int, tuple[float, float]]] | None = None
_slow_fingerprint: tuple[float, Any] = (0.0, None)  # (checked at, (song count, latest update))


@dataclass(frozen=True)
class CatalogState:
    """The catalog's fast fingerprint and the mood map's small tables, as one query read them."""

    top_song: int | None  # the highest song id
    moods: tuple[Mood, ...]  # every mood, by id
    places: tuple[tuple[str, float, float], ...]  # the emotions' places admins set: (emotion, valence, energy)
    moves: tuple[tuple[str, float], ...]  # the strategies' moves admins set: (strategy, amount)

    @property
    def mood_centres(self) -> tuple[tuple[int, float | None, float | None], ...]:
        return tuple((mood.pk, mood.centre_valence, mood.centre_energy) for mood in self.moods)


# Which of the four reads a row of catalog_state_read's query comes from.
_TOP_SONG, _MOOD, _PLACE, _MOVE = 0, 1, 2, 3


def catalog_state_read() -> CatalogState:
    """The highest song id, the moods, the places and the moves in one round trip (UNION ALL of four small
    reads): the ORM would send four queries, and this runs on every request that shows the map."""
    quote = connection.ops.quote_name
    song, mood, place, move = (quote(model._meta.db_table) for model in (Song, Mood, EmotionPlace, StrategyMove))
    # Only quoted table names and integer constants are formatted in.
    sql = (
        f"SELECT {_TOP_SONG}, MAX(id), NULL, NULL, NULL, NULL FROM {song} "  # noqa: S608
        f"UNION ALL SELECT {_MOOD}, id, name, description, centre_valence, centre_energy FROM {mood} "
        f"UNION ALL SELECT {_PLACE}, NULL, emotion, NULL, valence, energy FROM {place} "
        f"UNION ALL SELECT {_MOVE}, NULL, strategy, NULL, amount, NULL FROM {move}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()
    top_song = next((row[1] for row in rows if row[0] == _TOP_SONG), None)
    moods = sorted(
        (
            Mood(id=row[1], name=row[2], description=row[3], centre_valence=row[4], centre_energy=row[5])
            for row in rows
            if row[0] == _MOOD
        ),
        key=lambda mood: mood.pk,
    )
    return CatalogState(
        top_song=top_song,
        moods=tuple(moods),
        places=tuple((row[2], row[4], row[5]) for row in rows if row[0] == _PLACE),
        moves=tuple((row[2], row[4]) for row in rows if row[0] == _MOVE),
    )


def catalog_fingerprint(*, state: CatalogState, slow: bool) -> tuple[Any, ...]:
    """What identifies the catalog's current state, from this request's read of it; `slow` adds the song count
    and the latest update (also taken when SLOW_CHECK_SECONDS have passed)."""
    global _slow_fingerprint
    checked_at, slow_part = _slow_fingerprint
    if slow or time.monotonic() - checked_at >= SLOW_CHECK_SECONDS:
        # Separate queries on purpose: SQLite answers COUNT(*) from its smallest index, but scans the whole
        # table for COUNT(id) or for a count and a maximum in one query.
        slow_part = (Song.objects.count(), Song.objects.aggregate(changed=Max("updated"))["changed"])
        _slow_fingerprint = (time.monotonic(), slow_part)
    return (state.top_song, state.mood_centres, _version(), slow_part)


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


@dataclass(frozen=True)
class MapState:
    """The catalog matrix, the moods' region centres read with it, and the map's small tables as fresh."""

    catalog: Catalog
    centres: dict[int, tuple[float, float]]  # as catalog.selectors.mood_centres_get gave them
    state: CatalogState


def current_map_state() -> MapState:
    """The matrix (rebuilt when the fingerprint moved) with this request's read of the small tables."""
    global _cached
    state = catalog_state_read()
    fingerprint = catalog_fingerprint(state=state, slow=False)
    cached = _cached
    if cached is not None and cached[0] == fingerprint:
        return MapState(catalog=cached[1], centres=cached[2], state=state)
    with _lock:
        # Another thread may have rebuilt it while this one waited.
        if _cached is None or _cached[0] != fingerprint:
            fingerprint = catalog_fingerprint(state=state, slow=True)
            _cached = (fingerprint, build_catalog_from_columns(catalog_columns()), mood_centres_get())
        return MapState(catalog=_cached[1], centres=_cached[2], state=state)


def current_catalog() -> Catalog:
    """The matrix for the catalog as it is in the database (see the module's docstring for how fresh)."""
    return current_map_state().catalog


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
