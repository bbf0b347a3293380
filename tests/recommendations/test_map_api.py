"""GET /api/mood-map/: the map, and where a point lands on it."""

import pytest
from django.urls import reverse

from recommendations.models import EmotionPlace

pytestmark = pytest.mark.django_db

MOOD_MAP = reverse("api_mood_map")
OFF_THE_MAP = "A point on the mood map has a valence and an energy from 0 to 1."


def test_the_map_lists_places_moves_and_regions(api_client, seed_songs):
    EmotionPlace.objects.filter(emotion="sad").update(valence=0.1, energy=0.2)

    response = api_client.get(MOOD_MAP)

    assert response.status_code == 200
    body = response.json()
    assert body["places"]["sad"] == {"valence": 0.1, "energy": 0.2}
    assert body["moves"] == {"match": 0.0, "uplift": 0.5, "calm": 0.75}
    assert {mood["name"]: mood["centre"] for mood in body["moods"]}["Calm"] == {"valence": 0.151, "energy": 0.156}
    assert (body["strategy"], body["point"], body["target"], body["mood"]) == ("match", None, None, None)


def test_a_point_lands_in_a_region_after_the_strategy(api_client, seed_songs):
    match = api_client.get(MOOD_MAP, {"valence": 0.2, "energy": 0.35}).json()
    uplift = api_client.get(MOOD_MAP, {"valence": 0.2, "energy": 0.35, "strategy": "uplift"}).json()

    assert match["point"] == match["target"] == {"valence": 0.2, "energy": 0.35}
    assert match["mood"] == "Sad"
    assert uplift["target"]["valence"] == pytest.approx(0.2 + 0.5 * 0.97, abs=1e-3)
    assert uplift["mood"] == "Happy"


@pytest.mark.parametrize(
    "params",
    [
        {"valence": 1.2, "energy": 0.5},
        {"valence": 0.5, "energy": -0.1},
        {"valence": "nan", "energy": 0.5},
        {"valence": "inf", "energy": 0.5},
        {"valence": "high", "energy": 0.5},
    ],
)
def test_a_point_off_the_map_is_a_400_with_a_sentence(api_client, seed_songs, params):
    response = api_client.get(MOOD_MAP, params)

    assert response.status_code == 400
    assert OFF_THE_MAP in next(iter(response.json().values()))


def test_half_a_point_is_a_400(api_client, seed_songs):
    response = api_client.get(MOOD_MAP, {"valence": 0.5})

    assert response.status_code == 400
    assert "both valence and energy" in str(response.json())


@pytest.mark.parametrize("params", [{"strategy": ""}, {"valence": "", "energy": ""}])
def test_an_empty_parameter_is_a_400(api_client, params):
    response = api_client.get(MOOD_MAP, params)

    assert response.status_code == 400
    assert "Give a value or leave the parameter out." in str(response.json())


def test_anonymous_gets_401(anon_client):
    assert anon_client.get(MOOD_MAP).status_code == 401
