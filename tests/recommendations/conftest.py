"""The seed catalog as Song rows, for tests that need a realistic catalog."""

import csv
from pathlib import Path

import pytest

from catalog.models import Mood, Song, release_year_of
from catalog.schema import AUDIO_FEATURES
from recommendations.catalog_cache import catalog_forget

SEED_DIR = Path(__file__).resolve().parents[2] / "catalog" / "seed"


def load_seed_songs(*, with_moods: bool = True) -> list[Song]:
    genres = {row["id"]: row["genre"] for row in csv.DictReader((SEED_DIR / "track_genres.csv").open())}
    moods = {name: Mood.objects.get_or_create(name=name)[0] for name in ("Happy", "Sad", "Calm", "Energetic")}
    songs = []
    for row in csv.DictReader((SEED_DIR / "data_moods.csv").open()):
        songs.append(
            Song(
                spotify_id=row["id"],
                name=row["name"],
                album=row["album"],
                artist=row["artist"],
                release_date=row["release_date"],
                release_year=release_year_of(row["release_date"]),
                popularity=int(row["popularity"]),
                length_ms=int(row["length"]),
                **{name: float(row[name]) for name in AUDIO_FEATURES},
                key=int(row["key"]),
                time_signature=int(row["time_signature"]),
                mood=moods[row["mood"]] if with_moods else None,
                genre=genres.get(row["id"], ""),
            )
        )
    return Song.objects.bulk_create(songs)


@pytest.fixture(autouse=True)
def _fresh_catalog_matrix():
    # Each test builds its own catalog; the in-process matrix must not leak between them.
    catalog_forget()
    yield
    catalog_forget()


@pytest.fixture
def seed_songs(db) -> list[Song]:
    return load_seed_songs()


# The large catalog's six genres (TidyTuesday's), in the spellings catalogs use.
GENRES = ("pop", "rap", "rock", "latin", "r&b", "edm")


def genres_given(songs: list[Song]) -> list[Song]:
    """Give the songs the large catalog's genres in turn, every seventh none and every eleventh written "N/A"
    or in capitals, as imports leave them."""
    for index, song in enumerate(songs):
        genre = GENRES[index % len(GENRES)]
        song.genre = "" if index % 7 == 6 else "N/A" if index % 11 == 10 else genre.upper() if index % 5 == 0 else genre
    Song.objects.bulk_update(songs, ["genre"])
    catalog_forget()
    return songs


@pytest.fixture
def genre_songs(db) -> list[Song]:
    """The seed catalog with the large catalog's six genres (and songs without one)."""
    return genres_given(load_seed_songs())
