"""The genres through the API: GET /api/genres/, excluded_genres on /api/me/, and
GET /api/recommendations/?genre=."""

import pytest
from django.urls import reverse

from recommendations import services
from recommendations.engine import genre_key
from recommendations.models import ExcludedGenre
from tests.factories import DetectionFactory
from tests.recommendations.conftest import GENRES

RECOMMENDATIONS = "/api/recommendations/"
GENRES_URL = "/api/genres/"
ME = "/api/me/"


def listed_genres(body: dict) -> set[str]:
    return {genre_key(result["song"]["genre"]) for result in body["results"]}


# --- GET /api/genres/ -----------------------------------------------------------------------------------


def test_genres_lists_the_catalogs_genres_with_counts_and_which_the_user_left_out(api_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rap"])

    response = api_client.get(GENRES_URL)

    assert response.status_code == 200
    body = response.json()
    assert [genre["name"] for genre in body] == sorted(GENRES)
    assert [genre["name"] for genre in body if genre["excluded"]] == ["rap"]
    counts = {genre: sum(genre_key(song.genre) == genre for song in genre_songs) for genre in GENRES}
    assert {genre["name"]: genre["songs"] for genre in body} == counts


def test_genres_shows_an_outsider_only_their_own_exclusions(other_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rap"])

    response = other_client.get(GENRES_URL)

    assert response.status_code == 200
    assert not any(genre["excluded"] for genre in response.json())


def test_genres_needs_a_user(anon_client, genre_songs):
    response = anon_client.get(GENRES_URL)

    assert response.status_code == 401
    assert "detail" in response.json()


# --- /api/me/ excluded_genres ---------------------------------------------------------------------------


def test_me_shows_the_genres_left_out(api_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rock", "edm"])

    response = api_client.get(ME)

    assert response.status_code == 200
    assert response.json()["excluded_genres"] == ["edm", "rock"]


def test_patching_excluded_genres_replaces_them(api_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rock"])

    response = api_client.patch(ME, {"excluded_genres": ["Pop", "R&B"]}, format="json")

    assert response.status_code == 200
    assert response.json()["excluded_genres"] == ["pop", "r&b"]
    assert list(ExcludedGenre.objects.filter(user=user).values_list("genre", flat=True)) == ["pop", "r&b"]


def test_patching_an_empty_list_includes_every_genre_again(api_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rock"])

    response = api_client.patch(ME, {"excluded_genres": []}, format="json")

    assert response.status_code == 200
    assert response.json()["excluded_genres"] == []
    assert not ExcludedGenre.objects.filter(user=user).exists()


def test_patching_an_unknown_genre_is_400_with_a_sentence_and_changes_nothing(api_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rock"])

    response = api_client.patch(ME, {"excluded_genres": ["pop", "polka"], "strategy": "calm"}, format="json")

    assert response.status_code == 400
    (sentence,) = response.json()["excluded_genres"]
    assert sentence.startswith("The catalog has no genre “polka”.")
    assert list(ExcludedGenre.objects.filter(user=user).values_list("genre", flat=True)) == ["rock"]
    user.refresh_from_db()
    assert user.strategy == "match"


@pytest.mark.parametrize("body", [{"excluded_genres": "rock"}, {"excluded_genres": [None]}, {"excluded_genres": [""]}])
def test_patching_excluded_genres_that_are_not_a_list_of_names_is_400(api_client, user, genre_songs, body):
    response = api_client.patch(ME, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"excluded_genres"}
    assert not ExcludedGenre.objects.exists()


def test_patching_excluded_genres_changes_only_the_users_own(api_client, user, other_user, genre_songs):
    services.excluded_genres_set(user=other_user, genres=["latin"])

    api_client.patch(ME, {"excluded_genres": ["rock"]}, format="json")

    assert ExcludedGenre.objects.get(user=other_user).genre == "latin"


def test_the_export_holds_the_genres_left_out(api_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rap"])

    response = api_client.get(reverse("api-me-export"))

    assert response.status_code == 200
    assert response.json()["excluded_genres"] == ["rap"]


# --- GET /api/recommendations/?genre= -------------------------------------------------------------------


def test_recommendations_filtered_by_a_genre_list_only_it(api_client, genre_songs):
    response = api_client.get(RECOMMENDATIONS, {"emotion": "happy", "genre": "Rock"})

    assert response.status_code == 200
    body = response.json()
    assert body["genre"] == "rock"
    assert len(body["results"]) == 10 and listed_genres(body) == {"rock"}
    assert body["notice"] == ""


def test_recommendations_without_a_genre_answer_null_and_every_genre(api_client, genre_songs):
    response = api_client.get(RECOMMENDATIONS, {"emotion": "happy"})

    assert response.status_code == 200
    body = response.json()
    assert body["genre"] is None and body["notice"] == ""
    assert len(listed_genres(body) - {""}) > 1


def test_recommendations_never_list_a_genre_the_user_left_out(api_client, user, genre_songs):
    api_client.patch(ME, {"excluded_genres": ["pop", "rock", "rap"]}, format="json")
    detection = DetectionFactory(finished=True, user=user)

    for query in ({"emotion": "happy"}, {"emotion": "sad", "strategy": "calm"}, {"detection": detection.pk}):
        response = api_client.get(RECOMMENDATIONS, query)

        assert response.status_code == 200
        assert response.json()["results"]
        assert not listed_genres(response.json()) & {"pop", "rock", "rap"}


def test_recommendations_for_an_unknown_genre_are_400_with_a_sentence(api_client, genre_songs):
    response = api_client.get(RECOMMENDATIONS, {"emotion": "happy", "genre": "polka"})

    assert response.status_code == 400
    (sentence,) = response.json()["genre"]
    assert sentence.startswith("The catalog has no genre “polka”. Pick one of its genres (")


def test_recommendations_for_a_genre_the_user_left_out_are_400_with_a_sentence(api_client, user, genre_songs):
    services.excluded_genres_set(user=user, genres=["rock"])

    response = api_client.get(RECOMMENDATIONS, {"emotion": "happy", "genre": "rock"})

    assert response.status_code == 400
    assert response.json() == {
        "genre": ["You left rock out in your profile. Include it again there to filter your songs by it."]
    }


def test_recommendations_for_a_genre_name_too_long_are_400(api_client, genre_songs):
    response = api_client.get(RECOMMENDATIONS, {"emotion": "happy", "genre": "x" * 101})

    assert response.status_code == 400
    assert set(response.json()) == {"genre"}


def test_an_outsiders_detection_filtered_by_genre_is_404(other_client, user, genre_songs):
    detection = DetectionFactory(finished=True, user=user)

    response = other_client.get(RECOMMENDATIONS, {"detection": detection.pk, "genre": "rock"})

    assert response.status_code == 404


def test_recommendations_filtered_by_genre_need_a_user(anon_client, genre_songs):
    response = anon_client.get(RECOMMENDATIONS, {"emotion": "happy", "genre": "rock"})

    assert response.status_code == 401
