"""Admin → Moods: a mood's region centre on the mood map, checked against the other moods' before it is saved,
and the predicted moods refilled at once so that the songs follow the regions."""

import pytest
from django.urls import reverse

from catalog.models import Mood, Song
from catalog.mood_regions import RegionRule
from catalog.selectors import mood_centres_get
from catalog.services import moods_fill_missing
from recommendations import selectors
from recommendations.catalog_cache import catalog_forget
from recommendations.mood_map import MapPoint
from tests.factories import SongFactory

pytestmark = pytest.mark.django_db

RECOMMENDATIONS = reverse("api_recommendations")


@pytest.fixture(autouse=True)
def _fresh_catalog_matrix():
    # Each test builds its own catalog; the in-process matrix must not leak between them.
    catalog_forget()
    yield
    catalog_forget()


def _change(mood: Mood) -> str:
    return reverse("admin:catalog_mood_change", args=[mood.pk])


def _post(client, mood: Mood, valence: str, energy: str):
    data = {"name": mood.name, "description": mood.description, "centre_valence": valence, "centre_energy": energy}
    return client.post(_change(mood), {**data, "_save": "Save"}, follow=True)


def _centre(mood: Mood) -> tuple[float | None, float | None]:
    mood.refresh_from_db()
    return mood.centre_valence, mood.centre_energy


def test_staff_move_a_moods_region_and_the_named_mood_follows(client, staff_user, seeded_catalog):
    client.force_login(staff_user)
    calm = Mood.objects.get(name="Calm")
    before = selectors.mood_map_for(strategy="match", point=MapPoint(0.3, 0.25)).mood

    form = client.get(_change(calm))
    response = _post(client, calm, "0.25", "0.2")

    assert form.status_code == 200
    page = form.content.decode()
    assert "Leave both empty for the mean of the mood's labelled songs (0.15, 0.16)" in page
    assert "Every mood's centre now: Calm 0.15, 0.16; Energetic 0.44, 0.88; Happy 0.58, 0.75; Sad 0.29, 0.39" in page
    assert response.status_code == 200
    assert "Calm&#x27;s region now centres at 0.25, 0.20; 0 songs with a predicted mood changed mood" in (
        response.content.decode()
    )
    assert _centre(calm) == (0.25, 0.2)
    assert before.name == "Sad"
    assert selectors.mood_map_for(strategy="match", point=MapPoint(0.3, 0.25)).mood == calm
    listing = client.get(reverse("admin:catalog_mood_changelist")).content.decode()
    assert "0.25, 0.20 (set here)" in listing and "0.29, 0.39 (its labelled songs)" in listing


def test_a_moved_region_gives_its_mood_to_the_predicted_songs_in_it_and_to_the_lists(
    client, api_client, staff_user, seeded_catalog
):
    client.force_login(staff_user)
    calm, sad = Mood.objects.get(name="Calm"), Mood.objects.get(name="Sad")
    # Between Sad's and Calm's songs, nearer Sad's: predicted Sad while Calm centres at its songs' mean.
    between = SongFactory(mood=None, valence=0.3, energy=0.25)
    far = SongFactory(mood=None, valence=0.9, energy=0.9)
    moods_fill_missing()
    between.refresh_from_db()
    assert (between.mood, between.mood_predicted) == (sad, True)
    listed = api_client.get(RECOMMENDATIONS, {"valence": 0.3, "energy": 0.25, "strategy": "match"})
    assert listed.json()["mood"] == "Sad"

    response = _post(client, calm, "0.25", "0.2")

    assert "1 song with a predicted mood changed mood" in response.content.decode()
    between.refresh_from_db()
    far.refresh_from_db()
    assert (between.mood, between.mood_predicted) == (calm, True)
    assert far.mood.name == "Happy" and far.mood_predicted
    after = api_client.get(RECOMMENDATIONS, {"valence": 0.3, "energy": 0.25, "strategy": "match"})
    body = after.json()
    assert after.status_code == 200
    assert body["mood"] == "Calm"
    assert len(body["results"]) == 10
    songs = Song.objects.in_bulk([item["song"]["id"] for item in body["results"]])
    rule = RegionRule.from_centres(mood_centres_get())
    regions = rule.predict([[songs[song_id].valence, songs[song_id].energy] for song_id in songs])
    assert set(regions) == {calm.pk}  # every listed song lies in Calm's moved region
    assert {song.mood_id for song in songs.values()} == {calm.pk}


def test_clearing_a_centre_puts_the_region_back_at_its_songs_mean(client, staff_user, seeded_catalog):
    client.force_login(staff_user)
    calm = Mood.objects.get(name="Calm")
    _post(client, calm, "0.25", "0.2")

    response = _post(client, calm, "", "")

    assert "Calm&#x27;s region now centres at the mean of its labelled songs" in response.content.decode()
    assert _centre(calm) == (None, None)
    assert selectors.mood_map_for(strategy="match", point=MapPoint(0.3, 0.25)).mood.name == "Sad"


def test_two_regions_on_top_of_each_other_are_refused_and_nothing_is_saved(client, staff_user, seeded_catalog):
    client.force_login(staff_user)
    happy = Mood.objects.get(name="Happy")

    # Sad's songs centre at 0.289, 0.388: Happy put beside them.
    response = _post(client, happy, "0.3", "0.4")

    assert response.status_code == 200
    assert "Happy and Sad would sit on top of each other on the mood map" in response.content.decode()
    assert _centre(happy) == (None, None)


def test_a_region_without_its_own_songs_is_refused(client, staff_user, seeded_catalog):
    client.force_login(staff_user)
    calm = Mood.objects.get(name="Calm")

    response = _post(client, calm, "0.95", "0.05")

    assert response.status_code == 200
    assert "Calm&#x27;s region would hold only" in response.content.decode()
    assert _centre(calm) == (None, None)


def test_a_change_that_squeezes_another_region_is_refused_and_the_old_centre_stays(client, staff_user, seeded_catalog):
    client.force_login(staff_user)
    calm = Mood.objects.get(name="Calm")
    Mood.objects.filter(pk=calm.pk).update(centre_valence=0.2, centre_energy=0.15)

    response = _post(client, calm, "0.28", "0.38")

    assert response.status_code == 200
    assert "Sad and Calm would sit on top of each other" in response.content.decode()
    assert _centre(calm) == (0.2, 0.15)


@pytest.mark.parametrize(
    ("valence", "energy", "message"),
    [
        ("1.5", "0.2", "Points on the mood map run from 0 to 1."),
        ("0.25", "", "Set both the centre&#x27;s valence and energy, or clear both."),
    ],
)
def test_a_centre_off_the_map_or_half_set_is_refused(client, staff_user, seeded_catalog, valence, energy, message):
    client.force_login(staff_user)
    calm = Mood.objects.get(name="Calm")

    response = _post(client, calm, valence, energy)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert _centre(calm) == (None, None)


def test_a_mood_without_labelled_songs_has_no_region_to_move(client, staff_user, seeded_catalog):
    client.force_login(staff_user)
    dreamy = Mood.objects.create(name="Dreamy")

    response = _post(client, dreamy, "0.9", "0.5")

    assert response.status_code == 200
    assert "Dreamy has no labelled songs yet, so it has no region on the mood map to move." in (
        response.content.decode()
    )
    assert _centre(dreamy) == (None, None)


def test_a_new_mood_cannot_start_with_a_centre(client, staff_user, seeded_catalog):
    client.force_login(staff_user)
    data = {"name": "Dreamy", "description": "", "centre_valence": "0.9", "centre_energy": "0.5", "_save": "Save"}

    response = client.post(reverse("admin:catalog_mood_add"), data)

    assert response.status_code == 200
    assert "A new mood has no labelled songs yet" in response.content.decode()
    assert not Mood.objects.filter(name="Dreamy").exists()
