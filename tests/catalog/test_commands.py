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


def test_fill_missing_moods_reports_the_cross_validated_accuracy(seeded_catalog, tmp_path):
    Song.objects.filter(pk__in=list(Song.objects.order_by("pk").values_list("pk", flat=True)[:40])).update(mood=None)
    report = tmp_path / "classifier.md"

    out, _ = run("fill_missing_moods", "--report", str(report))

    assert "Labelled 40 songs" in out
    assert not Song.objects.filter(mood__isnull=True).exists()
    assert Song.objects.filter(mood_predicted=True).count() == 40
    text = report.read_text()
    assert "logistic regression" in text and "random forest" in text
    assert "Majority-class baseline" in text


def test_import_songs_fills_in_missing_moods_and_says_how_many(seeded_catalog, tmp_path):
    unlabelled = tmp_path / "new.csv"
    header = (CATALOG_FIXTURES / "bad_rows.csv").read_text().splitlines()[0]
    unlabelled.write_text(
        header + "\n" + "Quiet Thing,Album,Someone New,0000000000000000000new,2020-01-01,10,200000,"
        "0.2,0.95,0.05,0.9,0.1,0.1,-25.0,0.04,70.0,5,4,,\n"
    )

    out, _ = run("import_songs", str(unlabelled))

    song = Song.objects.get(spotify_id="0000000000000000000new")
    assert (song.mood.name, song.mood_predicted) == ("Calm", True)
    assert "1 created, 0 updated, 0 unchanged, 0 skipped. Filled the missing mood of 1 song with the " in out
