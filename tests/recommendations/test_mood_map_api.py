"""The mood map in the API: `point` and `target` beside `mood`, songs from the target's region, variety."""

import pytest
from django.urls import reverse

from catalog.models import Mood
from recommendations.catalog_cache import current_catalog
from recommendations.map_ranking import catalog_map
from recommendations.mood_map import DEFAULT_PLACES, jaccard
from tests.conftest import _token_client
from tests.factories import DetectionFactory, UserFactory, probabilities

pytestmark = pytest.mark.django_db

RECOMMENDATIONS = reverse("api_recommendations")


def _ids(body) -> list[int]:
    return [item["song"]["id"] for item in body["results"]]


def test_recommendations_answer_the_point_and_the_target(api_client, seed_songs):
    match = api_client.get(RECOMMENDATIONS, {"emotion": "sad"}).json()
    uplift = api_client.get(RECOMMENDATIONS, {"emotion": "sad", "strategy": "uplift"}).json()

    sad = DEFAULT_PLACES["sad"]
    assert match["point"] == match["target"] == {"valence": sad.valence, "energy": sad.energy}
    assert match["mood"] == "Sad"
    assert uplift["point"] == match["point"]
    assert uplift["target"]["valence"] > match["point"]["valence"]
    assert uplift["mood"] == "Happy"


@pytest.mark.parametrize("strategy", ["match", "uplift", "calm"])
def test_every_listed_song_is_in_the_named_mood_and_its_region(api_client, seed_songs, strategy):
    for emotion in DEFAULT_PLACES:
        body = api_client.get(RECOMMENDATIONS, {"emotion": emotion, "strategy": strategy}).json()

        mapped = catalog_map(current_catalog())
        region = mapped.regions.mood_ids.index(next(mood.pk for mood in Mood.objects.filter(name=body["mood"])))
        rows = [current_catalog().row_of[song_id] for song_id in _ids(body)]
        assert len(body["results"]) == 10
        assert {item["song"]["mood"] for item in body["results"]} == {body["mood"]}
        assert (mapped.region_codes[rows] == region).all()


def test_two_new_users_with_the_same_reading_get_different_lists(seed_songs):
    first, second = _token_client(UserFactory()), _token_client(UserFactory())

    lists = [client.get(RECOMMENDATIONS, {"emotion": "happy"}).json() for client in (first, second, first)]

    assert lists[0]["mood"] == lists[1]["mood"] == "Happy"
    assert _ids(lists[0]) == _ids(lists[2])  # one user's list is stable
    assert jaccard(_ids(lists[0]), _ids(lists[1])) <= 0.5


def test_detections_answer_the_point_and_the_target(api_client, user, seed_songs):
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=0.6, angry=0.4))
    waiting = DetectionFactory(user=user)

    body = api_client.get(f"/api/detections/{detection.pk}/").json()
    listed = {item["id"]: item for item in api_client.get("/api/detections/").json()["results"]}

    sad, angry = DEFAULT_PLACES["sad"], DEFAULT_PLACES["angry"]
    expected = {
        "valence": round(0.6 * sad.valence + 0.4 * angry.valence, 3),
        "energy": round(0.6 * sad.energy + 0.4 * angry.energy, 3),
    }
    assert body["point"] == body["target"] == expected  # the owner's strategy is match
    assert body["mood"] in {"Sad", "Energetic", "Happy", "Calm"}
    assert listed[detection.pk]["point"] == expected
    assert listed[waiting.pk]["point"] is None and listed[waiting.pk]["target"] is None
