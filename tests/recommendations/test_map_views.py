"""The mood map on the pages: the result page, "Pick my mood" with a point, and the map part the script swaps in."""

import re

import pytest
from django.urls import reverse

from tests.factories import DetectionFactory, probabilities

pytestmark = pytest.mark.django_db

MAP_PART = reverse("mood_map_part")


def figure_of(html: str) -> str:
    match = re.search(r'<figure class="mood-map".*?</figure>', html, re.S)
    assert match, "no mood map on the page"
    return match.group(0)


def test_the_result_page_draws_the_map_of_the_reading(logged_in, user, seed_songs):
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=0.7, neutral=0.3))

    response = logged_in.get(reverse("detection_detail", args=[detection.pk]), {"strategy": "uplift"})

    assert response.status_code == 200
    figure = figure_of(response.content.decode())
    assert "<figcaption>" in figure and "<strong>Mood map</strong>" in figure
    assert "Your reading: low valence, " in figure and "Lift my mood moves it to Happy" in figure
    assert len(re.findall(r"data-map-song=", figure)) == 10
    assert f'data-map-url="{MAP_PART}?detection={detection.pk}&amp;strategy=uplift"' in figure


def test_pick_mood_offers_the_map_and_two_sliders(logged_in, seed_songs):
    response = logged_in.get(reverse("pick_mood"))

    assert response.status_code == 200
    page = response.content.decode()
    figure = figure_of(page)
    assert "data-map-point" not in figure and "data-map-song" not in figure
    assert 'type="range" id="map-valence" name="valence"' in page and 'name="energy"' in page
    assert "data-recommendations" not in page  # nothing picked yet, no list


def test_pick_mood_with_a_point_lists_its_region(logged_in, user, seed_songs):
    response = logged_in.get(reverse("pick_mood"), {"valence": "0.15", "energy": "0.15", "strategy": "match"})

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-valence="0.15" data-energy="0.15"' in page and 'data-emotion="sad"' in page
    assert "Your point: low valence, low energy. Match my mood keeps it in Calm." in figure_of(page)
    assert 'value="0.15" data-map-valence' in page  # the sliders stand at the point
    assert 'aria-pressed="true"' not in page  # no emotion button was pressed


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({"valence": "1.5", "energy": "0.2"}, "Valence must be a number from 0 to 1, not 1.5."),
        ({"valence": "0.5", "energy": "nan"}, "Energy must be a number from 0 to 1, not nan."),
        ({"valence": "high", "energy": "0.2"}, "Valence must be a number from 0 to 1, not “high”."),
        ({"valence": "0.5"}, "Give a point on the mood map as both valence and energy, each from 0 to 1."),
        ({"valence": "0.5", "energy": "0.5", "emotion": "sad"}, "Pick an emotion or a point on the mood map"),
    ],
)
def test_pick_mood_with_a_point_off_the_map_says_so(logged_in, seed_songs, params, sentence):
    response = logged_in.get(reverse("pick_mood"), params)

    assert response.status_code == 400
    page = response.content.decode()
    assert sentence in page
    assert "data-recommendations" not in page


def test_the_map_part_draws_the_songs_on_screen(logged_in, user, seed_songs):
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(happy=0.9, neutral=0.1))
    shown = [seed_songs[5].pk, seed_songs[9].pk]

    response = logged_in.get(
        MAP_PART, {"detection": detection.pk, "strategy": "calm", "songs": ",".join(map(str, shown))}
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    figure = figure_of(response.content.decode())
    assert re.findall(r'data-map-song="(\d+)"', figure) == [str(song_id) for song_id in shown]
    assert "Calm me down moves it to Calm" in figure


def test_the_map_part_for_a_point_and_for_an_emotion(logged_in, seed_songs):
    point = logged_in.get(MAP_PART, {"valence": "0.9", "energy": "0.9", "strategy": "match"})
    emotion = logged_in.get(MAP_PART, {"emotion": "sad", "strategy": "match"})

    assert point.status_code == emotion.status_code == 200
    assert "Your point: high valence, high energy." in point.content.decode()
    assert "Your reading: low valence, low energy. Match my mood keeps it in Sad." in emotion.content.decode()


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({"valence": "2", "energy": "0.5"}, "Valence must be a number from 0 to 1"),
        ({"emotion": "bored"}, "Give one of your selfies (detection), an emotion, or a point"),
        ({"detection": "x"}, "Give one of your selfies (detection), an emotion, or a point"),
        ({"detection": "²"}, "Give one of your selfies (detection), an emotion, or a point"),
        ({"emotion": "sad", "songs": "1,²"}, "Give the songs as at most 50 ids separated by commas."),
        ({"emotion": "sad", "songs": "1,a"}, "Give the songs as at most 50 ids separated by commas."),
        ({"emotion": "sad", "songs": "9" * 40}, "Give the songs as at most 50 ids separated by commas."),
        ({"emotion": "sad", "songs": "-1"}, "Give the songs as at most 50 ids separated by commas."),
        ({"emotion": "sad", "songs": ",".join(["1"] * 51)}, "Give the songs as at most 50 ids separated by commas."),
    ],
)
def test_the_map_part_refuses_bad_input_with_a_sentence(logged_in, seed_songs, params, sentence):
    response = logged_in.get(MAP_PART, params)

    assert response.status_code == 400
    assert sentence in response.content.decode()


def test_the_map_part_of_another_users_detection_is_a_404(outsider, user, seed_songs):
    detection = DetectionFactory(finished=True, user=user)

    response = outsider.get(MAP_PART, {"detection": detection.pk})

    assert response.status_code == 404


def test_the_map_part_needs_a_login(client, seed_songs):
    response = client.get(MAP_PART, {"emotion": "sad"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
