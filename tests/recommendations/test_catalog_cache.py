"""The in-memory catalog matrix follows every kind of catalog write, through receivers ready() connects."""

import pytest
from django.db.models.signals import post_save

from catalog.models import Mood, Song
from catalog.services import songs_import, songs_set_mood
from catalog.signals import songs_changed
from recommendations.catalog_cache import current_catalog, current_map_state
from tests.catalog.conftest import CATALOG_FIXTURES

pytestmark = pytest.mark.django_db


def test_the_app_connects_the_cache_to_the_catalogs_signals():
    assert songs_changed.has_listeners(Song)
    assert post_save.has_listeners(Song) and post_save.has_listeners(Mood)


def test_a_bulk_mood_change_is_seen_at_once(seed_songs, django_capture_on_commit_callbacks):
    before = current_catalog()
    calm = Mood.objects.get(name="Calm")
    first = seed_songs[0]
    assert first.mood != calm

    # A queryset update: no post_save, and neither the song count nor the highest id moves.
    with django_capture_on_commit_callbacks(execute=True):
        songs_set_mood(songs=[first], mood=calm)

    after = current_catalog()
    assert after is not before
    row = after.row_of[first.pk]
    assert after.mood_ids[after.mood_codes[row]] == calm.pk


def test_an_import_is_seen_at_once(seed_songs, django_capture_on_commit_callbacks):
    before = current_catalog()

    rows = (CATALOG_FIXTURES / "bad_rows.csv").read_text().splitlines()
    penny_lane = rows[-1]

    with django_capture_on_commit_callbacks(execute=True):
        report = songs_import(csv_file=f"{rows[0]}\n{penny_lane}\n".encode())

    after = current_catalog()
    assert report.created == 1
    assert after.size == before.size + 1


def test_a_region_moved_elsewhere_is_seen_at_once(seed_songs):
    calm = Mood.objects.get(name="Calm")
    assert current_map_state().centres[calm.pk] == pytest.approx((0.151, 0.156), abs=1e-3)

    # A queryset update, as another process without a shared cache would be seen: no signal, no version bump.
    Mood.objects.filter(pk=calm.pk).update(centre_valence=0.25, centre_energy=0.2)

    assert current_map_state().centres[calm.pk] == (0.25, 0.2)
