"""The catalog matrix kept in memory per process, rebuilt when the catalog changes.

A request asks the database for a cheap fingerprint (song count, highest id,
latest change; the same for moods) and reuses the matrix while it matches, so
an import, an admin edit or an API write is seen by the next request without
any cooperation from the code that wrote it.
"""

import threading
from typing import Any

from django.db.models import Count, Max

from catalog.models import Mood, Song
from recommendations.engine import FEATURES, Catalog, SongRow, build_catalog

_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], Catalog] | None = None


def catalog_fingerprint() -> tuple[Any, ...]:
    songs = Song.objects.aggregate(count=Count("id"), top=Max("id"), changed=Max("updated"))
    moods = Mood.objects.aggregate(count=Count("id"), top=Max("id"))
    return (songs["count"], songs["top"], songs["changed"], moods["count"], moods["top"])


def catalog_rows() -> list[SongRow]:
    fields = ("id", "name", "artist", "genre", "mood_id", "mood_predicted", "popularity", *FEATURES)
    rows = []
    for values in Song.objects.order_by("id").values_list(*fields).iterator(chunk_size=5000):
        record = dict(zip(fields, values, strict=True))
        rows.append(
            SongRow(
                song_id=record["id"],
                title=record["name"],
                artist=record["artist"],
                genre=record["genre"],
                mood_id=record["mood_id"],
                mood_labelled=not record["mood_predicted"],
                popularity=float(record["popularity"]),
                values={name: float(record[name]) for name in FEATURES},
            )
        )
    return rows


def current_catalog() -> Catalog:
    """The matrix for the catalog as it is now in the database."""
    global _cached
    fingerprint = catalog_fingerprint()
    cached = _cached
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    with _lock:
        # Another thread may have rebuilt it while this one waited.
        if _cached is not None and _cached[0] == fingerprint:
            return _cached[1]
        catalog = build_catalog(catalog_rows())
        _cached = (fingerprint, catalog)
        return catalog


def catalog_forget() -> None:
    """Drop the cached matrix (tests, and code that changes songs without touching `updated`)."""
    global _cached
    with _lock:
        _cached = None
