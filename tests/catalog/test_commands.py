from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Song
from tests.catalog.conftest import CATALOG_FIXTURES
from tests.factories import MoodFactory, SongFactory


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_songs_reports_each_skipped_line_and_the_summary(db):
    MoodFactory(name="Happy")

    out, err = run("import_songs", str(CATALOG_FIXTURES / "bad_rows.csv"))

    assert "4 created, 0 updated, 0 unchanged, 10 skipped." in out
    assert "Skipped line 3: danceability: Ensure this value is less than or equal to 1.0." in err
    assert "Skipped line 14: loudness must be a number, not 'loud'." in err
    assert Song.objects.count() == 4


def test_import_songs_twice_changes_nothing(db):
    MoodFactory(name="Happy")
    run("import_songs", str(CATALOG_FIXTURES / "bad_rows.csv"))

    out, _ = run("import_songs", str(CATALOG_FIXTURES / "bad_rows.csv"))

    assert "0 created, 0 updated, 4 unchanged, 10 skipped." in out
    assert Song.objects.count() == 4


def test_import_songs_with_genres(db):
    run("import_songs", str(CATALOG_FIXTURES / "bad_rows.csv"), "--genres", str(CATALOG_FIXTURES / "genres.csv"))

    assert Song.objects.get(spotify_id="2H7PHVdQ3mXqEHXcvclTB0").genre == "funk"


def test_import_songs_fails_when_nothing_could_be_imported(db):
    with pytest.raises(CommandError, match=r"No song in .*all_bad\.csv could be imported"):
        run("import_songs", str(CATALOG_FIXTURES / "all_bad.csv"))

    assert not Song.objects.exists()


def test_import_songs_fails_clearly_on_a_missing_column(db):
    with pytest.raises(CommandError, match="lacks the column tempo"):
        run("import_songs", str(CATALOG_FIXTURES / "missing_column.csv"))


def test_import_songs_fails_clearly_on_a_file_that_is_not_csv(db):
    with pytest.raises(CommandError, match="not a UTF-8 text file"):
        run("import_songs", str(CATALOG_FIXTURES / "not_a_csv.png"))


def test_import_songs_fails_clearly_on_a_missing_file(db, tmp_path):
    with pytest.raises(CommandError, match="Cannot read the CSV file"):
        run("import_songs", str(tmp_path / "nope.csv"))


def test_seed_catalog_loads_the_bundled_catalog_once(db):
    out, _ = run("seed_catalog")

    assert "686 created" in out
    assert Song.objects.count() == 686
    assert Song.objects.filter(mood__name="Calm").count() == 195
    assert Song.objects.get(name="1999").genre == "funk"

    again, _ = run("seed_catalog")

    assert "already has 686 songs" in again
    assert Song.objects.count() == 686


def test_seed_catalog_leaves_a_non_empty_catalog_alone(db):
    SongFactory()

    out, _ = run("seed_catalog")

    assert "already has 1 song;" in out
    assert Song.objects.count() == 1
