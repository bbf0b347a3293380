import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from catalog import services
from catalog.models import Mood, Song
from catalog.services import (
    SkippedRow,
    moods_fill_missing,
    song_create,
    song_delete,
    song_update,
    songs_import,
    songs_set_mood,
)
from catalog.signals import songs_changed
from tests.catalog.conftest import CATALOG_FIXTURES
from tests.factories import MoodFactory, RatingFactory, SongFactory

BAD_ROWS = CATALOG_FIXTURES / "bad_rows.csv"
TIDYTUESDAY = CATALOG_FIXTURES / "tidytuesday_songs.csv"
IMPORTED_IDS = (
    "6f807x0ima9a1j3VPbc7VN",
    "0r7CVbZTWZgbTCYdfa2P31",
    "4QAUGy6k7c3IOAhgWz52r7",
    "69gRFGOWY9OMpFJgFol1u0",
    "1e8PAfcKUYoKkxPhrHqw4x",
)
HEADER = (
    "name,album,artist,id,release_date,popularity,length,danceability,acousticness,energy,instrumentalness,"
    "liveness,valence,loudness,speechiness,tempo,key,time_signature,mood"
)
PRINCE = (
    "1999,1999,Prince,2H7PHVdQ3mXqEHXcvclTB0,1982-10-27,68,379266,0.866,0.137,0.73,0,0.0843,0.625,-8.201,"
    "0.0767,118.523,5,4,Happy"
)


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def happy(db) -> Mood:
    return MoodFactory(name="Happy")


class TestSongsImportBadRows:
    def test_skips_each_bad_row_by_line_and_reason_and_imports_the_rest(self, happy):
        report = songs_import(csv_file=BAD_ROWS)

        assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
        assert [row.line for row in report.skipped] == [3, 5, 7, 9, 10, 11, 12, 13, 14, 15]
        reasons = {row.line: row.reason for row in report.skipped}
        assert reasons[3] == "danceability: Ensure this value is less than or equal to 1.0."
        assert reasons[5] == "id is empty."
        assert reasons[7].startswith("release_date: Enter the release date as YYYY-MM-DD, YYYY-MM or YYYY")
        assert reasons[9] == "tempo: Ensure this value is greater than or equal to 0.001."
        assert reasons[10] == "key: Ensure this value is less than or equal to 11."
        assert reasons[11] == "time_signature: Ensure this value is greater than or equal to 1."
        assert reasons[12] == "popularity: Ensure this value is less than or equal to 100."
        assert "length: Ensure this value is greater than or equal to" in reasons[13]
        assert reasons[14] == "loudness must be a number, not 'loud'."
        assert reasons[15] == "The Spotify id 2H7PHVdQ3mXqEHXcvclTB0 already appeared on line 2."

        assert set(Song.objects.values_list("spotify_id", flat=True)) == {
            "2H7PHVdQ3mXqEHXcvclTB0",
            "dreamy0000000000000001",
            "moodless00000000000001",
            "monthPrecision00000001",
        }
        prince = Song.objects.get(spotify_id="2H7PHVdQ3mXqEHXcvclTB0")
        assert prince.name == "1999"
        assert prince.mood == happy
        assert prince.length_ms == 379266
        assert prince.release_year == 1982
        assert prince.loudness == pytest.approx(-8.201)

    def test_a_new_mood_is_created_and_an_existing_one_matched_in_any_case(self, happy):
        report = songs_import(csv_file=BAD_ROWS)

        assert report.moods_created == ["Dreamy"]
        assert Song.objects.get(spotify_id="dreamy0000000000000001").mood.name == "Dreamy"
        penny_lane = Song.objects.get(spotify_id="monthPrecision00000001")
        assert penny_lane.mood == happy
        assert penny_lane.release_date == "1967-02"
        assert penny_lane.release_year == 1967
        assert not Mood.objects.filter(name="happy").exclude(pk=happy.pk).exists()

    def test_an_empty_mood_is_no_mood_and_the_song_takes_its_regions(self, happy):
        report = songs_import(csv_file=BAD_ROWS)

        moodless = Song.objects.get(spotify_id="moodless00000000000001")
        # Labelled Happy (0.71, 0.62 on average) and Dreamy (0.3, 0.2): (0.5, 0.5) is nearer Happy.
        assert (moodless.mood, moodless.mood_predicted) == (happy, True)
        assert moodless.release_year == 1993
        assert not Mood.objects.filter(name="").exists()
        assert (report.moods_missing, report.moods_filled) == (1, 1)

    def test_a_mood_from_a_skipped_row_is_not_created(self, db):
        songs_import(csv_file=csv_bytes(HEADER, PRINCE.replace(",5,4,Happy", ",12,4,Brandnew")))

        assert not Mood.objects.filter(name="Brandnew").exists()
        assert not Song.objects.exists()

    def test_every_problem_of_a_row_is_named(self, db):
        row = PRINCE.replace("0.866", "2").replace("1982-10-27", "1982-02-30").replace("118.523", "fast")

        report = songs_import(csv_file=csv_bytes(HEADER, row))

        reason = report.skipped[0].reason
        assert "tempo must be a number, not 'fast'." in reason
        assert "danceability: Ensure this value is less than or equal to 1.0." in reason
        assert "release_date:" in reason

    def test_nan_and_infinite_numbers_are_refused(self, db):
        not_a_number = PRINCE.replace("0.625", "nan")
        infinite = PRINCE.replace("-8.201", "inf").replace("2H7", "3H7")

        report = songs_import(csv_file=csv_bytes(HEADER, not_a_number, infinite))

        assert [row.line for row in report.skipped] == [2, 3]
        assert "valence must be a number, not 'nan'." in report.skipped[0].reason
        assert "loudness must be a number, not 'inf'." in report.skipped[1].reason
        assert not Song.objects.exists()

    def test_line_numbers_count_blank_lines_and_quoted_line_breaks(self, db):
        quoted = PRINCE.replace("1999,1999,Prince", '"Nineteen\nNinety-Nine",1999,Prince')
        bad = PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "otherId000000000000000").replace(",5,4,", ",99,4,")
        too_long = PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "longId") + ",extra,fields"

        report = songs_import(csv_file=csv_bytes("", "  ", HEADER, "", quoted, too_long, "", bad))

        assert report.created == 1
        assert report.skipped == [
            SkippedRow(7, "It has 21 fields but the header names 19 columns."),
            SkippedRow(9, "key: Ensure this value is less than or equal to 11."),
        ]
        assert Song.objects.get().name == "Nineteen\nNinety-Nine"


class TestSongsImportIsAnUpsert:
    def test_running_twice_changes_nothing(self, happy):
        songs_import(csv_file=BAD_ROWS)
        before = {song.spotify_id: song.updated for song in Song.objects.all()}

        report = songs_import(csv_file=BAD_ROWS)

        assert (report.created, report.updated, report.unchanged) == (0, 0, 4)
        assert report.moods_created == []
        assert len(report.skipped) == 10
        assert {song.spotify_id: song.updated for song in Song.objects.all()} == before

    def test_only_rows_whose_values_differ_count_as_updated(self, happy):
        songs_import(
            csv_file=csv_bytes(HEADER, PRINCE, PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "secondSong000000000000"))
        )

        more_popular = PRINCE.replace(",68,", ",70,")

        report = songs_import(
            csv_file=csv_bytes(HEADER, more_popular, PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "secondSong000000000000"))
        )

        assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
        assert Song.objects.get(spotify_id="2H7PHVdQ3mXqEHXcvclTB0").popularity == 70

    def test_a_changed_mood_counts_as_updated(self, happy):
        songs_import(csv_file=csv_bytes(HEADER, PRINCE))

        report = songs_import(csv_file=csv_bytes(HEADER, PRINCE.replace("Happy", "Sad")))

        assert report.updated == 1
        assert Song.objects.get().mood.name == "Sad"

    def test_an_empty_mood_keeps_a_mood_the_classifier_predicted(self, happy):
        songs_import(csv_file=csv_bytes(HEADER, PRINCE.removesuffix("Happy")))
        Song.objects.update(mood=happy, mood_predicted=True)

        report = songs_import(csv_file=csv_bytes(HEADER, PRINCE.removesuffix("Happy")))

        assert report.unchanged == 1
        assert Song.objects.get().mood == happy

    def test_a_given_mood_replaces_a_predicted_one(self, happy):
        sad = MoodFactory(name="Sad")
        songs_import(csv_file=csv_bytes(HEADER, PRINCE))
        Song.objects.update(mood=sad, mood_predicted=True)

        report = songs_import(csv_file=csv_bytes(HEADER, PRINCE))

        assert report.updated == 1
        song = Song.objects.get()
        assert (song.mood, song.mood_predicted) == (happy, False)


class TestSongsImportColumns:
    def test_extra_columns_are_ignored(self, happy):
        report = songs_import(csv_file=csv_bytes(HEADER + ",comment,rating", PRINCE + ",lovely,5"))

        assert report.created == 1
        assert report.skipped == []

    def test_columns_may_come_in_any_order(self, happy):
        names = HEADER.split(",")
        values = PRINCE.split(",")
        report = songs_import(csv_file=csv_bytes(",".join(reversed(names)), ",".join(reversed(values))))

        assert report.created == 1
        assert Song.objects.get().artist == "Prince"

    def test_a_missing_required_column_is_a_clear_error(self, db):
        with pytest.raises(ValidationError) as error:
            songs_import(csv_file=CATALOG_FIXTURES / "missing_column.csv")

        assert "lacks the column tempo" in error.value.messages[0]
        assert not Song.objects.exists()

    def test_the_mood_column_is_optional(self, db):
        report = songs_import(csv_file=csv_bytes(HEADER.removesuffix(",mood"), PRINCE.removesuffix(",Happy")))

        assert report.created == 1
        assert Song.objects.get().mood is None

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"", "The CSV file is empty."),
            ((CATALOG_FIXTURES / "not_a_csv.png").read_bytes(), "not a UTF-8 text file"),
            (b'name,"album\n1999,1999', "not a readable CSV file"),
            (b"\n \n\n", "The CSV file is empty."),
        ],
    )
    def test_a_file_that_is_not_a_readable_csv_is_a_clear_error(self, db, content, message):
        with pytest.raises(ValidationError) as error:
            songs_import(csv_file=io.BytesIO(content))

        assert message in error.value.messages[0]

    def test_a_missing_file_is_a_clear_error(self, db, tmp_path: Path):
        with pytest.raises(ValidationError, match="Cannot read the CSV file"):
            songs_import(csv_file=tmp_path / "nowhere.csv")

    def test_a_byte_order_mark_is_accepted(self, happy):
        report = songs_import(csv_file=b"\xef\xbb\xbf" + csv_bytes(HEADER, PRINCE))

        assert report.created == 1

    def test_the_genres_file_fills_genre(self, happy):
        report = songs_import(csv_file=BAD_ROWS, genres_file=CATALOG_FIXTURES / "genres.csv")

        assert report.created == 4
        assert Song.objects.get(spotify_id="2H7PHVdQ3mXqEHXcvclTB0").genre == "funk"
        assert Song.objects.get(spotify_id="monthPrecision00000001").genre == "rock"
        assert Song.objects.get(spotify_id="dreamy0000000000000001").genre == ""

    def test_a_genres_file_without_its_columns_is_an_error(self, happy):
        with pytest.raises(ValidationError, match="genres file lacks the column genre"):
            songs_import(csv_file=BAD_ROWS, genres_file=io.BytesIO(b"id,style\nx,y\n"))

        assert not Song.objects.exists()

    def test_the_seed_catalog_imports_whole(self, seeded_catalog):
        assert (seeded_catalog.created, seeded_catalog.skipped) == (686, [])
        assert Song.objects.count() == 686
        assert Song.objects.filter(mood__name="Calm").count() == 195
        assert Song.objects.exclude(genre="").count() == 686
        prince = Song.objects.get(name="1999")
        assert (prince.artist, prince.genre, prince.mood.name) == ("Prince", "funk", "Happy")


class TestSongWrites:
    def valid_data(self, **changes) -> dict:
        data = {
            "spotify_id": "newSong000000000000001",
            "name": "New Song",
            "album": "New Album",
            "artist": "New Artist",
            "release_date": "2020-05",
            "popularity": 10,
            "length_ms": 123_000,
            "danceability": 0.5,
            "acousticness": 0.5,
            "energy": 0.5,
            "instrumentalness": 0.0,
            "liveness": 0.1,
            "valence": 0.9,
            "loudness": -6.0,
            "speechiness": 0.05,
            "tempo": 100.0,
            "key": 0,
            "time_signature": 4,
            "mood": "happy",
        }
        return {**data, **changes}

    def test_create_derives_the_year_and_finds_the_mood_in_any_case(self, happy):
        song = song_create(data=self.valid_data())

        song.refresh_from_db()
        assert (song.release_year, song.mood) == (2020, happy)

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"danceability": 1.1}, "danceability"),
            ({"tempo": 0}, "tempo"),
            ({"key": -2}, "key"),
            ({"time_signature": 8}, "time_signature"),
            ({"popularity": 101}, "popularity"),
            ({"length_ms": 0}, "length_ms"),
            ({"release_date": "20-05-2020"}, "release_date"),
            ({"loudness": float("nan")}, "loudness"),
            ({"name": ""}, "name"),
            ({"mood": "Unknown"}, "mood"),
        ],
    )
    def test_create_refuses_what_the_importer_refuses(self, happy, changes, field):
        with pytest.raises(ValidationError) as error:
            song_create(data=self.valid_data(**changes))

        assert field in error.value.message_dict
        assert not Song.objects.exists()

    def test_create_refuses_a_taken_spotify_id(self, happy):
        SongFactory(spotify_id="newSong000000000000001")

        with pytest.raises(ValidationError) as error:
            song_create(data=self.valid_data())

        assert "spotify_id" in error.value.message_dict

    def test_update_changes_only_the_given_fields(self, happy):
        song = SongFactory(name="Old", release_date="1999-01-01")

        song_update(song=song, data={"name": "New", "release_date": "1975"})

        song.refresh_from_db()
        assert (song.name, song.release_date, song.release_year, song.popularity) == ("New", "1975", 1975, 50)

    def test_update_can_clear_the_mood(self, happy):
        song = SongFactory(mood=happy)

        song_update(song=song, data={"mood": None})

        song.refresh_from_db()
        assert song.mood is None

    def test_a_refused_update_leaves_the_row_as_it_was(self, happy):
        song = SongFactory(tempo=120.0)

        with pytest.raises(ValidationError):
            song_update(song=song, data={"tempo": -1})

        song.refresh_from_db()
        assert song.tempo == 120.0

    def test_delete_removes_the_song_and_its_ratings(self, happy):
        rating = RatingFactory()

        song_delete(song=rating.song)

        assert not Song.objects.exists()
        assert not type(rating).objects.exists()

    def test_set_mood_replaces_predicted_moods(self, happy):
        sad = MoodFactory(name="Sad")
        songs = [SongFactory(mood=happy, mood_predicted=True), SongFactory(mood=None)]
        untouched = SongFactory(mood=happy)

        count = songs_set_mood(songs=songs, mood=sad)

        assert count == 2
        assert list(Song.objects.filter(mood=sad, mood_predicted=False).order_by("pk")) == songs
        untouched.refresh_from_db()
        assert untouched.mood == happy


class TestMoods:
    def test_mood_names_are_unique_in_any_case(self, happy):
        with pytest.raises(ValidationError):
            Mood(name="HAPPY").full_clean()


class TestSongsImportUnreadableRows:
    """Every row read is imported or listed as skipped with its line, however it is broken."""

    def test_a_cell_over_128_kib_is_a_skipped_row(self, happy):
        huge = PRINCE.replace("1999,1999,Prince", "1999," + "x" * (128 * 1024 + 1) + ",Prince")
        after = PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "afterTheHugeOne0000001")

        report = songs_import(csv_file=csv_bytes(HEADER, huge, after))

        assert report.skipped == [SkippedRow(2, "A cell is longer than 128 KiB, the most a cell may hold.")]
        assert report.created == 1
        assert list(Song.objects.values_list("spotify_id", flat=True)) == ["afterTheHugeOne0000001"]

    def test_an_unterminated_quote_is_a_skipped_row_naming_what_it_swallowed(self, happy):
        second = PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "second0000000000000001")
        opened = PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "opened0000000000000001").replace("1999,1999", '"1999,1999')

        report = songs_import(csv_file=csv_bytes(HEADER, second, opened, PRINCE, PRINCE))

        assert report.created == 1
        assert report.skipped == [
            SkippedRow(
                3,
                "A quote opened on line 3 is never closed, so everything from there to the end of the file "
                "(line 5) was read as one cell.",
            )
        ]
        assert Song.objects.get().spotify_id == "second0000000000000001"

    def test_a_stray_quote_is_a_skipped_row(self, happy):
        stray = PRINCE.replace("1999,1999,Prince", '"1999"x,1999,Prince')

        report = songs_import(csv_file=csv_bytes(HEADER, stray))

        assert [row.line for row in report.skipped] == [2]
        assert "quote" in report.skipped[0].reason
        assert not Song.objects.exists()

    def test_a_nul_byte_is_a_skipped_row_not_a_database_error(self, happy):
        nul = PRINCE.replace("1999,1999,Prince", "19\x0099,1999,Prince")
        other = PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "other00000000000000001")

        report = songs_import(csv_file=csv_bytes(HEADER, nul, other))

        assert report.skipped == [
            SkippedRow(2, "It holds a NUL character (a zero byte), which no song's text may contain.")
        ]
        assert list(Song.objects.values_list("spotify_id", flat=True)) == ["other00000000000000001"]

    def test_a_nul_byte_in_the_genres_file_is_listed_and_the_rest_is_read(self, happy):
        genres = io.BytesIO(b"id,genre\n2H7PHVdQ3mXqEHXcvclTB0,fu\x00nk\nmonthPrecision00000001,rock\n")

        report = songs_import(csv_file=BAD_ROWS, genres_file=genres)

        assert (
            SkippedRow(
                2, "In the genres file: It holds a NUL character (a zero byte), which no song's text may contain."
            )
            in report.skipped
        )
        assert Song.objects.get(spotify_id="2H7PHVdQ3mXqEHXcvclTB0").genre == ""
        assert Song.objects.get(spotify_id="monthPrecision00000001").genre == "rock"

    def test_a_row_with_fewer_cells_names_the_empty_required_ones(self, happy):
        report = songs_import(csv_file=csv_bytes(HEADER, ",".join(PRINCE.split(",")[:16])))

        assert report.skipped == [SkippedRow(2, "key is empty.")]


class TestSongsImportInBatches:
    @pytest.fixture(autouse=True)
    def _small_batches(self, monkeypatch):
        monkeypatch.setattr(services, "IMPORT_BATCH_ROWS", 2)

    def test_every_row_is_counted_across_batches(self, happy):
        report = songs_import(csv_file=BAD_ROWS)

        assert (report.created, report.updated, report.unchanged) == (4, 0, 0)
        assert [row.line for row in report.skipped] == [3, 5, 7, 9, 10, 11, 12, 13, 14, 15]
        # The duplicate on line 15 is caught though line 2 was written four batches earlier.
        assert report.skipped[-1].reason == "The Spotify id 2H7PHVdQ3mXqEHXcvclTB0 already appeared on line 2."
        assert Song.objects.count() == 4

    def test_a_mood_created_in_one_batch_serves_the_next(self, db):
        first = PRINCE.replace("Happy", "Dreamy")
        rows = [first.replace("2H7PHVdQ3mXqEHXcvclTB0", f"dreamy{index:016d}") for index in range(5)]

        report = songs_import(csv_file=csv_bytes(HEADER, *rows))

        assert report.created == 5
        assert report.moods_created == ["Dreamy"]
        assert Song.objects.filter(mood__name="Dreamy").count() == 5

    def test_each_batch_that_writes_tells_the_listeners_once_it_commits(
        self, happy, django_capture_on_commit_callbacks
    ):
        calls = []
        songs_changed.connect(lambda **kwargs: calls.append(kwargs["sender"]), weak=False, dispatch_uid="test-batch")
        try:
            with django_capture_on_commit_callbacks(execute=True):
                songs_import(csv_file=BAD_ROWS)
                songs_import(csv_file=BAD_ROWS)
        finally:
            songs_changed.disconnect(dispatch_uid="test-batch")

        # 14 rows in batches of 2: the four batches holding a valid row write, then the moods filled in; the
        # second import writes nothing.
        assert calls == [Song] * 5


class TestMissingMoods:
    def test_the_import_fills_missing_moods_and_says_how_many(self, seeded_catalog):
        new = PRINCE.replace("2H7PHVdQ3mXqEHXcvclTB0", "0000000000000000000new").removesuffix("Happy")
        quiet = (
            "Quiet Thing,Album,Someone New,0000000000000000quiet1,2020-01-01,10,200000,"
            "0.2,0.95,0.05,0.9,0.1,0.1,-25.0,0.04,70.0,5,4,"
        )

        report = songs_import(csv_file=csv_bytes(HEADER, new, quiet))

        assert (report.created, report.moods_missing, report.moods_filled) == (2, 2, 2)
        assert report.moods_filled_by.startswith("mood map's regions")
        assert f"Filled the missing mood of 2 songs with the {report.moods_filled_by}." in report.summary()
        song = Song.objects.get(spotify_id="0000000000000000quiet1")
        assert (song.mood.name, song.mood_predicted) == ("Calm", True)
        assert not Song.objects.filter(mood__isnull=True).exists()

    def test_without_songs_to_learn_from_the_report_says_why_moods_stay_empty(self, db):
        report = songs_import(csv_file=csv_bytes(HEADER, PRINCE.removesuffix("Happy")))

        assert (report.moods_missing, report.moods_filled) == (1, 0)
        assert "1 song without a mood kept none" in report.summary()
        assert Song.objects.get().mood is None

    def test_fill_gives_each_unlabelled_song_the_mood_of_the_nearest_centroid(self, db):
        calm, happy = MoodFactory(name="Calm"), MoodFactory(name="Happy")
        SongFactory(mood=calm, valence=0.1, energy=0.1)
        SongFactory(mood=calm, valence=0.3, energy=0.1)  # Calm's centroid: (0.2, 0.1)
        SongFactory(mood=happy, valence=0.8, energy=0.8)
        SongFactory(mood=happy, valence=0.4, energy=0.6, mood_predicted=True)  # a guess: not learned from
        near_calm = SongFactory(mood=None, valence=0.45, energy=0.3)
        near_happy = SongFactory(mood=None, valence=0.55, energy=0.6)

        filled = moods_fill_missing()

        assert (filled.filled, filled.moved) == (2, 0)
        centroids = dict(zip(filled.rule.moods, filled.rule.centroids.tolist(), strict=True))
        assert centroids == {calm.pk: [0.2, 0.1], happy.pk: [0.8, 0.8]}
        for song, mood in ((near_calm, calm), (near_happy, happy)):
            song.refresh_from_db()
            assert (song.mood, song.mood_predicted) == (mood, True)

    def test_refresh_redoes_the_predicted_moods_after_new_labels_move_the_centroids(self, db):
        calm, happy = MoodFactory(name="Calm"), MoodFactory(name="Happy")
        SongFactory(mood=calm, valence=0.1, energy=0.1)
        SongFactory(mood=happy, valence=0.9, energy=0.9)
        middle = SongFactory(mood=None, valence=0.45, energy=0.45)
        moods_fill_missing()
        middle.refresh_from_db()
        assert middle.mood == calm
        SongFactory(mood=happy, valence=0.3, energy=0.3)  # Happy's centroid moves to (0.6, 0.6)

        assert moods_fill_missing().moved == 0  # without refresh a predicted mood stays
        filled = moods_fill_missing(refresh=True)

        assert (filled.filled, filled.moved) == (0, 1)
        middle.refresh_from_db()
        assert (middle.mood, middle.mood_predicted) == (happy, True)

    def test_fill_labels_hidden_songs_mostly_as_they_were(self, seeded_catalog):
        # Hide the labels of every 10th song; the regions of the rest fill them in.
        hidden = list(Song.objects.order_by("pk")[::10])
        truth = {song.pk: song.mood.name for song in hidden}
        Song.objects.filter(pk__in=truth).update(mood=None)

        filled = moods_fill_missing()

        assert filled.filled == len(hidden)
        songs = Song.objects.filter(pk__in=truth).select_related("mood")
        assert all(song.mood is not None and song.mood_predicted for song in songs)
        assert not Song.objects.filter(mood__isnull=True).exists()
        agreement = sum(song.mood.name == truth[song.pk] for song in songs) / len(hidden)
        # reports/catalog.md: about two in three, cross-validated.
        assert agreement > 0.55
        # Given labels are left alone.
        assert not Song.objects.exclude(pk__in=truth).filter(mood_predicted=True).exists()

    def test_fill_without_two_labelled_moods_changes_nothing(self, db):
        SongFactory.create_batch(3, mood=None)
        SongFactory(mood=MoodFactory(name="Happy"))

        assert moods_fill_missing() is None
        assert Song.objects.filter(mood__isnull=True).count() == 3


class TestTidyTuesdayImport:
    """The 28,000-song file's layout: a row per track and playlist, no mood, no time signature."""

    def test_broken_rows_are_named_and_skipped_and_a_repeated_track_keeps_its_first_row(self, db):
        report = songs_import(csv_file=TIDYTUESDAY)

        assert (report.created, report.updated, report.unchanged, report.repeated) == (5, 0, 0, 1)
        assert report.skipped == [
            SkippedRow(6, "tempo: Ensure this value is greater than or equal to 0.001."),
            SkippedRow(8, "valence must be a number, not 'high'."),
            SkippedRow(9, "track_id is empty."),
        ]
        assert "1 later row of a track already read (in another playlist) passed over" in report.summary()
        assert Song.objects.count() == 5
        # Line 7 lists line 2's track again, in an EDM playlist: the first playlist's genre stays.
        song = Song.objects.get(spotify_id="6f807x0ima9a1j3VPbc7VN")
        assert (song.genre, song.subgenre) == ("pop", "dance pop")
        assert (song.time_signature, song.length_ms, song.album) == (
            None,
            194754,
            "I Don't Care (with Justin Bieber) [Loud Luxury Remix]",
        )
        assert Song.objects.get(spotify_id="69gRFGOWY9OMpFJgFol1u0").subgenre == "southern hip hop"

    def test_importing_it_again_changes_nothing(self, db):
        songs_import(csv_file=TIDYTUESDAY)

        report = songs_import(csv_file=TIDYTUESDAY)

        assert (report.created, report.updated, report.unchanged, report.repeated) == (0, 0, 5, 1)

    def test_its_songs_take_their_regions_mood_from_the_labelled_songs(self, db):
        calm, happy = MoodFactory(name="Calm"), MoodFactory(name="Happy")
        SongFactory(mood=calm, valence=0.1, energy=0.1)
        SongFactory(mood=happy, valence=0.7, energy=0.8)

        report = songs_import(csv_file=TIDYTUESDAY)

        assert (report.moods_missing, report.moods_filled) == (5, 5)
        imported = Song.objects.filter(spotify_id__in=IMPORTED_IDS)
        assert all(song.mood_predicted for song in imported)
        # Heaven (valence 0.204, energy 0.934) is nearer Happy's (0.7, 0.8) than Calm's (0.1, 0.1).
        assert Song.objects.get(spotify_id="4QAUGy6k7c3IOAhgWz52r7").mood == happy

    def test_a_labelled_file_imported_after_it_wins_where_both_hold_a_song(self, db):
        songs_import(csv_file=TIDYTUESDAY)
        labelled = (
            "Heaven (Kaggle's row),Heaven,Avicii,4QAUGy6k7c3IOAhgWz52r7,2019-06-06,66,277640,0.5,0.1,0.934,0,"
            "0.1,0.204,-4.0,0.05,128.0,1,4,Happy"
        )
        calm = (
            "Still,Album,Someone,0000000000000000calm01,2001-01-01,10,200000,0.2,0.95,0.05,0.9,0.1,0.1,-25.0,"
            "0.04,70.0,5,4,Calm"
        )

        report = songs_import(
            csv_file=csv_bytes(HEADER, labelled, calm),
            genres_file=csv_bytes("id,genre", "4QAUGy6k7c3IOAhgWz52r7,big room"),
        )

        assert (report.created, report.updated) == (1, 1)
        heaven = Song.objects.get(spotify_id="4QAUGy6k7c3IOAhgWz52r7")
        assert (heaven.name, heaven.mood.name, heaven.mood_predicted) == ("Heaven (Kaggle's row)", "Happy", False)
        assert (heaven.time_signature, heaven.popularity) == (4, 66)
        # A subgenre belongs to its genre: the new genre clears TidyTuesday's "dance pop".
        assert (heaven.genre, heaven.subgenre) == ("big room", "")
        assert not Song.objects.filter(mood__isnull=True).exists()

    def test_a_file_of_another_layout_still_refuses_a_repeated_id(self, happy):
        report = songs_import(csv_file=csv_bytes(HEADER, PRINCE, PRINCE))

        assert report.repeated == 0
        assert report.skipped == [SkippedRow(3, "The Spotify id 2H7PHVdQ3mXqEHXcvclTB0 already appeared on line 2.")]
