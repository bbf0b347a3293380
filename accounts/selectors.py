"""Reads about a user, always the user who asks."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import PhotoRetention, User

# How long "Keep for 24 hours" keeps a photo (the retention sweep deletes it after that).
KEPT_A_DAY = timedelta(hours=24)


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


def photos_deleted_by_retention(*, user: User, retention: str, now: datetime | None = None) -> int:
    """How many of the user's stored photos switching to `retention` deletes at once (0 if it keeps them all)."""
    if retention == user.photo_retention:
        return 0
    stored = user.detections.exclude(image="")
    if retention == PhotoRetention.DELETE_AFTER_ANALYSIS:
        return stored.count()
    if retention == PhotoRetention.KEEP_24_HOURS:
        return stored.filter(created__lt=(now or timezone.now()) - KEPT_A_DAY).count()
    return 0


def username_as_stored(*, username: str) -> str:
    """The stored spelling of a username typed in any case or width ("Alice" → "alice", full-width letters too).

    NFKC first, as Django's forms and sign-up do; the input so normalised if no account matches.
    Usernames are unique whatever their case, so at most one account matches.
    """
    username = User.normalize_username(username).strip()
    # A NUL cannot be in a stored name, and PostgreSQL refuses it in a query; the log-in
    # throttle reads names before any form has checked them.
    if not username or "\x00" in username:
        return username
    stored = User.objects.filter(username__iexact=username).values_list("username", flat=True).first()
    return stored or username


def account_export(*, user: User) -> dict[str, Any]:
    """The data export's account section: the account and its preferences.

    The password hash and the API token are left out: they are credentials, not data about the person.
    """
    return {
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
    }
