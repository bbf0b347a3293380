import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from detection.models import DetectionStatus
from recommendations.models import Rating
from recommendations.services import rating_delete, rating_upsert
from tests.factories import DetectionFactory, RatingFactory, SongFactory, UserFactory


@pytest.mark.django_db
def test_rating_upsert_creates_then_replaces(user):
    song = SongFactory()

    rating, created = rating_upsert(user=user, song=song, score=4, emotion="sad")
    again, created_again = rating_upsert(user=user, song=song, score=1, emotion="sad")

    assert (created, created_again) == (True, False)
    assert again.pk == rating.pk
    assert Rating.objects.get().score == 1


@pytest.mark.django_db
def test_rating_takes_the_detections_corrected_emotion(user):
    detection = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="happy", corrected_emotion="fear")

    rating, _ = rating_upsert(user=user, song=SongFactory(), score=3, detection=detection, emotion="sad")

    assert rating.emotion == "fear"
    assert rating.detection == detection


@pytest.mark.django_db
@pytest.mark.parametrize("score", [0, 6, 2.5, "3", True, None])
def test_rating_upsert_refuses_bad_scores(user, score):
    with pytest.raises(ValidationError) as error:
        rating_upsert(user=user, song=SongFactory(), score=score)

    assert "score" in error.value.message_dict
    assert not Rating.objects.exists()


@pytest.mark.django_db
def test_rating_upsert_refuses_another_users_detection(user, other_user):
    detection = DetectionFactory(user=other_user, status=DetectionStatus.DONE, emotion="sad")

    with pytest.raises(ValidationError):
        rating_upsert(user=user, song=SongFactory(), score=3, detection=detection)

    assert not Rating.objects.exists()


@pytest.mark.django_db
def test_rating_upsert_refuses_an_unknown_emotion(user):
    with pytest.raises(ValidationError) as error:
        rating_upsert(user=user, song=SongFactory(), score=3, emotion="bored")

    assert "emotion" in error.value.message_dict


@pytest.mark.django_db
def test_rating_delete(user):
    rating = RatingFactory(user=user)

    rating_delete(rating=rating)

    assert not Rating.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_detection", [False, True])
def test_two_simultaneous_ratings_of_one_song_leave_one_row(with_detection):
    user = UserFactory()
    song = SongFactory()
    detection = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="sad") if with_detection else None
    start = threading.Barrier(2)
    outcomes: list = []

    def rate(score: int) -> None:
        try:
            start.wait()
            outcomes.append(rating_upsert(user=user, song=song, score=score, detection=detection)[1])
        except Exception as error:  # the test reports it below
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=rate, args=(score,)) for score in (2, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == [False, True]
    rating = Rating.objects.get(user=user, song=song)
    assert rating.score in (2, 5)
    assert rating.detection == detection
