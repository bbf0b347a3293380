"""Reads about a user, always the user who asks."""

from typing import Any

from django.utils import timezone

from accounts.models import User
from detection.models import Detection, Outcome
from detection.selectors import detection_moods_for
from recommendations.models import Rating


def user_summary(*, user: User) -> dict[str, Any]:
    """The account as the user sees it, with how many detections and ratings it holds."""
    return {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "strategy": user.strategy,
        "photo_retention": user.photo_retention,
        "share_photos_for_training": user.share_photos_for_training,
        "detections": user.detections.count(),
        "ratings": user.ratings.count(),
        "date_joined": user.date_joined,
    }


def username_as_stored(*, username: str) -> str:
    """The stored spelling of a username typed in any case ("Alice" → "alice"); the input if none matches.

    Usernames are unique whatever their case, so at most one account matches.
    """
    username = username.strip()
    stored = User.objects.filter(username__iexact=username).values_list("username", flat=True).first()
    return stored or username


def user_export(*, user: User) -> dict[str, Any]:
    """Everything stored about the user, for them to download: account, detections, corrections, outcomes, ratings.

    Photos are left out (only whether one is still stored); so are the password
    hash and the API token, which are credentials, not data about the person.
    Blank emotions are None, as in the API.
    """
    detections = list(Detection.objects.filter(user=user).order_by("-created", "-id"))
    # Not stored: the mood each detection gets under the user's current strategy, as the pages show it.
    moods = detection_moods_for(detections=detections, strategy=user.strategy)
    outcomes = Outcome.objects.filter(detection__user=user).order_by("-created", "-id")
    ratings = Rating.objects.filter(user=user).select_related("song").order_by("-created", "-id")
    return {
        "exported": timezone.now(),
        "account": {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "strategy": user.strategy,
            "photo_retention": user.photo_retention,
            "share_photos_for_training": user.share_photos_for_training,
        },
        "detections": [
            {
                "id": detection.pk,
                "status": detection.status,
                "created": detection.created,
                "started": detection.started,
                "finished": detection.finished,
                "emotion": detection.emotion or None,
                "confidence": detection.confidence,
                "probabilities": detection.probabilities,
                "faces": detection.faces,
                "mood": mood.mood,
                "corrected_emotion": detection.corrected_emotion or None,
                "error": detection.error,
                "model_version": detection.model_version or None,
                "attempts": detection.attempts,
                "image_width": detection.image_width,
                "image_height": detection.image_height,
                "photo_stored": bool(detection.image),
                "photo_deleted": detection.photo_deleted,
            }
            for detection, mood in zip(detections, moods, strict=True)
        ],
        "corrections": [
            {"id": detection.pk, "emotion": detection.emotion or None, "corrected_emotion": detection.corrected_emotion}
            for detection in detections
            if detection.corrected_emotion
        ],
        "outcomes": [
            {
                "detection": outcome.detection_id,
                "strategy": outcome.strategy,
                "mood_before": outcome.mood_before,
                "mood_after": outcome.mood_after,
                "created": outcome.created,
                "updated": outcome.updated,
            }
            for outcome in outcomes
        ],
        "ratings": [
            {
                "id": rating.pk,
                "song": {
                    "id": rating.song_id,
                    "name": rating.song.name,
                    "artist": rating.song.artist,
                    "spotify_id": rating.song.spotify_id,
                },
                "score": rating.score,
                "detection": rating.detection_id,
                "emotion": rating.emotion or None,
                "created": rating.created,
                "updated": rating.updated,
            }
            for rating in ratings
        ],
    }
