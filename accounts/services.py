"""Writes to accounts: sign-up, preferences, API tokens, account deletion, and counting login and sign-up attempts."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts.models import PhotoRetention, Strategy, User
from detection.services import photos_delete_for
from emomusic_site.ratelimit import rate_limit_hit

USERNAME_TAKEN = "That username is taken. Please choose another one."


def login_attempt_record(*, username: str, address: str) -> None:
    """Count one password check for the account and for the address it comes from.

    Raises RateLimited past either limit; the caller must then not check the
    password at all, so that even the right one is refused until the window
    passes (otherwise guessing would go on, merely slower).

    An attempt refused at its address does not count against the account:
    one address flooding someone else's username cannot lock that person out
    for longer than its own share of the account's limit.
    """
    rate_limit_hit(scope="login_address", key=address)
    username = username.strip()
    if username:
        rate_limit_hit(scope="login_account", key=username)


def signup_attempt_record(*, address: str) -> None:
    """Count one sign-up attempt from the address; raises RateLimited past the limit.

    Every attempt counts, failed ones too: a refusal says whether a username
    is taken, which is worth limiting as much as account creation itself.
    """
    rate_limit_hit(scope="signup_address", key=address)


def user_create(*, username: str, password: str, email: str = "") -> User:
    """Create an account after the checks a person can act on: a free username, a valid email, a strong password.

    Usernames are unique whatever their case ("Alice" and "alice" are one person).
    """
    username = username.strip()
    email = User.objects.normalize_email(email.strip())
    user = User(username=username, email=email)
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"], validate_constraints=False, validate_unique=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    if username and User.objects.filter(username__iexact=username).exists():
        errors["username"] = [USERNAME_TAKEN]
    try:
        validate_password(password, user=user)
    except ValidationError as error:
        errors["password"] = error.messages
    if errors:
        raise ValidationError(errors)

    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as error:
        # Another sign-up took the name between the check and the insert.
        raise ValidationError({"username": [USERNAME_TAKEN]}) from error
    return user


def user_update_preferences(
    *,
    user: User,
    strategy: str | None = None,
    photo_retention: str | None = None,
    share_photos_for_training: bool | None = None,
) -> User:
    """Change the given preferences (None leaves one as it is)."""
    changed: list[str] = []
    if strategy is not None:
        if strategy not in Strategy.values:
            raise ValidationError({"strategy": f"Choose one of {', '.join(Strategy.values)}, not {strategy!r}."})
        user.strategy = strategy
        changed.append("strategy")
    if photo_retention is not None:
        if photo_retention not in PhotoRetention.values:
            raise ValidationError(
                {"photo_retention": f"Choose one of {', '.join(PhotoRetention.values)}, not {photo_retention!r}."}
            )
        user.photo_retention = photo_retention
        changed.append("photo_retention")
    if share_photos_for_training is not None:
        user.share_photos_for_training = bool(share_photos_for_training)
        changed.append("share_photos_for_training")
    if changed:
        user.save(update_fields=changed)
    return user


def auth_token_get_or_create(*, user: User) -> str:
    """The user's API token key (one per user, created on first use)."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def user_delete(*, user: User) -> None:
    """Delete the account and everything stored about it.

    Photo files live in storage, outside the database, so they are deleted
    first; the detections, ratings, outcomes and token then go with the user
    row (foreign keys cascade).
    """
    photos_delete_for(user=user)
    with transaction.atomic():
        user.delete()
