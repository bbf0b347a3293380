"""Reading song files: the layout recognised from the header, each row parsed in the file's own words (no database)."""

import gzip

import pytest
from django.core.exceptions import ValidationError

from catalog import csv_import
from catalog.csv_import import KAGGLE_MOODS, TIDYTUESDAY_SONGS, genres_read, layout_of, songs_read
from catalog.schema import KAGGLE_COLUMNS, SONG_FIELDS
from tests.catalog.conftest import CATALOG_FIXTURES

HEADER = ",".join(KAGGLE_COLUMNS)
TIDYTUESDAY = CATALOG_FIXTURES / "tidytuesday_songs.csv"
PRINCE = (
    "1999,1999,Prince,2H7PHVdQ3mXqEHXcvclTB0,1982-10-27,68,379266,0.866,0.137,0.73,0,0.0843,0.625,-8.201,"
    "0.0767,118.523,5,4,Happy"
)


def csv_bytes(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_every_song_field_is_read_from_a_column_of_its_own_kind():
    fields = (*csv_import.TEXT_FIELDS, *csv_import.FLOAT_FIELDS, *csv_import.INTEGER_FIELDS)

    assert sorted(fields) == sorted(SONG_FIELDS)
    for layout in csv_import.LAYOUTS:
        # Every field but the optional ones (unknown where a file lacks them) has a column.
        assert set(SONG_FIELDS) - set(csv_import.OPTIONAL_FIELDS) <= set(layout.column_of_field) <= set(SONG_FIELDS)


class TestLayoutOf:
    def test_the_kaggle_header_is_the_kaggle_layout_in_any_order_and_with_extra_columns(self):
        columns = [*reversed(KAGGLE_COLUMNS), "genre", "comment"]

        assert layout_of(columns) is KAGGLE_MOODS

    def test_the_kaggle_layout_needs_no_mood_nor_genre(self):
        assert layout_of([column for column in KAGGLE_COLUMNS if column != "mood"]) is KAGGLE_MOODS

    def test_a_header_no_layout_fits_names_the_missing_columns_and_the_ones_required(self):
        columns = [column for column in KAGGLE_COLUMNS if column not in {"tempo", "key"}]

        with pytest.raises(ValidationError) as error:
            layout_of(columns)

        message = error.value.messages[0]
        assert message.startswith(
            "The CSV file lacks the columns tempo, key. Its first line must name the columns: name"
        )
        assert "mood" not in message


class TestSongsRead:
    def test_a_row_becomes_the_songs_fields_with_its_mood(self):
        songs_file = songs_read(csv_bytes(HEADER, PRINCE))
        (row,) = songs_file.rows

        assert songs_file.layout is KAGGLE_MOODS
        assert (row.line, row.problems, row.readable) == (2, (), True)
        assert row.spotify_id == "2H7PHVdQ3mXqEHXcvclTB0"
        assert row.values["length_ms"] == 379266
        assert row.values["loudness"] == -8.201
        assert row.values["release_date"] == "1982-10-27"
        assert set(row.values) == set(SONG_FIELDS)
        assert (row.mood, row.genre) == ("Happy", None)

    def test_a_file_without_a_mood_column_has_rows_without_a_mood(self):
        (row,) = songs_read(csv_bytes(HEADER.removesuffix(",mood"), PRINCE.removesuffix(",Happy"))).rows

        assert row.mood is None

    def test_cells_that_do_not_parse_are_named_by_their_column(self):
        cells = PRINCE.split(",")
        cells[KAGGLE_COLUMNS.index("id")] = ""
        cells[KAGGLE_COLUMNS.index("length")] = "3.5"
        cells[KAGGLE_COLUMNS.index("loudness")] = "loud"
        cells[KAGGLE_COLUMNS.index("tempo")] = "nan"

        (row,) = songs_read(csv_bytes(HEADER, ",".join(cells))).rows

        assert row.problems == (
            "id is empty.",
            "loudness must be a number, not 'loud'.",
            "tempo must be a number, not 'nan'.",
            "length must be a whole number, not '3.5'.",
        )
        assert "loudness" not in row.values

    def test_a_row_the_csv_reader_cannot_read_is_a_row_with_its_reason(self):
        rows = list(songs_read(csv_bytes(HEADER, PRINCE + ',"', PRINCE)).rows)

        assert [(row.line, row.readable) for row in rows] == [(2, False)]
        assert "never closed" in rows[0].problems[0]

    def test_a_formula_escaped_by_the_export_reads_back_as_it_was(self):
        cells = PRINCE.split(",")
        cells[KAGGLE_COLUMNS.index("name")] = "'=1+1"

        (row,) = songs_read(csv_bytes(HEADER, ",".join(cells))).rows

        assert row.values["name"] == "=1+1"


def test_genres_read_gives_the_genre_by_spotify_id():
    genres, unreadable = genres_read(CATALOG_FIXTURES / "genres.csv")

    assert genres["2H7PHVdQ3mXqEHXcvclTB0"] == "funk"
    assert unreadable == []


def test_describe_names_a_models_error_by_the_files_column():
    error = ValidationError({"length_ms": ["Ensure this value is greater than or equal to 1."]})

    assert csv_import.describe(error, KAGGLE_MOODS) == "length: Ensure this value is greater than or equal to 1."


class TestTidyTuesdayLayout:
    """TidyTuesday's "Spotify songs": one row per track and playlist, no mood, no time signature."""

    def test_its_header_is_the_tidytuesday_layout(self):
        songs_file = songs_read(TIDYTUESDAY)

        assert songs_file.layout is TIDYTUESDAY_SONGS
        assert songs_file.layout.repeats_tracks

    def test_a_header_without_a_column_it_needs_names_the_column(self):
        lines = TIDYTUESDAY.read_text().splitlines()
        header = lines[0].replace(",duration_ms", "")

        with pytest.raises(ValidationError, match="lacks the column duration_ms"):
            songs_read(csv_bytes(header, *lines[1:]))

    def test_a_row_is_read_into_the_songs_fields_without_a_time_signature(self):
        first = next(songs_read(TIDYTUESDAY).rows)

        assert first.values == {
            "spotify_id": "6f807x0ima9a1j3VPbc7VN",
            "name": "I Don't Care (with Justin Bieber) - Loud Luxury Remix",
            "artist": "Ed Sheeran",
            "album": "I Don't Care (with Justin Bieber) [Loud Luxury Remix]",
            "release_date": "2019-06-14",
            "popularity": 66,
            "length_ms": 194754,
            "danceability": 0.748,
            "energy": 0.916,
            "key": 6,
            "loudness": -2.634,
            "speechiness": 0.0583,
            "acousticness": 0.102,
            "instrumentalness": 0.0,
            "liveness": 0.0653,
            "valence": 0.518,
            "tempo": 122.036,
        }
        assert (first.genre, first.subgenre, first.mood) == ("pop", "dance pop", None)

    def test_broken_cells_are_named_in_the_files_column_names(self):
        rows = {row.line: row for row in songs_read(TIDYTUESDAY).rows}

        assert rows[8].problems == ("valence must be a number, not 'high'.",)
        assert rows[9].problems == ("track_id is empty.",)
        # Tempo 0 parses; the model refuses it (catalog.services names it).
        assert rows[6].problems == ()

    def test_a_gzip_compressed_file_reads_as_the_plain_one(self):
        plain = [row.values for row in songs_read(TIDYTUESDAY).rows]

        assert [row.values for row in songs_read(gzip.compress(TIDYTUESDAY.read_bytes())).rows] == plain

    def test_a_file_that_unpacks_past_the_limit_is_refused_with_a_sentence(self, monkeypatch):
        monkeypatch.setattr(csv_import, "GUNZIPPED_LIMIT_BYTES", 1000)

        with pytest.raises(ValidationError, match="unpacks to more than"):
            songs_read(gzip.compress(TIDYTUESDAY.read_bytes()))

    def test_a_damaged_gzip_file_is_refused_with_a_sentence(self):
        with pytest.raises(ValidationError, match="damaged gzip file"):
            songs_read(gzip.compress(TIDYTUESDAY.read_bytes())[:200])


def test_an_empty_time_signature_is_unknown_not_a_problem():
    (row,) = songs_read(csv_bytes(HEADER, PRINCE.replace(",5,4,Happy", ",5,,Happy"))).rows

    assert (row.problems, row.values["time_signature"]) == ((), None)
