"""Writes for recommendations: ratings, and the moods the classifier fills in."""

import logging
from typing import TYPE_CHECKING

import numpy as np
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Mood, Song
from detection.models import Detection, DetectionStatus
from ml.labels import LABELS
from recommendations.engine import FEATURES
from recommendations.models import Rating

if TYPE_CHECKING:
    from recommendations.mood_classifier import TrainedClassifier

# Must match recommendations.mood_classifier.CLASSIFIER_FEATURES; kept here so
# that importing the services (every web request's URL map) does not load scikit-learn.
CLASSIFIER_FEATURES: tuple[str, ...] = (*FEATURES, "popularity")

logger = logging.getLogger(__name__)


def rating_upsert(
    *, user, song: Song, score: int, detection: Detection | None = None, emotion: str = ""
) -> tuple[Rating, bool]:
    """Save the user's rating of a song in a context; True when it is new, False when it replaced one.

    The context is the detection (its emotion, the correction winning) or, for
    a list picked by hand, the emotion alone. One rating per song and context:
    the partial unique constraints make a second concurrent insert fail, and
    update_or_create then finds the winner's row and updates it, so two
    simultaneous clicks leave one row.
    """
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ValidationError({"score": "Give the song 1 to 5 stars."})
    if detection is not None:
        if detection.user_id != user.pk:
            raise ValidationError({"detection": "That detection is not yours."})
        if detection.status != DetectionStatus.DONE:
            raise ValidationError({"detection": "Songs can be rated for a selfie once it has been analysed."})
        emotion = detection.effective_emotion
    elif emotion and emotion not in LABELS:
        raise ValidationError({"emotion": f"Pick one of: {', '.join(LABELS)}."})

    for attempt in range(2):
        try:
            with transaction.atomic():
                return Rating.objects.update_or_create(
                    user=user,
                    song=song,
                    detection=detection,
                    defaults={"score": score, "emotion": emotion},
                )
        except IntegrityError:
            # The other writer's row was not visible yet when ours failed; the retry finds it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def rating_delete(*, rating: Rating) -> None:
    rating.delete()


def mood_classifier_train() -> "TrainedClassifier | None":
    """Train on the songs whose mood was given (not predicted)."""
    labelled = Song.objects.filter(mood__isnull=False, mood_predicted=False)
    rows = list(labelled.values_list("mood__name", *CLASSIFIER_FEATURES))
    if not rows:
        return None
    labels = np.array([row[0] for row in rows])
    features = np.array([row[1:] for row in rows], dtype=np.float64)
    from recommendations import mood_classifier

    return mood_classifier.train(features, labels)


def moods_fill_missing(*, refresh: bool = False, always_train: bool = False) -> "tuple[int, TrainedClassifier | None]":
    """Give every song without a mood the one the classifier predicts; returns (songs labelled, classifier).

    With refresh, songs labelled by an earlier run are predicted again (the
    classifier may have learned from new labelled songs since). With
    always_train the classifier is trained (and returned) even when no song
    needs it, for its accuracy report.
    """
    unlabelled = Song.objects.filter(mood__isnull=True)
    if refresh:
        unlabelled = Song.objects.filter(mood__isnull=True) | Song.objects.filter(mood_predicted=True)
    if not unlabelled.exists() and not always_train:
        return 0, None
    classifier = mood_classifier_train()
    if classifier is None:
        logger.warning("No mood classifier: the catalog needs labelled songs of at least two moods.")
        return 0, None
    moods = {mood.name: mood for mood in Mood.objects.filter(name__in=classifier.classes)}
    now = timezone.now()
    changed = 0
    songs = list(unlabelled.only("id", "mood", "mood_predicted", *CLASSIFIER_FEATURES))
    for start in range(0, len(songs), 5000):
        batch = songs[start : start + 5000]
        features = np.array([[getattr(song, name) for name in CLASSIFIER_FEATURES] for song in batch], dtype=float)
        for song, label in zip(batch, classifier.predict(features), strict=True):
            song.mood = moods[str(label)]
            song.mood_predicted = True
            # bulk_update skips auto_now; the recommender's cache watches `updated`.
            song.updated = now
        with transaction.atomic():
            Song.objects.bulk_update(batch, ["mood", "mood_predicted", "updated"], batch_size=1000)
        changed += len(batch)
    if changed:
        logger.info("The mood classifier (%s) labelled %d songs.", classifier.name, changed)
    return changed, classifier


def ratings_detach_from(*, detection: Detection) -> int:
    """Keep the ratings made from a detection that is being deleted, unlinked from it; returns how many stay.

    Ratings are about songs, so the recommender keeps what the user taught it.
    A song rated both from this selfie and without one can keep only one
    unlinked rating (one per song and context): the more recent one wins.
    """
    kept = 0
    with transaction.atomic():
        for rating in Rating.objects.select_for_update().filter(detection=detection).order_by("updated", "id"):
            unlinked = (
                Rating.objects.select_for_update()
                .filter(user_id=rating.user_id, song_id=rating.song_id, detection__isnull=True)
                .first()
            )
            if unlinked is not None:
                if unlinked.updated >= rating.updated:
                    rating.delete()
                    continue
                unlinked.delete()
            # update() leaves `updated` alone: the rating was not changed by the user.
            Rating.objects.filter(pk=rating.pk).update(detection=None)
            kept += 1
    return kept


def ratings_detach(sender, instance: Detection, **kwargs) -> None:
    """pre_delete receiver for Detection (connected in RecommendationsConfig.ready)."""
    ratings_detach_from(detection=instance)


def rating_restore(*, user, song: int, score: int, detection: int | None, emotion: str) -> Rating | None:
    """Put back a rating the user deleted (History's undo); None when its song is gone.

    Its selfie may have been deleted meanwhile: the rating then comes back
    without one, in the emotion it was made in, as `ratings_detach_from` keeps it.
    """
    song_row = Song.objects.filter(pk=song).first()
    if song_row is None:
        return None
    linked = Detection.objects.filter(pk=detection, user=user).first() if detection else None
    if linked is not None and linked.status != DetectionStatus.DONE:
        linked = None
    if linked is None:
        rating, _ = Rating.objects.update_or_create(
            user=user, song=song_row, detection=None, defaults={"score": score, "emotion": emotion}
        )
        return rating
    rating, _ = rating_upsert(user=user, song=song_row, score=score, detection=linked)
    return rating
