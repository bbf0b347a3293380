"""Reads of the song catalog. The catalog is shared: every signed-in user sees all of it."""

import csv
from collections.abc import Iterable
from typing import TextIO

import numpy as np
from django.db.models import Count, Q, QuerySet

from catalog.models import Mood, Song
from catalog.schema import FIELD_OF_COLUMN, KAGGLE_COLUMNS, MOOD_CLASSIFIER_FEATURES
from catalog.spreadsheet import escape_cell

# The Kaggle file's columns, then genre: what the admin exports and the importer reads back.
EXPORT_COLUMNS = (*KAGGLE_COLUMNS, "genre")


def songs_list(*, search: str = "", mood: str = "", genre: str = "") -> QuerySet[Song]:
    """Songs matching a free-text search over name, artist and album, and a mood or genre name (any case)."""
    songs = Song.objects.select_related("mood")
    # A NUL character cannot be part of any song's text, and PostgreSQL refuses it in a query (a 500).
    search, mood, genre = (value.replace("\x00", "").strip() for value in (search, mood, genre))
    if search:
        songs = songs.filter(Q(name__icontains=search) | Q(artist__icontains=search) | Q(album__icontains=search))
    if mood:
        songs = songs.filter(mood__name__iexact=mood)
    if genre:
        songs = songs.filter(genre__iexact=genre)
    return songs.order_by("name", "id")


def moods_with_counts() -> QuerySet[Mood]:
    return Mood.objects.annotate(song_count=Count("songs")).order_by("name")


def mood_training_set() -> tuple[np.ndarray, np.ndarray]:
    """What the mood classifier learns from: the features and mood names of the songs whose mood was given.

    A mood the classifier predicted is left out: it would learn its own guesses.
    """
    labelled = Song.objects.filter(mood__isnull=False, mood_predicted=False)
    rows = list(labelled.values_list("mood__name", *MOOD_CLASSIFIER_FEATURES))
    features = np.array([row[1:] for row in rows], dtype=np.float64).reshape(len(rows), len(MOOD_CLASSIFIER_FEATURES))
    return features, np.array([row[0] for row in rows], dtype=str)


def songs_to_csv(*, songs: Iterable[Song], stream: TextIO) -> int:
    """Write the songs in the Kaggle columns (plus genre), the format the importer reads back; returns how many."""
    writer = csv.writer(stream)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for song in songs:
        writer.writerow([_export_value(song, column) for column in EXPORT_COLUMNS])
        count += 1
    return count


def _export_value(song: Song, column: str) -> object:
    if column == "mood":
        return escape_cell(song.mood.name) if song.mood else ""
    value = getattr(song, FIELD_OF_COLUMN.get(column, column))
    # Numbers (a loudness of -5.2) are never formulas; text is escaped for spreadsheets.
    return escape_cell(value) if isinstance(value, str) else value
