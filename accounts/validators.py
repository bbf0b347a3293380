"""Checks on credentials that Django's own validators let through."""

from confusable_homoglyphs import confusables
from django.core.exceptions import ValidationError

MIXED_SCRIPTS = (
    "This username mixes letters of different alphabets (for example Latin and Cyrillic), so it could pass "
    "for someone else's. Please use letters of one alphabet."
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
