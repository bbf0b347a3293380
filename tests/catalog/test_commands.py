from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from catalog.csv_import import TIDYTUESDAY_SONGS, songs_read
from catalog.management.commands import catalog_report, seed_catalog
from catalog.models import Song
from catalog.services import song_row_problems
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


def test_import_songs_reads_the_tidytuesday_layout_and_names_its_broken_rows(db):
    out, err = run("import_songs", str(CATALOG_FIXTURES / "tidytuesday_songs.csv"))

    assert "5 created, 0 updated, 0 unchanged, 3 skipped. 1 later row of a track already read" in out
    assert "Skipped line 9: track_id is empty." in err
    assert Song.objects.count() == 5


@pytest.fixture
def small_seed(monkeypatch):
    """The seed's order and files, the 28,000 songs replaced by a few rows of their layout (tests stay fast)."""
    monkeypatch.setattr(
        seed_catalog,
        "SEED_FILES",
        ((CATALOG_FIXTURES / "tidytuesday_songs.csv", None), (seed_catalog.SEED_SONGS, seed_catalog.SEED_GENRES)),
    )


def test_seed_catalog_loads_the_bundled_catalog_once(db, small_seed):
    out, err = run("seed_catalog")

    # 5 songs of the playlists' file, Heaven among them; then the 686 labelled ones, Heaven updated.
    assert "tidytuesday_songs.csv:\n5 created, 0 updated, 0 unchanged, 3 skipped." in out
    assert "data_moods.csv:\n685 created, 1 updated, 0 unchanged, 0 skipped." in out
    assert "Filled the missing mood of 4 songs with the mood map's regions" in out
    assert "Skipped line 6: tempo: Ensure this value is greater than or equal to 0.001." in err
    assert Song.objects.count() == 690
    assert Song.objects.filter(mood__name="Calm", mood_predicted=False).count() == 195
    assert Song.objects.filter(mood_predicted=True).count() == 4
    assert not Song.objects.filter(mood__isnull=True).exists()
    assert Song.objects.get(name="1999").genre == "funk"
    heaven = Song.objects.get(spotify_id="4QAUGy6k7c3IOAhgWz52r7")
    assert (heaven.mood.name, heaven.mood_predicted) == ("Happy", False)

    again, _ = run("seed_catalog")

    assert "already has 690 songs" in again
    assert Song.objects.count() == 690


def test_seed_catalog_leaves_a_non_empty_catalog_alone(db):
    SongFactory()

    out, _ = run("seed_catalog")

    assert "already has 1 song;" in out
    assert Song.objects.count() == 1


def test_the_shipped_28k_file_is_valid_in_every_row():
    """Every row of catalog/seed/spotify_songs_28k.csv.gz reads and passes the model's validation (no database)."""
    songs_file = songs_read(seed_catalog.SEED_SONGS_28K)
    problems, ids = [], set()
    rows = 0
    for row in songs_file.rows:
        rows += 1
        if row_problems := song_row_problems(row=row, layout=songs_file.layout):
            problems.append((row.line, row_problems))
        ids.add(row.spotify_id)

    assert songs_file.layout is TIDYTUESDAY_SONGS
    assert problems == []
    assert (rows, len(ids)) == (32_832, 28_355)


def test_fill_missing_moods_gives_unlabelled_songs_their_regions_mood(seeded_catalog):
    Song.objects.filter(pk__in=list(Song.objects.order_by("pk").values_list("pk", flat=True)[:40])).update(mood=None)

    out, _ = run("fill_missing_moods")

    assert "Gave 40 songs without a mood their region's mood." in out
    assert not Song.objects.filter(mood__isnull=True).exists()
    assert Song.objects.filter(mood_predicted=True).count() == 40

    again, _ = run("fill_missing_moods", "--refresh")

    assert "Gave 0 songs without a mood their region's mood. 0 predicted moods changed." in again


def test_fill_missing_moods_says_why_it_cannot(db):
    SongFactory(mood=None)

    out, _ = run("fill_missing_moods")

    assert "the mood regions need songs labelled with at least two moods" in out
    assert Song.objects.get().mood is None


def test_catalog_report_writes_the_regions_agreement(monkeypatch, tmp_path):
    monkeypatch.setattr(catalog_report, "SEED_SONGS_28K", CATALOG_FIXTURES / "tidytuesday_songs.csv")
    report = tmp_path / "catalog.md"

    out, _ = run("catalog_report", "--output", str(report))

    text = report.read_text()
    assert f"Wrote {report}" in out
    assert "| **the default catalog** (`seed_catalog`) | | **690** | 686 labelled, 4 from their region" in text
    assert "Songs in both files (by Spotify id): 1;" in text
    assert "5-fold cross-validation" in text and "| 686 | 6" in text
    assert "always answering the commonest mood (Sad) | 686 | 28.7% |" in text


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
