import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from catalog.models import Song
from detection.models import Detection, DetectionStatus
from recommendations.models import Rating
from recommendations.services import detection_delete, rating_delete, rating_restore, rating_upsert
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


def run_at_once(*calls):
    """Run each call in its own thread, all released together; return what each returned or raised."""
    start = threading.Barrier(len(calls))

    def run(call):
        try:
            start.wait()
            return call()
        except Exception as error:  # the test reports it
            return error
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def user_song_and_maybe_detection(with_detection):
    user = UserFactory()
    detection = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="sad") if with_detection else None
    return user, SongFactory(), detection


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_detection", [False, True])
def test_two_simultaneous_ratings_of_one_song_leave_one_row(with_detection):
    user, song, detection = user_song_and_maybe_detection(with_detection)

    outcomes = run_at_once(
        *(
            lambda score=score: rating_upsert(user=user, song=song, score=score, detection=detection)[1]
            for score in (2, 5)
        )
    )

    assert sorted(outcomes) == [False, True]
    rating = Rating.objects.get(user=user, song=song)
    assert rating.score in (2, 5)
    assert rating.detection == detection


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_detection", [False, True])
def test_two_simultaneous_undos_of_one_deleted_rating_leave_one_row(with_detection):
    user, song, detection = user_song_and_maybe_detection(with_detection)

    def undo():
        return rating_restore(user=user, song=song.pk, score=4, detection=detection and detection.pk, emotion="sad")

    results = run_at_once(undo, undo)

    assert all(isinstance(result, Rating) for result in results), results
    rating = Rating.objects.get(user=user, song=song)
    assert (rating.score, rating.emotion, rating.detection) == (4, "sad", detection)


@contextmanager
def after_first_read_of(model, action):
    """Run `action` right after this thread's connection first reads `model`'s table: another request's
    write landing between a service's check and its own write."""
    done = False

    def wrapper(execute, sql, params, many, context):
        nonlocal done
        result = execute(sql, params, many, context)
        if not done and sql.lstrip().upper().startswith("SELECT") and f'FROM "{model._meta.db_table}"' in sql:
            done = True
            action()
        return result

    with connection.execute_wrapper(wrapper):
        yield
    assert done


@pytest.mark.django_db(transaction=True)
def test_an_undo_while_its_selfie_is_being_deleted_puts_the_rating_back_unlinked():
    user = UserFactory()
    song = SongFactory()
    detection = DetectionFactory(user=user, status=DetectionStatus.DONE, emotion="sad", photo=None)

    with after_first_read_of(Detection, lambda: detection_delete(detection=Detection.objects.get(pk=detection.pk))):
        rating = rating_restore(user=user, song=song.pk, score=4, detection=detection.pk, emotion="sad")

    assert not Detection.objects.filter(pk=detection.pk).exists()
    assert rating is not None and Rating.objects.get() == rating
    assert (rating.score, rating.emotion, rating.detection) == (4, "sad", None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_detection", [False, True])
def test_an_undo_while_its_song_is_being_deleted_puts_nothing_back(with_detection):
    user, song, detection = user_song_and_maybe_detection(with_detection)

    with after_first_read_of(Song, lambda: Song.objects.filter(pk=song.pk).delete()):
        rating = rating_restore(user=user, song=song.pk, score=4, detection=detection and detection.pk, emotion="sad")

    assert rating is None
    assert not Rating.objects.exists() and not Song.objects.filter(pk=song.pk).exists()
