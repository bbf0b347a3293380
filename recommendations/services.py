"""Writes for recommendations: ratings."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from catalog.models import Song
from detection.models import Detection, DetectionStatus
from ml.labels import LABELS
from recommendations.models import Rating


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
