"""Writes for recommendations: ratings, the genres a user leaves out, and deleting what they hang on (a selfie,
an account)."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts import services as account_services
from accounts.models import User
from catalog.models import Song
from detection import services as detection_services
from detection.models import Detection, DetectionStatus
from ml.runtime.labels import LABELS
from recommendations import selectors
from recommendations.engine import genre_key
from recommendations.models import ExcludedGenre, Rating


def rating_upsert(
    *, user: User, song: Song, score: int, detection: Detection | None = None, emotion: str = ""
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


def excluded_genres_set(*, user: User, genres: Iterable[str]) -> list[str]:
    """Leave exactly these genres out of the user's lists (any case; an empty list includes every genre again).

    Each must be one of the catalog's genres, or one the user already leaves out (a genre the
    catalog has since lost can stay); anything else raises ValidationError on "excluded_genres" and
    changes nothing. Returns the genres now left out, by name.
    """
    wanted = {genre_key(str(genre).replace("\x00", "")): str(genre).strip() for genre in genres}
    if "" in wanted:
        raise ValidationError({"excluded_genres": "Name each genre to leave out: a blank, or “N/A”, is no genre."})
    catalog_genres = selectors.genres_in_catalog()
    known = {genre.name for genre in catalog_genres} | set(selectors.excluded_genres_for(user=user))
    unknown = [shown for key, shown in wanted.items() if key not in known]
    if unknown:
        names = ", ".join(f"“{name[:100]}”" for name in sorted(unknown))
        raise ValidationError(
            {
                "excluded_genres": f"The catalog has no genre {names}. Pick from its genres: "
                f"{selectors.genres_in_words(catalog_genres)}."
            }
        )
    with transaction.atomic():
        ExcludedGenre.objects.filter(user=user).exclude(genre__in=wanted).delete()
        ExcludedGenre.objects.bulk_create(
            [ExcludedGenre(user=user, genre=genre) for genre in sorted(wanted)], ignore_conflicts=True
        )
    return sorted(wanted)


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


def rating_restore(*, user: User, song: int, score: int, detection: int | None, emotion: str) -> Rating | None:
    """Put back a rating the user deleted (History's undo); None when its song is gone.

    Its selfie may have been deleted meanwhile: the rating then comes back
    without one, in the emotion it was made in, as `ratings_detach_from` keeps it.
    Two undos at once leave one rating (`rating_upsert`).
    """
    for attempt in range(2):
        song_row = Song.objects.filter(pk=song).first()
        if song_row is None:
            return None
        linked = Detection.objects.filter(pk=detection, user=user).first() if detection else None
        if linked is not None and linked.status != DetectionStatus.DONE:
            linked = None
        try:
            rating, _ = rating_upsert(user=user, song=song_row, score=score, detection=linked, emotion=emotion)
            return rating
        except IntegrityError:
            # The song or the selfie was deleted between the reads above and the write (the foreign keys
            # are checked at commit): read them again, and put the rating back without the selfie, or not at all.
            if attempt:
                raise
    raise AssertionError("unreachable")


def detection_delete(*, detection: Detection) -> None:
    """Delete a selfie and its photo, keeping the ratings made from it, unlinked (`ratings_detach_from`).

    Raises detection's StorageUnavailable (503) when the storage cannot delete the photo: then
    nothing changes, the ratings included.
    """
    with transaction.atomic():
        ratings_detach_from(detection=detection)
        detection_services.detection_delete(detection=detection)


def account_delete_by_owner(*, user: User, password: str, address: str) -> None:
    """The owner deletes their account (`account_delete`), giving its password from the client at `address`.

    The password is checked as a log-in (accounts.services.password_check): a wrong one raises
    ValidationError on "password" and deletes nothing, and counts toward the growing delay, during
    which RateLimited is raised even for the right one.
    """
    if not account_services.password_check(user=user, password=password, address=address):
        raise ValidationError({"password": ["That is not your password. Your account was not deleted."]})
    account_delete(user=user)


def account_delete(*, user: User) -> None:
    """Delete an account and everything stored about it: its photo files first, then its rows.

    Raises detection's StorageUnavailable (503) when the storage cannot delete a photo: the account
    and its rows stay, so that the owner can still see what is kept and try again.
    """
    detection_services.photos_delete_for(user=user)
    account_services.user_delete(user=user)
