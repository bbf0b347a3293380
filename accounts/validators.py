"""Checks on credentials that Django's own validators let through."""

from collections.abc import Iterable

from confusable_homoglyphs import confusables
from disarm import skeleton_key
from django.core.exceptions import ValidationError

MIXED_SCRIPTS = (
    "This username mixes letters of different alphabets (for example Latin and Cyrillic), so it could pass "
    "for someone else's. Please use letters of one alphabet."
)
LOOKALIKE_USERNAME = (
    "This username looks like another user's (its letters can be mistaken for theirs). Please choose another."
)


class VisibleCharactersValidator:
    """A password needs this many characters that are not spaces: eight spaces are not a password."""

    def __init__(self, min_length: int = 8) -> None:
        self.min_length = min_length

    def validate(self, password: str, user=None) -> None:
        if sum(not character.isspace() for character in password) < self.min_length:
            raise ValidationError(
                f"This password has fewer than {self.min_length} characters that are not spaces. "
                "Please choose a longer one.",
                code="password_mostly_spaces",
            )

    def get_help_text(self) -> str:
        return f"Your password must contain at least {self.min_length} characters that are not spaces."


def username_validate_single_script(username: str) -> None:
    """Refuse a username that mixes scripts ("palice" with its first two letters Cyrillic, beside a Latin "palice")."""
    # Digits, "_" and the other symbols belong to the "Common" script and mix with any alphabet.
    if confusables.is_mixed_script(username, allowed_aliases=["COMMON"]):
        raise ValidationError({"username": [ValidationError(MIXED_SCRIPTS, code="mixed_scripts")]})


def username_skeleton(username: str) -> str:
    """What a username looks like, in lower case: Unicode TR39's skeleton, equal for names that read alike.

    "cope" in Cyrillic letters (U+0441 U+043E U+0440 U+0435) and in Latin ones have one skeleton, and so
    have "bill" and "bi11" (TR39 puts 1, l and I in one class, 0 and O in another). disarm computes it
    from Unicode's confusables table. Never shown: it is only compared.
    """
    return skeleton_key(username, digit_policy="tr39")


def username_validate_unlike(username: str, *, others: Iterable[str]) -> None:
    """Refuse a username that reads as one of `others` (the other users' names), whatever the case of either.

    A name written wholly in another alphabet passes the mixed-script rule; this is the rule that
    keeps it from passing for an existing user.
    """
    skeleton = username_skeleton(username)
    if any(username_skeleton(other) == skeleton for other in others):
        raise ValidationError({"username": [ValidationError(LOOKALIKE_USERNAME, code="lookalike_username")]})
