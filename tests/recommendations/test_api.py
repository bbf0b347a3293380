from collections import Counter

import pytest
from django.urls import reverse

from catalog.models import Mood, Song
from catalog.services import moods_fill_missing
from detection.models import DetectionStatus
from recommendations.models import Rating
from tests.conftest import SONG_FIELDS
from tests.factories import DetectionFactory, RatingFactory, SongFactory, probabilities

pytestmark = pytest.mark.django_db

RECOMMENDATIONS = reverse("api_recommendations")
RATINGS = reverse("api_ratings")


def _ids(response) -> list[int]:
    return [item["song"]["id"] for item in response.json()["results"]]


def _done_detection(user, emotion="sad", **kwargs):
    return DetectionFactory(finished=True, user=user, shares=probabilities(**{emotion: 1.0}), **kwargs)


# --- GET /api/recommendations/ -----------------------------------------------


def test_recommendations_for_an_emotion(api_client, user, seed_songs):
    response = api_client.get(RECOMMENDATIONS, {"emotion": "sad"})

    assert response.status_code == 200
    body = response.json()
    assert body["emotion"] == "sad"
    assert body["mood"] == "Sad"
    assert body["strategy"] == "match"
    assert len(body["results"]) == 10
    for item in body["results"]:
        assert set(item["song"]) == SONG_FIELDS
        assert item["song"]["spotify_url"] == f"https://open.spotify.com/track/{item['song']['spotify_id']}"
        assert 1 <= len(item["reasons"]) <= 3
        assert all(isinstance(reason, str) and reason for reason in item["reasons"])
    # Most of a "match sad" list is sad music; exploration may bring a neighbour.
    assert Counter(item["song"]["mood"] for item in body["results"])["Sad"] >= 7
    assert len(set(_ids(response))) == 10


def test_the_users_strategy_picks_the_mood(api_client, user, seed_songs):
    user.strategy = "uplift"
    user.save()

    response = api_client.get(RECOMMENDATIONS, {"emotion": "sad"})

    assert response.status_code == 200
    assert response.json()["strategy"] == "uplift"
    assert response.json()["mood"] == "Happy"
    assert Counter(item["song"]["mood"] for item in response.json()["results"])["Happy"] >= 7


def test_a_strategy_parameter_overrides_the_profile(api_client, user, seed_songs):
    response = api_client.get(RECOMMENDATIONS, {"emotion": "angry", "strategy": "calm"})

    assert response.status_code == 200
    assert (response.json()["strategy"], response.json()["mood"]) == ("calm", "Calm")
    user.refresh_from_db()
    assert user.strategy == "match"


def test_recommendations_for_a_detection_use_the_corrected_emotion(api_client, user, seed_songs):
    detection = _done_detection(user, emotion="happy", corrected_emotion="sad")

    response = api_client.get(RECOMMENDATIONS, {"detection": detection.pk, "limit": 5})

    assert response.status_code == 200
    assert response.json()["emotion"] == "sad"
    assert response.json()["mood"] == "Sad"
    assert len(response.json()["results"]) == 5


@pytest.mark.parametrize("status", ["queued", "processing", "no_face", "failed"])
def test_a_detection_that_is_not_done_is_a_conflict(api_client, user, seed_songs, status):
    detection = DetectionFactory(user=user, status=status)

    response = api_client.get(RECOMMENDATIONS, {"detection": detection.pk})

    assert response.status_code == 409
    assert "analysed" in response.json()["detail"]


def test_another_users_detection_is_not_found(api_client, other_user, seed_songs):
    detection = _done_detection(other_user)

    response = api_client.get(RECOMMENDATIONS, {"detection": detection.pk})

    assert response.status_code == 404
    assert "results" not in response.json()


def test_anonymous_gets_401(anon_client, seed_songs):
    assert anon_client.get(RECOMMENDATIONS, {"emotion": "sad"}).status_code == 401
    assert anon_client.get(RATINGS).status_code == 401
    assert anon_client.post(RATINGS, {"song": seed_songs[0].pk, "score": 5}, format="json").status_code == 401
    assert Rating.objects.count() == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"emotion": "sad", "limit": 0}, "limit"),
        ({"emotion": "sad", "limit": 51}, "limit"),
        ({"emotion": "sad", "limit": "ten"}, "limit"),
        ({"emotion": "sad", "limit": "2.5"}, "limit"),
        ({"emotion": "bored"}, "emotion"),
        ({}, "non_field_errors"),
        ({"emotion": "sad", "detection": 1}, "non_field_errors"),
        ({"detection": "abc"}, "detection"),
        ({"detection": "99999999999999999999999"}, "detection"),
        ({"emotion": "sad", "strategy": "party"}, "strategy"),
    ],
)
def test_bad_parameters_are_400(api_client, seed_songs, params, field):
    response = api_client.get(RECOMMENDATIONS, params)

    assert response.status_code == 400
    assert field in response.json()


def test_limit_bounds_are_accepted(api_client, seed_songs):
    assert len(api_client.get(RECOMMENDATIONS, {"emotion": "sad", "limit": 1}).json()["results"]) == 1
    assert len(api_client.get(RECOMMENDATIONS, {"emotion": "sad", "limit": 50}).json()["results"]) == 50


def test_an_empty_catalog_answers_an_empty_list(api_client, db):
    response = api_client.get(RECOMMENDATIONS, {"emotion": "happy"})

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_an_emotion_without_a_mood_answers_null_as_the_schema_says(api_client, seed_songs):
    Mood.objects.all().delete()  # no mood, no region: the map still places the reading

    response = api_client.get(RECOMMENDATIONS, {"emotion": "sad"})

    assert response.status_code == 200
    assert response.json()["mood"] is None
    assert response.json()["point"] == {"valence": 0.19, "energy": 0.338}
    assert len(response.json()["results"]) == 10
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert schema["components"]["schemas"]["RecommendationListOutput"]["properties"]["mood"]["nullable"] is True


def test_a_rating_changes_the_next_list_at_once(api_client, user, seed_songs):
    before = api_client.get(RECOMMENDATIONS, {"emotion": "happy"})
    top = before.json()["results"][0]["song"]["id"]

    rated = api_client.post(RATINGS, {"song": top, "score": 1, "emotion": "happy"}, format="json")
    after = api_client.get(RECOMMENDATIONS, {"emotion": "happy"})

    assert rated.status_code == 201
    assert after.status_code == 200
    assert top not in _ids(after)
    assert _ids(after) != _ids(before)


def test_a_one_star_song_disappears_from_that_detections_context(api_client, user, seed_songs):
    detection = _done_detection(user, emotion="sad")
    first = api_client.get(RECOMMENDATIONS, {"detection": detection.pk})
    disliked = _ids(first)[0]

    response = api_client.post(RATINGS, {"song": disliked, "score": 1, "detection": detection.pk}, format="json")

    assert response.status_code == 201
    assert response.json()["emotion"] == "sad"
    assert disliked not in _ids(api_client.get(RECOMMENDATIONS, {"detection": detection.pk}))
    # A new selfie with the same emotion is the same context.
    second = _done_detection(user, emotion="sad")
    assert disliked not in _ids(api_client.get(RECOMMENDATIONS, {"detection": second.pk, "limit": 50}))


def test_the_diversity_cap_holds_for_a_fan(api_client, user, seed_songs):
    # Rate every song of the catalog's most prolific artists 5: without the cap they would fill the list.
    counts = Counter(Song.objects.values_list("artist", flat=True))
    prolific = [artist for artist, count in counts.most_common(3)]
    for song in Song.objects.filter(artist__in=prolific):
        api_client.post(RATINGS, {"song": song.pk, "score": 5, "emotion": "happy"}, format="json")

    response = api_client.get(RECOMMENDATIONS, {"emotion": "happy"})

    artists = Counter(item["song"]["artist"] for item in response.json()["results"])
    assert response.status_code == 200
    assert max(artists.values()) <= 2
    assert len(set(_ids(response))) == len(_ids(response)) == 10


# --- POST /api/ratings/ ---------------------------------------------------------


def test_rate_a_song_then_replace_the_rating(api_client, user):
    song = SongFactory()

    created = api_client.post(RATINGS, {"song": song.pk, "score": 4}, format="json")
    replaced = api_client.post(RATINGS, {"song": song.pk, "score": 2}, format="json")

    assert created.status_code == 201
    assert replaced.status_code == 200
    assert replaced.json()["id"] == created.json()["id"]
    assert set(replaced.json()) == {"id", "song", "score", "detection", "emotion", "created"}
    assert replaced.json()["score"] == 2
    rating = Rating.objects.get(user=user)
    assert (rating.song, rating.score, rating.detection, rating.emotion) == (song, 2, None, "")


def test_the_same_song_for_two_detections_is_two_ratings(api_client, user):
    song = SongFactory()
    first, second = _done_detection(user, "sad"), _done_detection(user, "happy")

    one = api_client.post(RATINGS, {"song": song.pk, "score": 5, "detection": first.pk}, format="json")
    two = api_client.post(RATINGS, {"song": song.pk, "score": 1, "detection": second.pk}, format="json")

    assert (one.status_code, two.status_code) == (201, 201)
    assert sorted(Rating.objects.values_list("emotion", "score")) == [("happy", 1), ("sad", 5)]


@pytest.mark.parametrize("score", [0, 6, -1, 4.5, "five", None, True])
def test_scores_outside_one_to_five_are_400(api_client, user, score):
    song = SongFactory()

    response = api_client.post(RATINGS, {"song": song.pk, "score": score}, format="json")

    assert response.status_code == 400
    assert "score" in response.json()
    assert not Rating.objects.exists()


@pytest.mark.parametrize("song", [999_999, "abc", None, 10**30])
def test_an_unknown_song_is_400(api_client, user, song):
    response = api_client.post(RATINGS, {"song": song, "score": 3}, format="json")

    assert response.status_code == 400
    assert "song" in response.json()
    assert not Rating.objects.exists()


def test_a_body_that_is_not_json_is_400(api_client, user):
    response = api_client.post(RATINGS, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert not Rating.objects.exists()


def test_rating_with_another_users_detection_is_404(api_client, other_user):
    song = SongFactory()
    detection = _done_detection(other_user)

    response = api_client.post(RATINGS, {"song": song.pk, "score": 5, "detection": detection.pk}, format="json")

    assert response.status_code == 404
    assert not Rating.objects.exists()


def test_rating_for_a_detection_still_pending_is_400(api_client, user):
    song = SongFactory()
    detection = DetectionFactory(user=user, status=DetectionStatus.QUEUED)

    response = api_client.post(RATINGS, {"song": song.pk, "score": 5, "detection": detection.pk}, format="json")

    assert response.status_code == 400
    assert "analysed" in response.json()["detection"][0]
    assert not Rating.objects.exists()


def test_an_unknown_emotion_is_400(api_client, user):
    response = api_client.post(RATINGS, {"song": SongFactory().pk, "score": 5, "emotion": "bored"}, format="json")

    assert response.status_code == 400
    assert "emotion" in response.json()


# --- GET and DELETE /api/ratings/ ------------------------------------------------


def test_list_own_ratings_newest_first(api_client, user, other_user):
    old = RatingFactory(user=user, score=2)
    new = RatingFactory(user=user, score=5, emotion="happy")
    RatingFactory(user=other_user)

    response = api_client.get(RATINGS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [item["id"] for item in body["results"]] == [new.pk, old.pk]
    assert body["results"][0] == {
        "id": new.pk,
        "song": new.song_id,
        "score": 5,
        "detection": None,
        "emotion": "happy",
        "created": body["results"][0]["created"],
    }


def test_delete_own_rating(api_client, user):
    rating = RatingFactory(user=user)

    response = api_client.delete(reverse("api_rating", args=[rating.pk]))

    assert response.status_code == 204
    assert not Rating.objects.exists()


def test_deleting_another_users_rating_is_404(api_client, other_user):
    rating = RatingFactory(user=other_user)

    response = api_client.delete(reverse("api_rating", args=[rating.pk]))

    assert response.status_code == 404
    assert Rating.objects.filter(pk=rating.pk).exists()


def test_deleting_a_huge_or_missing_id_is_404(api_client, user):
    assert api_client.delete("/api/ratings/99999999999999999999999/").status_code == 404
    assert api_client.delete("/api/ratings/12345/").status_code == 404


def test_anonymous_cannot_delete(anon_client, user):
    rating = RatingFactory(user=user)

    assert anon_client.delete(reverse("api_rating", args=[rating.pk])).status_code == 401
    assert Rating.objects.filter(pk=rating.pk).exists()


def test_songs_whose_moods_the_classifier_filled_are_recommended_by_them(api_client, seed_songs):
    # Half the catalog arrived without moods; the import's classifier filled them in.
    Song.objects.filter(pk__in=[song.pk for song in seed_songs[1::2]]).update(mood=None)
    moods_fill_missing()

    response = api_client.get(RECOMMENDATIONS, {"emotion": "angry", "strategy": "calm", "limit": 20})

    assert response.status_code == 200
    results = response.json()["results"]
    predicted = set(Song.objects.filter(mood_predicted=True).values_list("pk", flat=True))
    filled = [item for item in results if item["song"]["id"] in predicted]
    assert len(filled) >= 3
    assert {item["song"]["mood"] for item in filled} == {"Calm"}


def test_rated_songs_take_three_places_unless_favourites_are_asked_for(api_client, user, seed_songs):
    first = _ids(api_client.get(RECOMMENDATIONS, {"emotion": "sad"}))
    for song_id in first:
        api_client.post(RATINGS, {"song": song_id, "score": 5, "emotion": "sad"}, format="json")

    capped = api_client.get(RECOMMENDATIONS, {"emotion": "sad"})
    favourites = api_client.get(RECOMMENDATIONS, {"emotion": "sad", "favourites": "true"})
    nonsense = api_client.get(RECOMMENDATIONS, {"emotion": "sad", "favourites": "maybe"})

    assert capped.status_code == favourites.status_code == 200
    assert len(set(_ids(capped)) & set(first)) <= 3 and len(_ids(capped)) == 10
    assert len(set(_ids(favourites)) & set(first)) > 3
    assert nonsense.status_code == 400 and "favourites" in nonsense.json()
    assert Rating.objects.filter(user=user).count() == 10


def test_a_mixed_reading_explains_its_mood(api_client, user, seed_songs):
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(sad=0.4, fear=0.3, angry=0.3))
    body = api_client.get(RECOMMENDATIONS, {"detection": detection.pk, "strategy": "uplift"}).json()
    # Lift my mood moves the reading toward positive valence, into Happy's region.
    assert body["mood"] == "Happy"
    assert body["mood_reason"] == "Sad 40%, angry 30% and scared 30% together → Happy songs."
    assert body["target"]["valence"] > body["point"]["valence"]
    plain = api_client.get(RECOMMENDATIONS, {"emotion": "sad"}).json()
    assert plain["mood_reason"] == ""
