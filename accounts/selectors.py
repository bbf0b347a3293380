"""Reads about a user, always the user who asks."""

from typing import Any

from accounts.models import User


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
