import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.models import Song
from recommendations.management.commands.generate_catalog import SYNTHETIC_PREFIX
from tests.factories import SongFactory

SEED_DIR = Path(__file__).resolve().parents[2] / "catalog" / "seed"


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_generate_catalog_samples_valid_songs_from_the_real_ones(seed_songs):
    run("generate_catalog", "--songs", "300", "--seed", "1")

    synthetic = Song.objects.filter(spotify_id__startswith=SYNTHETIC_PREFIX)
    assert synthetic.count() == 300
    for song in synthetic[:50]:
        song.full_clean()
    # The moods and features follow the real catalog's.
    real_moods = {song.mood.name for song in seed_songs}
    assert set(synthetic.values_list("mood__name", flat=True)) <= real_moods
    calm = synthetic.filter(mood__name="Calm")
    energetic = synthetic.filter(mood__name="Energetic")
    mean = lambda songs, field: sum(getattr(song, field) for song in songs) / len(songs)  # noqa: E731
    assert mean(list(calm), "energy") < mean(list(energetic), "energy")


@pytest.mark.django_db
def test_generate_catalog_keeps_unknown_time_signatures_unknown(seed_songs):
    # Half the real songs without a time signature, as TidyTuesday's songs come.
    Song.objects.filter(pk__in=[song.pk for song in seed_songs[::2]]).update(time_signature=None)

    run("generate_catalog", "--songs", "200", "--seed", "2")

    synthetic = Song.objects.filter(spotify_id__startswith=SYNTHETIC_PREFIX)
    signatures = list(synthetic.values_list("time_signature", flat=True))
    assert len(signatures) == 200
    assert 40 < signatures.count(None) < 160
    assert {signature for signature in signatures if signature is not None} <= set(range(1, 8))


@pytest.mark.django_db
def test_generate_catalog_twice_adds_new_ids_and_delete_removes_them(seed_songs):
    run("generate_catalog", "--songs", "20")
    run("generate_catalog", "--songs", "20", "--unlabelled")

    synthetic = Song.objects.filter(spotify_id__startswith=SYNTHETIC_PREFIX)
    assert synthetic.count() == 40
    assert synthetic.filter(mood__isnull=True).count() == 20
    assert all(len(spotify_id) == 22 for spotify_id in synthetic.values_list("spotify_id", flat=True))

    run("generate_catalog", "--delete")

    assert Song.objects.count() == len(seed_songs)


@pytest.mark.django_db
def test_generate_catalog_needs_a_real_catalog_and_a_size():
    with pytest.raises(CommandError, match="import one first"):
        run("generate_catalog", "--songs", "10")
    with pytest.raises(CommandError, match="--songs"):
        run("generate_catalog")


@pytest.mark.django_db
def test_evaluate_recommender_writes_a_report_showing_the_gain(tmp_path):
    out = run("evaluate_recommender", "--users", "4", "--catalog", "seed", "--output", str(tmp_path))

    report = json.loads((tmp_path / "recommender_evaluation.json").read_text())
    assert [checkpoint["ratings"] for checkpoint in report["checkpoints"]] == [0, 10, 20, 40]
    assert report["catalog_songs"] == 686
    last = report["checkpoints"][-1]
    assert last["personalized_mean"] > last["baseline_mean"]
    assert all(1 <= checkpoint["personalized_mean"] <= 5 for checkpoint in report["checkpoints"])
    markdown = (tmp_path / "recommender_evaluation.md").read_text()
    assert "| 40 |" in markdown
    assert "recommender_evaluation.md" in out


@pytest.mark.django_db
def test_evaluate_recommender_shows_the_database_catalog_beside_the_labelled_songs(seed_songs, tmp_path):
    run("evaluate_recommender", "--users", "2", "--catalog", "database", "--output", str(tmp_path))

    report = json.loads((tmp_path / "recommender_evaluation.json").read_text())
    assert report["catalog_source"] == "the catalog in the database"
    assert report["catalog_songs"] == Song.objects.count()
    assert report["labelled_songs"]["catalog_songs"] == 686
    assert [checkpoint["ratings"] for checkpoint in report["labelled_songs"]["checkpoints"]] == [0, 10, 20, 40]
    markdown = (tmp_path / "recommender_evaluation.md").read_text()
    assert f"## {Song.objects.count():,} songs beside the 686 labelled songs alone" in markdown


@pytest.mark.django_db
def test_evaluate_recommender_on_the_seed_shows_it_once(tmp_path):
    run("evaluate_recommender", "--users", "2", "--catalog", "seed", "--output", str(tmp_path))

    assert "labelled_songs" not in json.loads((tmp_path / "recommender_evaluation.json").read_text())
    assert "beside the" not in (tmp_path / "recommender_evaluation.md").read_text()


@pytest.mark.django_db
def test_evaluate_recommender_refuses_a_tiny_catalog(tmp_path):
    SongFactory.create_batch(5)

    with pytest.raises(CommandError, match="at least 100"):
        run("evaluate_recommender", "--users", "2", "--output", str(tmp_path))
