"""The catalog matrix kept in memory per process, rebuilt when the catalog changes.

Two ways a change is noticed:
* a write in this process (admin, API, importer, tests) through the ORM's
  save/delete signals drops the matrix at once;
* writes by other processes, or bulk writes that send no signal, are caught by
  a fingerprint of the catalog (song count, highest id, latest change; the same
  for moods), read at most once every FINGERPRINT_INTERVAL seconds: on 200,000
  songs that query costs a table scan, too much to pay on every request.
"""

import threading
import time
from typing import Any

from django.db.models import Count, Max
from django.db.models.signals import post_delete, post_save

from catalog.models import Mood, Song
from recommendations.engine import FEATURES, Catalog, SongRow, build_catalog

FINGERPRINT_INTERVAL = 2.0  # seconds

_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], Catalog] | None = None
_checked_at = 0.0


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
    """The matrix for the catalog as it is in the database (at most FINGERPRINT_INTERVAL seconds behind)."""
    global _cached, _checked_at
    cached = _cached
    if cached is not None and time.monotonic() - _checked_at < FINGERPRINT_INTERVAL:
        return cached[1]
    fingerprint = catalog_fingerprint()
    if cached is not None and cached[0] == fingerprint:
        _checked_at = time.monotonic()
        return cached[1]
    with _lock:
        # Another thread may have rebuilt it while this one waited.
        if _cached is not None and _cached[0] == fingerprint:
            return _cached[1]
        catalog = build_catalog(catalog_rows())
        _cached = (fingerprint, catalog)
        _checked_at = time.monotonic()
        return catalog


def catalog_forget(**kwargs: Any) -> None:
    """Drop the cached matrix; the next request rebuilds it (also the receiver of the catalog's signals)."""
    global _cached
    with _lock:
        _cached = None


for _model in (Song, Mood):
    post_save.connect(catalog_forget, sender=_model, dispatch_uid=f"recommendations-forget-{_model.__name__}-save")
    post_delete.connect(catalog_forget, sender=_model, dispatch_uid=f"recommendations-forget-{_model.__name__}-delete")
