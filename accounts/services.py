"""Writes to accounts: sign-up, preferences, API tokens, account deletion, and counting login and sign-up attempts."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from rest_framework.authtoken.models import Token

from accounts.models import PhotoRetention, Strategy, User
from accounts.validators import username_validate_single_script
from emomusic_site import ratelimit
from emomusic_site.ratelimit import login_delay_check, rate_limit_hit

# Sent before an account is deleted, outside its transaction, with `user`: the apps above accounts
# remove what the database's cascade cannot (detection deletes the photo files in storage). A receiver
# that cannot do so right now raises UserDeleteUnavailable, and the account is not deleted.
user_deleting = Signal()


class UserDeleteUnavailable(Exception):
    """Something the account owns outside the database could not be deleted now; the account stays (503).

    The message is the sentence to show the user.
    """


USERNAME_TAKEN = "That username is taken. Please choose another one."


def login_attempt_record(*, username: str, address: str) -> None:
    """Count one password check from the address, and refuse it while this account must wait at this address.

    Raises RateLimited past the address's limit (any usernames) or while the
    growing delay after failures for (account, address) runs; the caller must
    then not check the password at all, so that even the right one is refused
    until the wait is over (otherwise guessing would go on, merely slower).

    Only failures from the same address slow an account down: nobody can lock
    another person out from somewhere else.
    """
    rate_limit_hit(scope="login_address", key=address)
    if username.strip():
        login_delay_check(username=username, address=address)


def login_failure_record(*, username: str, address: str) -> None:
    """A password check failed: the next one for this account from this address waits longer."""
    if username.strip():
        ratelimit.login_failure_record(username=username, address=address)


def login_success_record(*, username: str, address: str) -> None:
    """The right password: the account starts afresh at this address."""
    ratelimit.login_failures_clear(username=username, address=address)


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


def user_password_change(*, user: User, old_password: str, new_password: str) -> str:
    """Change the password after checking the old one; every earlier token ends and a new one is returned."""
    if not user.check_password(old_password):
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
    """Delete the account and everything stored about it.

    Photo files live in storage, outside the database, so they are deleted
    first (by the receivers of `user_deleting`); the detections, ratings,
    outcomes and token then go with the user row (foreign keys cascade).
    Raises UserDeleteUnavailable, before the user row is touched, when a
    receiver cannot delete what it owns (the photo storage down).
    """
    user_deleting.send(sender=User, user=user)
    with transaction.atomic():
        user.delete()
