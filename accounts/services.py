"""Writes to accounts: sign-up, preferences, API tokens, account deletion, and counting login and sign-up attempts."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from accounts.models import PhotoRetention, Strategy, User
from accounts.selectors import username_as_stored
from accounts.validators import username_validate_single_script
from emomusic_site import ratelimit
from emomusic_site.ratelimit import login_delay_check, rate_limit_hit

USERNAME_TAKEN = "That username is taken. Please choose another one."


def login_attempt_record(*, username: str, address: str) -> None:
    """Count one password check from the client, and refuse it while this account must wait there.

    Raises RateLimited past the client's limit (any usernames) or while the
    growing delay after failures runs (emomusic_site.ratelimit); the caller must
    then not check the password at all, so that even the right one is refused
    until the wait is over (otherwise guessing would go on, merely slower).

    The username may be typed in any case or width ("ALICE", or in full-width
    letters): every spelling that logs in to one account counts as that account.
    """
    rate_limit_hit(scope="login_address", key=address)
    username = username_as_stored(username=username)
    if username:
        login_delay_check(username=username, address=address)


def login_failure_record(*, username: str, address: str) -> None:
    """A password check failed: the next one for this account waits longer at this client (and, past more, anywhere)."""
    username = username_as_stored(username=username)
    if username:
        ratelimit.login_failure_record(username=username, address=address)


def login_success_record(*, username: str, address: str) -> None:
    """The right password: the account starts afresh at this client."""
    ratelimit.login_failures_clear(username=username_as_stored(username=username), address=address)


def password_check(*, user: User, password: str, address: str) -> bool:
    """Whether the password is the signed-in user's, counted as a log-in: raises RateLimited while refused.

    Changing the password and deleting the account ask for it; a stolen
    session or token must not become a way to guess it faster than a log-in.
    """
    login_attempt_record(username=user.get_username(), address=address)
    if not user.check_password(password):
        login_failure_record(username=user.get_username(), address=address)
        return False
    login_success_record(username=user.get_username(), address=address)
    return True


def password_reset_attempt_record(*, email: str, address: str) -> None:
    """Count one password-reset request per address and per email; raises RateLimited past either limit.

    Counted whether or not an account has the address, so a refusal says
    nothing about who is registered.
    """
    rate_limit_hit(scope="password_reset_address", key=address)
    email = email.strip()
    if email:
        rate_limit_hit(scope="password_reset_email", key=email)


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
    # NFKC, as Django's forms do: "alice" typed in full-width letters is "alice".
    username = User.normalize_username(username.strip())
    email = User.objects.normalize_email(email.strip())
    user = User(username=username, email=email)
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"], validate_constraints=False, validate_unique=False)
    except ValidationError as error:
        errors.update(error.message_dict)
    try:
        username_validate_single_script(username)
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


def auth_tokens_revoke(*, user: User) -> None:
    """End every API token of the user (a password change or reset, a sign-out of the API)."""
    Token.objects.filter(user=user).delete()


def user_password_change(*, user: User, old_password: str, new_password: str, address: str) -> str:
    """Change the password after checking the old one; every earlier token ends and a new one is returned.

    The old password is checked as a log-in from `address` (`password_check`): raises RateLimited while refused.
    """
    if not password_check(user=user, password=old_password, address=address):
        raise ValidationError({"old_password": ["That is not your current password."]})
    try:
        validate_password(new_password, user=user)
    except ValidationError as error:
        raise ValidationError({"new_password": error.messages}) from error
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        auth_tokens_revoke(user=user)
        return auth_token_get_or_create(user=user)


def user_delete(*, user: User) -> None:
    """Delete the account row; its detections, ratings, outcomes and token go with it (foreign keys cascade).

    The photo files live in storage, outside the database: deleting a whole account starts with them
    (recommendations.services.account_delete).
    """
    with transaction.atomic():
        user.delete()
