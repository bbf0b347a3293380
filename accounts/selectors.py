"""Reads about a user, always the user who asks."""

from collections.abc import Callable
from typing import Any

from django.utils import timezone

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


# The export's sections that other apps own, in the contract's order. accounts sits below them, so
# they register what they keep about a user (in their AppConfig.ready()) instead of being imported here.
EXPORT_SECTIONS = ("detections", "corrections", "outcomes", "ratings")
_export_builders: list[Callable[[User], dict[str, list[dict[str, Any]]]]] = []


def user_export_register(build: Callable[[User], dict[str, list[dict[str, Any]]]]) -> None:
    """Add a builder of export sections (section name -> rows for the user)."""
    if build not in _export_builders:
        _export_builders.append(build)


def _export_sections(user: User) -> dict[str, list[dict[str, Any]]]:
    sections: dict[str, list[dict[str, Any]]] = {}
    for build in _export_builders:
        sections.update(build(user))
    return sections


def user_export(*, user: User) -> dict[str, Any]:
    """Everything stored about the user, for them to download: account, detections, corrections, outcomes, ratings.

    Photos are left out (only whether one is still stored); so are the password
    hash and the API token, which are credentials, not data about the person.
    Blank emotions are None, as in the API.
    """
    sections = _export_sections(user)
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
        # What the apps above keep about the user, in the contract's order.
        **{name: sections[name] for name in EXPORT_SECTIONS if name in sections},
    }
