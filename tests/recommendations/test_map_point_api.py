"""GET /api/recommendations/ for a point picked on the mood map (valence and energy in place of an emotion)."""

import pytest
from django.urls import reverse

from recommendations import selectors
from recommendations.models import EmotionPlace, Rating
from recommendations.mood_map import MapPoint
from tests.factories import DetectionFactory

pytestmark = pytest.mark.django_db

RECOMMENDATIONS = reverse("api_recommendations")
OFF_THE_MAP = "A point on the mood map has a valence and an energy from 0 to 1."


def test_a_point_lists_the_songs_of_its_region(api_client, user, seed_songs):
    response = api_client.get(RECOMMENDATIONS, {"valence": 0.15, "energy": 0.15, "strategy": "match"})

    assert response.status_code == 200
    body = response.json()
    assert body["point"] == body["target"] == {"valence": 0.15, "energy": 0.15}
    assert body["mood"] == "Calm" and body["emotion"] == "sad"  # sad's place is the nearest
    assert len(body["results"]) == 10
    assert {result["song"]["mood"] for result in body["results"]} <= {"Calm", None}
    assert not Rating.objects.exists()


def test_the_strategy_moves_a_point_as_it_moves_a_reading(api_client, seed_songs):
    body = api_client.get(RECOMMENDATIONS, {"valence": 0.2, "energy": 0.35, "strategy": "uplift"}).json()

    assert body["point"] == {"valence": 0.2, "energy": 0.35}
    assert body["target"]["valence"] == pytest.approx(0.2 + 0.5 * 0.97, abs=1e-3)
    assert body["mood"] == "Happy" and body["strategy"] == "uplift"


def test_a_rating_made_at_a_point_counts_in_the_next_list_at_once(api_client, user, seed_songs):
    params = {"valence": 0.15, "energy": 0.15, "strategy": "match"}
    first = api_client.get(RECOMMENDATIONS, params).json()
    disliked = first["results"][0]["song"]["id"]

    rated = api_client.post(
        reverse("api_ratings"), {"song": disliked, "score": 1, "emotion": first["emotion"]}, format="json"
    )
    again = api_client.get(RECOMMENDATIONS, params).json()

    assert rated.status_code == 201
    assert Rating.objects.get(user=user, song_id=disliked).emotion == "sad"
    assert disliked not in [result["song"]["id"] for result in again["results"]]


@pytest.mark.parametrize(
    "params",
    [
        {"valence": 1.2, "energy": 0.5},
        {"valence": 0.5, "energy": -0.1},
        {"valence": "nan", "energy": 0.5},
        {"valence": "inf", "energy": 0.5},
        {"valence": "high", "energy": 0.5},
        {"valence": 0.5, "energy": "1e400"},
    ],
)
def test_a_point_off_the_map_or_not_a_number_is_a_400_with_a_sentence(api_client, seed_songs, params):
    response = api_client.get(RECOMMENDATIONS, params)

    assert response.status_code == 400
    assert OFF_THE_MAP in next(iter(response.json().values()))


def test_half_a_point_is_a_400(api_client, seed_songs):
    response = api_client.get(RECOMMENDATIONS, {"valence": 0.5})

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Give a point on the mood map as both valence and energy."]}


@pytest.mark.parametrize("other", [{"emotion": "sad"}, {"detection": 1}])
def test_a_point_beside_an_emotion_or_a_detection_is_a_400(api_client, seed_songs, other):
    response = api_client.get(RECOMMENDATIONS, {"valence": 0.5, "energy": 0.5, **other})

    assert response.status_code == 400
    assert "one of the three" in response.json()["non_field_errors"][0]


def test_without_a_point_the_old_sentence_stands(api_client, seed_songs):
    response = api_client.get(RECOMMENDATIONS, {})

    assert response.status_code == 400
    assert response.json()["non_field_errors"][0].startswith("Give either detection")


def test_anonymous_gets_401_for_a_point(anon_client, seed_songs):
    response = anon_client.get(RECOMMENDATIONS, {"valence": 0.5, "energy": 0.5})

    assert response.status_code == 401
    assert "detail" in response.json()


def test_another_users_detection_stays_a_404_and_a_point_reveals_nothing_of_it(
    api_client, other_client, user, seed_songs
):
    detection = DetectionFactory(finished=True, user=user)

    outsider = other_client.get(RECOMMENDATIONS, {"detection": detection.pk})
    own_point = other_client.get(RECOMMENDATIONS, {"valence": 0.5, "energy": 0.5})

    assert outsider.status_code == 404
    assert own_point.status_code == 200 and all(result["rating"] is None for result in own_point.json()["results"])


def test_the_emotion_of_a_point_follows_the_places_admins_set(seed_songs):
    corner = MapPoint(0.88, 0.12)
    before = selectors.emotion_at(point=corner)
    EmotionPlace.objects.filter(emotion="sad").update(valence=0.9, energy=0.1)

    assert before != "sad" and selectors.emotion_at(point=corner) == "sad"
