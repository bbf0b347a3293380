"""Genres: the ones a user leaves out (recommendations.services.excluded_genres_set), the genre filter, and the
masks the recommender applies (recommendations.engine.genres_allowed, map_ranking.map_scores)."""

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from catalog.models import Song
from recommendations import selectors, services
from recommendations.catalog_cache import catalog_forget, current_catalog
from recommendations.engine import genre_key, genres_allowed
from recommendations.map_ranking import map_scores
from recommendations.models import ExcludedGenre
from recommendations.mood_map import MapPoint
from tests.factories import DetectionFactory, RatingFactory, UserFactory
from tests.recommendations.conftest import GENRES

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
STRATEGIES = ("match", "uplift", "calm")


def listed_genres(result: selectors.RecommendationList) -> set[str]:
    return {genre_key(recommendation.song.genre) for recommendation in result.results}


# --- The engine's masks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "key"), [("Rock ", "rock"), ("R&B", "r&b"), ("N/A", ""), ("", ""), ("  none", ""), ("edm", "edm")]
)
def test_a_genre_is_compared_trimmed_in_lower_case_and_na_is_none(written, key):
    assert genre_key(written) == key


def test_the_matrix_knows_each_genre_once_whatever_its_spelling(genre_songs):
    catalog = current_catalog()

    assert sorted(genre for genre in catalog.genres if genre) == sorted(GENRES)
    assert "n/a" not in catalog.genres


def test_no_genre_asked_about_allows_every_song(genre_songs):
    assert genres_allowed(current_catalog()) is None


def test_leaving_genres_out_masks_their_songs_and_keeps_songs_without_a_genre(genre_songs):
    catalog = current_catalog()

    allowed = genres_allowed(catalog, excluded=["Rock", "pop"])

    genres = np.array([genre_key(song.genre) for song in Song.objects.order_by("id")])
    assert allowed.tolist() == (~np.isin(genres, ["rock", "pop"])).tolist()
    assert allowed[genres == ""].all()


def test_one_genre_keeps_only_its_songs(genre_songs):
    catalog = current_catalog()

    allowed = genres_allowed(catalog, only="ROCK")

    genres = np.array([genre_key(song.genre) for song in Song.objects.order_by("id")])
    assert allowed.tolist() == (genres == "rock").tolist()


def test_a_genre_the_matrix_lacks_keeps_nothing_when_filtered_by_and_excludes_nothing(genre_songs):
    catalog = current_catalog()

    assert not genres_allowed(catalog, only="polka").any()
    assert genres_allowed(catalog, excluded=["polka"]) is None


def test_the_map_scores_no_masked_song_and_keeps_the_others_scores(genre_songs):
    catalog = current_catalog()
    allowed = genres_allowed(catalog, excluded=["rock", "pop", "rap"])
    target = MapPoint(valence=0.2, energy=0.3)

    unmasked = map_scores(catalog, target=target, seed=1)
    masked = map_scores(catalog, target=target, seed=1, allowed=allowed)

    assert np.isfinite(masked.content).any()
    assert not np.isfinite(masked.content[~allowed]).any()
    # The songs still listed keep their scores: a song's share of the variety does not depend on the others.
    both = np.isfinite(masked.content)
    assert np.array_equal(masked.content[both], unmasked.content[both])


# --- Selectors ------------------------------------------------------------------------------------------


def test_the_catalogs_genres_are_listed_by_name_with_their_song_counts(genre_songs):
    genres = selectors.genres_in_catalog()

    expected = {genre: sum(genre_key(song.genre) == genre for song in genre_songs) for genre in GENRES}
    assert [genre.name for genre in genres] == sorted(GENRES)
    assert {genre.name: genre.songs for genre in genres} == expected


def test_an_empty_catalog_has_no_genres(db):
    assert selectors.genres_in_catalog() == []


@pytest.mark.parametrize("emotion", EMOTIONS)
def test_no_list_holds_a_genre_the_user_left_out(genre_songs, user, emotion):
    services.excluded_genres_set(user=user, genres=["pop", "rock"])

    for strategy in STRATEGIES:
        result = selectors.recommendations_for(user=user, emotion=emotion, strategy=strategy)

        assert len(result.results) == 10
        assert not listed_genres(result) & {"pop", "rock"}
        assert result.notice == ""


def test_left_out_genres_stay_out_for_a_user_with_ratings_and_favourites(genre_songs, user):
    pop_songs = [song for song in genre_songs if genre_key(song.genre) == "pop"][:15]
    for song in pop_songs:
        RatingFactory(user=user, song=song, score=5, emotion="happy")
    services.excluded_genres_set(user=user, genres=["pop"])

    result = selectors.recommendations_for(user=user, emotion="happy", strategy="match", favourites=True)

    assert len(result.results) == 10
    assert "pop" not in listed_genres(result)


def test_another_users_left_out_genres_change_nothing_for_this_one(genre_songs, user, other_user):
    before = selectors.recommendations_for(user=user, emotion="sad", strategy="match")
    services.excluded_genres_set(user=other_user, genres=list(GENRES))

    after = selectors.recommendations_for(user=user, emotion="sad", strategy="match")

    assert [item.song.pk for item in after.results] == [item.song.pk for item in before.results]


def test_a_list_filtered_by_a_genre_holds_only_it(genre_songs, user):
    for emotion in ("happy", "sad"):
        result = selectors.recommendations_for(user=user, emotion=emotion, strategy="match", genre="Rock")

        assert result.genre == "rock"
        assert result.results and listed_genres(result) == {"rock"}


def test_a_list_for_a_detection_filtered_by_a_genre_holds_only_it(genre_songs, user):
    detection = DetectionFactory(finished=True, user=user)

    result = selectors.recommendations_for(
        user=user,
        emotion=detection.effective_emotion,
        strategy="calm",
        probabilities=detection.probabilities,
        detection_id=detection.pk,
        genre="edm",
    )

    assert result.results and listed_genres(result) == {"edm"}


def test_a_genre_the_catalog_lacks_is_refused_with_a_sentence_naming_the_genres(genre_songs, user):
    with pytest.raises(ValidationError) as refused:
        selectors.recommendations_for(user=user, emotion="sad", strategy="match", genre="polka")

    (sentence,) = refused.value.message_dict["genre"]
    assert sentence.startswith("The catalog has no genre “polka”.")
    assert all(genre in sentence for genre in GENRES)


def test_filtering_by_a_genre_the_user_left_out_is_refused_with_a_sentence(genre_songs, user):
    services.excluded_genres_set(user=user, genres=["rock"])

    with pytest.raises(ValidationError) as refused:
        selectors.recommendations_for(user=user, emotion="sad", strategy="match", genre="ROCK")

    assert refused.value.message_dict["genre"] == [
        "You left rock out in your profile. Include it again there to filter your songs by it."
    ]


@pytest.mark.parametrize("genre", ["", "  ", "N/A"])
def test_no_genre_filters_nothing(genre_songs, user, genre):
    result = selectors.recommendations_for(user=user, emotion="sad", strategy="match", genre=genre)

    assert result.genre == "" and len(result.results) == 10


def test_a_genre_with_few_songs_in_the_mood_gives_a_short_list_that_says_so(genre_songs, user):
    Song.objects.filter(genre__iexact="latin").update(genre="pop")
    Song.objects.filter(pk__in=[song.pk for song in genre_songs[:2]]).update(genre="latin")
    catalog_forget()

    result = selectors.recommendations_for(user=user, emotion="sad", strategy="match", genre="latin")

    count = len(result.results)
    assert count < 10
    mood = result.mood.name
    # Shorter, never padded with songs of another mood.
    assert {recommendation.song.mood_id for recommendation in result.results} <= {result.mood.pk, None}
    if count:
        assert result.notice == f"Only {count} latin song{'s are' if count > 1 else ' is'} in the {mood} mood."
    else:
        assert result.notice == f"No latin songs are in the {mood} mood. Pick another genre, or all genres."


def test_leaving_out_every_genre_leaves_only_songs_without_one_and_says_so_when_too_few(genre_songs, user):
    Song.objects.filter(genre="").update(genre="pop")
    catalog_forget()
    services.excluded_genres_set(user=user, genres=list(GENRES))

    result = selectors.recommendations_for(user=user, emotion="happy", strategy="match")

    # Only the "N/A" songs are left (no genre): fewer than a list, and none of another mood.
    assert len(result.results) < 10
    assert {recommendation.song.mood_id for recommendation in result.results} <= {result.mood.pk, None}
    assert {recommendation.song.genre for recommendation in result.results} <= {"N/A"}
    assert result.notice.startswith(f"Only {len(result.results)} songs are left in the {result.mood.name} mood")
    assert result.notice.endswith("once 6 genres are left out. Include a genre again in your profile for more.")


def test_the_export_holds_the_genres_left_out(genre_songs, user, other_user):
    services.excluded_genres_set(user=user, genres=["rap", "edm"])
    services.excluded_genres_set(user=other_user, genres=["pop"])

    assert selectors.user_export(user=user)["excluded_genres"] == ["edm", "rap"]


# --- Services -------------------------------------------------------------------------------------------


def test_leaving_genres_out_stores_them_in_lower_case_once(genre_songs, user):
    left_out = services.excluded_genres_set(user=user, genres=["Rock", "rock ", "EDM"])

    assert left_out == ["edm", "rock"]
    assert list(ExcludedGenre.objects.filter(user=user).values_list("genre", flat=True)) == ["edm", "rock"]


def test_a_new_list_replaces_the_earlier_one_and_an_empty_one_includes_every_genre(genre_songs, user):
    services.excluded_genres_set(user=user, genres=["rock", "pop"])

    services.excluded_genres_set(user=user, genres=["pop", "rap"])
    assert selectors.excluded_genres_for(user=user) == ["pop", "rap"]

    services.excluded_genres_set(user=user, genres=[])
    assert selectors.excluded_genres_for(user=user) == []


def test_an_unknown_genre_is_refused_and_nothing_changes(genre_songs, user):
    services.excluded_genres_set(user=user, genres=["rock"])

    with pytest.raises(ValidationError) as refused:
        services.excluded_genres_set(user=user, genres=["pop", "polka"])

    (sentence,) = refused.value.message_dict["excluded_genres"]
    assert sentence.startswith("The catalog has no genre “polka”. Pick from its genres: ")
    assert selectors.excluded_genres_for(user=user) == ["rock"]


@pytest.mark.parametrize("genre", ["  ", "N/A"])
def test_a_blank_genre_is_refused(genre_songs, user, genre):
    with pytest.raises(ValidationError) as refused:
        services.excluded_genres_set(user=user, genres=["rock", genre])

    assert refused.value.message_dict["excluded_genres"] == [
        "Name each genre to leave out: a blank, or “N/A”, is no genre."
    ]
    assert not ExcludedGenre.objects.exists()


def test_a_genre_the_catalog_has_since_lost_can_stay_left_out(genre_songs, user):
    services.excluded_genres_set(user=user, genres=["latin", "rock"])
    Song.objects.filter(genre__iexact="latin").update(genre="pop")
    catalog_forget()

    assert services.excluded_genres_set(user=user, genres=["latin"]) == ["latin"]
    # Once included again, a genre the catalog lacks cannot be left out anew.
    services.excluded_genres_set(user=user, genres=[])
    with pytest.raises(ValidationError):
        services.excluded_genres_set(user=user, genres=["latin"])
    assert selectors.excluded_genres_for(user=user) == []


def test_deleting_the_account_deletes_its_genres_and_no_one_elses(genre_songs):
    leaving, staying = UserFactory(), UserFactory()
    services.excluded_genres_set(user=leaving, genres=["rock"])
    services.excluded_genres_set(user=staying, genres=["pop"])

    services.account_delete(user=leaving)

    assert list(ExcludedGenre.objects.values_list("user_id", "genre")) == [(staying.pk, "pop")]
