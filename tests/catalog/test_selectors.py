import csv
import io

import pytest

from catalog.models import Mood, Song
from catalog.selectors import (
    EXPORT_COLUMNS,
    mood_centres_get,
    mood_centres_labelled,
    moods_with_counts,
    songs_list,
    songs_to_csv,
)
from catalog.services import songs_import
from tests.factories import MoodFactory, SongFactory


def test_songs_list_searches_name_artist_and_album_in_any_case(db):
    by_name = SongFactory(name="Purple Rain", artist="X", album="Y")
    by_artist = SongFactory(name="A", artist="Deep Purple", album="Y")
    by_album = SongFactory(name="B", artist="X", album="The Purple Album")
    SongFactory(name="Yellow", artist="Coldplay", album="Parachutes")

    assert set(songs_list(search="  pURPLE ")) == {by_name, by_artist, by_album}


def test_songs_list_filters_by_mood_name_in_any_case(db):
    calm = SongFactory(mood=MoodFactory(name="Calm"))
    SongFactory(mood=MoodFactory(name="Happy"))
    SongFactory(mood=None)

    assert list(songs_list(mood="calm")) == [calm]
    assert list(songs_list(mood="No such mood")) == []


def test_songs_list_filters_by_genre_and_combines_filters(db):
    calm = MoodFactory(name="Calm")
    wanted = SongFactory(name="Rain Song", genre="Folk", mood=calm)
    SongFactory(name="Rain Dance", genre="rock", mood=calm)
    SongFactory(name="Other", genre="folk", mood=calm)

    assert list(songs_list(search="rain", mood="Calm", genre="folk")) == [wanted]


def test_songs_list_orders_by_name(db):
    SongFactory(name="b")
    SongFactory(name="a")

    assert [song.name for song in songs_list()] == ["a", "b"]


def test_moods_with_counts(db):
    happy = MoodFactory(name="Happy")
    SongFactory.create_batch(2, mood=happy)
    MoodFactory(name="Empty")

    counts = {mood.name: mood.song_count for mood in moods_with_counts()}

    assert counts["Happy"] == 2
    assert counts["Empty"] == 0


def test_the_mood_regions_learn_only_from_moods_people_gave(db):
    calm = MoodFactory(name="Calm")
    SongFactory(mood=calm, valence=0.1, energy=0.2)
    SongFactory(mood=calm, valence=0.2, energy=0.3)
    SongFactory(mood=MoodFactory(name="Happy"), mood_predicted=True)
    SongFactory(mood=None)

    assert mood_centres_get() == {calm.pk: pytest.approx((0.15, 0.25))}


def test_a_centre_admins_set_takes_the_place_of_the_songs_mean(db):
    calm, sad = MoodFactory(name="Calm"), MoodFactory(name="Sad")
    Mood.objects.filter(pk=calm.pk).update(centre_valence=0.3, centre_energy=0.1)
    SongFactory(mood=calm, valence=0.1, energy=0.2)
    SongFactory(mood=sad, valence=0.2, energy=0.4)
    # A centre set on a mood without labelled songs waits for them: the mood has no region yet.
    waiting = MoodFactory(name="Dreamy", centre_valence=0.9, centre_energy=0.9)
    SongFactory(mood=waiting, mood_predicted=True)

    assert mood_centres_get() == {calm.pk: (0.3, 0.1), sad.pk: pytest.approx((0.2, 0.4))}
    assert mood_centres_labelled()[calm.pk] == pytest.approx((0.1, 0.2))


def test_the_mood_regions_have_nothing_to_learn_from_an_empty_catalog(db):
    Mood.objects.filter(name="Calm").update(centre_valence=0.3, centre_energy=0.1)

    assert mood_centres_get() == {}


def test_exported_songs_reimport_without_changes(db):
    happy = MoodFactory(name="Happy")
    SongFactory(name='Quote "and", comma', release_date="1966-03", release_year=1966, mood=happy, genre="jazz")
    SongFactory(mood=None, genre="")
    stream = io.StringIO()

    count = songs_to_csv(songs=Song.objects.all(), stream=stream)

    assert count == 2
    assert stream.getvalue().splitlines()[0] == ",".join(EXPORT_COLUMNS)
    report = songs_import(csv_file=stream.getvalue().encode())
    assert (report.created, report.updated, report.unchanged, report.skipped) == (0, 0, 2, [])


def test_the_export_cannot_run_formulas_in_a_spreadsheet_and_still_reimports_unchanged(db):
    MoodFactory(name="Happy")
    SongFactory(name='=HYPERLINK("http://evil.example","click")', artist="@dj", album="-5", loudness=-5.25)
    stream = io.StringIO()
    songs_to_csv(songs=Song.objects.all(), stream=stream)

    row = dict(zip(EXPORT_COLUMNS, next(csv.reader(stream.getvalue().splitlines()[1:])), strict=True))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert (row["artist"], row["album"], row["loudness"]) == ("'@dj", "'-5", "-5.25")  # numbers stay numbers

    report = songs_import(csv_file=stream.getvalue().encode())
    assert (report.created, report.updated, report.unchanged, report.skipped) == (0, 0, 1, [])
    assert Song.objects.get().name == '=HYPERLINK("http://evil.example","click")'


def test_exported_songs_rebuild_an_empty_catalog(db):
    happy = MoodFactory(name="Happy")
    original = SongFactory(
        release_date="1966-03",
        release_year=1966,
        mood=happy,
        genre="pop",
        subgenre="dance pop",
        tempo=97.123456789,
        time_signature=None,
    )
    fields = ("spotify_id", "name", "tempo", "valence", "genre", "subgenre", "time_signature")
    expected = {field: getattr(original, field) for field in fields}
    stream = io.StringIO()
    songs_to_csv(songs=Song.objects.all(), stream=stream)
    Song.objects.all().delete()

    report = songs_import(csv_file=stream.getvalue().encode())

    assert report.created == 1
    song = Song.objects.get()
    assert {field: getattr(song, field) for field in expected} == expected
    assert (song.mood, song.release_year) == (happy, 1966)
