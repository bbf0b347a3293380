"""Reads of the song catalog. The catalog is shared: every signed-in user sees all of it."""

import csv
from collections.abc import Iterable
from typing import TextIO

import numpy as np
from django.db.models import Avg, Count, Q, QuerySet

from catalog.models import Mood, Song
from catalog.mood_regions import (
    PLANE_FEATURES,
    REGION_SONGS_LEAST,
    RegionRule,
    own_songs_per_region,
    region_problems,
)
from catalog.schema import FIELD_OF_COLUMN, KAGGLE_COLUMNS
from catalog.spreadsheet import escape_cell

# The Kaggle file's columns, then genre and subgenre: what the admin exports and the importer reads back.
EXPORT_COLUMNS = (*KAGGLE_COLUMNS, "genre", "subgenre")


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


def mood_centres_labelled() -> dict[int, tuple[float, float]]:
    """Each mood's mean (valence, energy) over the songs labelled with it (given, not predicted); moods
    without labelled songs left out. One grouped query."""
    means = (
        Song.objects.filter(mood__isnull=False, mood_predicted=False)
        .values("mood_id")
        .annotate(valence=Avg("valence"), energy=Avg("energy"))
        .values_list("mood_id", "valence", "energy")
    )
    return {mood_id: (float(valence), float(energy)) for mood_id, valence, energy in means}


def mood_centres_get() -> dict[int, tuple[float, float]]:
    """The centre of each mood's region on the valence x energy plane: the one admins set on the mood, else
    the mean of its labelled songs. A mood without labelled songs has no region (a set centre waits for them).

    The one source of the regions: the moods filled in on songs (services.moods_fill_missing) and the mood
    map the recommender names moods and lists songs by both read it.
    """
    centres = mood_centres_labelled()
    chosen = Mood.objects.filter(pk__in=centres, centre_valence__isnull=False, centre_energy__isnull=False)
    for mood_id, valence, energy in chosen.values_list("id", "centre_valence", "centre_energy"):
        centres[mood_id] = (float(valence), float(energy))
    return centres


def mood_region_problems(*, mood: Mood, centre: tuple[float, float] | None) -> list[str]:
    """Why a mood's region may not be centred there (`None`: at its labelled songs' mean), [] if it may:
    no labelled songs, two regions on top of each other, a region with almost no area, or one holding
    fewer than a list's worth of songs it can list."""
    centres = mood_centres_get()
    if mood.pk not in centres:
        if centre is None:
            return []
        return [f"{mood.name} has no labelled songs yet, so it has no region on the mood map to move."]
    centres[mood.pk] = centre if centre is not None else mood_centres_labelled()[mood.pk]
    names = dict(Mood.objects.filter(pk__in=centres).values_list("id", "name"))
    rule = RegionRule.from_centres(centres)
    problems = region_problems([(names.get(mood_id, str(mood_id)), centres[mood_id]) for mood_id in rule.moods])
    if problems:
        return problems
    rows = list(Song.objects.values_list("mood_id", "mood_predicted", *PLANE_FEATURES).iterator(chunk_size=10_000))
    plane = np.array([row[2:] for row in rows], dtype=np.float64).reshape(len(rows), len(PLANE_FEATURES))
    counts = own_songs_per_region(rule, plane, [row[0] for row in rows], [row[1] for row in rows])
    return [
        f"{names.get(mood_id, mood_id)}'s region would hold only {count} songs of its own mood (a list "
        f"needs {REGION_SONGS_LEAST}): move its centre toward its songs."
        for mood_id, count in counts.items()
        if count < REGION_SONGS_LEAST
    ]


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
