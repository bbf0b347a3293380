import pytest
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from accounts.models import PhotoRetention, Strategy, User
from accounts.services import (
    auth_token_get_or_create,
    login_attempt_record,
    login_failure_record,
    login_success_record,
    password_reset_attempt_record,
    signup_attempt_record,
    user_create,
    user_password_change,
    user_update_preferences,
)
from detection.models import Detection
from emomusic_site.ratelimit import RateLimited
from recommendations.models import Rating
from recommendations.services import account_delete
from tests.factories import UserFactory

STRONG = "correct-horse-battery-staple-9"


class TestUserCreate:
    def test_creates_a_user_with_a_hashed_password_and_defaults(self, db):
        user = user_create(username="  alice ", password=STRONG, email="Alice@EXAMPLE.com")

        user.refresh_from_db()
        assert user.username == "alice"
        assert user.email == "Alice@example.com"
        assert user.check_password(STRONG)
        assert user.password != STRONG
        assert user.strategy == Strategy.MATCH
        assert user.photo_retention == PhotoRetention.KEEP_24_HOURS
        assert user.share_photos_for_training is False

    def test_email_is_optional(self, db):
        assert user_create(username="bob", password=STRONG).email == ""

    @pytest.mark.parametrize("taken", ["alice", "Alice", "ALICE"])
    def test_a_taken_username_in_any_case_is_refused(self, db, taken):
        UserFactory(username="alice")

        with pytest.raises(ValidationError) as error:
            user_create(username=taken, password=STRONG)

        assert error.value.message_dict == {"username": ["That username is taken. Please choose another one."]}
        assert User.objects.count() == 1

    @pytest.mark.parametrize(
        ("password", "complaint"),
        [
            ("short1", "too short"),
            ("password123", "too common"),
            ("84736251940", "entirely numeric"),
            ("carolinesmith", "too similar"),
        ],
    )
    def test_a_weak_password_is_refused_with_the_validators_reason(self, db, password, complaint):
        with pytest.raises(ValidationError) as error:
            user_create(username="carolinesmith", password=password)

        assert complaint in " ".join(error.value.message_dict["password"])
        assert not User.objects.exists()

    def test_a_bad_username_and_email_are_refused(self, db):
        with pytest.raises(ValidationError) as error:
            user_create(username="no spaces!", password=STRONG, email="not-an-email")

        assert set(error.value.message_dict) == {"username", "email"}
        assert not User.objects.exists()

    def test_an_empty_username_is_refused(self, db):
        with pytest.raises(ValidationError) as error:
            user_create(username="   ", password=STRONG)

        assert "username" in error.value.message_dict


class TestPreferences:
    def test_updates_the_given_preferences_only(self, user):
        user_update_preferences(user=user, strategy="uplift")

        user.refresh_from_db()
        assert (user.strategy, user.photo_retention, user.share_photos_for_training) == ("uplift", "24h", False)

        user_update_preferences(user=user, photo_retention="delete", share_photos_for_training=True)

        user.refresh_from_db()
        assert (user.strategy, user.photo_retention, user.share_photos_for_training) == ("uplift", "delete", True)

    @pytest.mark.parametrize(("field", "value"), [("strategy", "sad"), ("photo_retention", "forever")])
    def test_a_bad_value_is_refused_and_nothing_changes(self, user, field, value):
        with pytest.raises(ValidationError) as error:
            user_update_preferences(user=user, **{field: value})

        assert field in error.value.message_dict
        user.refresh_from_db()
        assert (user.strategy, user.photo_retention) == ("match", "24h")


class TestDelete:
    def test_removes_the_account_its_rows_and_photo_files(self, user, other_user, footprint):
        mine = footprint(user)
        theirs = footprint(other_user)
        assert all(photo.exists() for photo in mine["photos"])

        account_delete(user=user)

        assert not User.objects.filter(pk=user.pk).exists()
        assert not Detection.objects.filter(user_id=user.pk).exists()
        assert not Rating.objects.filter(user_id=user.pk).exists()
        assert not any(photo.exists() for photo in mine["photos"])
        assert Detection.objects.filter(user=other_user).count() == 2
        assert Rating.objects.filter(user=other_user).count() == 2
        assert all(photo.exists() for photo in theirs["photos"])

    def test_removes_the_api_token(self, user):
        auth_token_get_or_create(user=user)

        account_delete(user=user)

        assert not Token.objects.exists()


def test_the_token_is_created_once(user):
    first = auth_token_get_or_create(user=user)

    assert auth_token_get_or_create(user=user) == first
    assert Token.objects.get(user=user).key == first


def login_wait(*, username: str, address: str) -> int:
    """The seconds a log-in attempt is told to wait; it must be refused."""
    with pytest.raises(RateLimited) as refused:
        login_attempt_record(username=username, address=address)
    return refused.value.retry_after_seconds


class TestLoginAttemptRecord:
    def test_failures_grow_the_wait_for_that_account_at_that_address_only(self, limits, settings, clock):
        limits(login_address=100)
        settings.LOGIN_FREE_FAILURES = 2
        for _ in range(2):
            login_attempt_record(username="alice", address="10.0.0.1")
            login_failure_record(username="alice", address="10.0.0.1")
        # Two failures are free; the third costs 1 s, the fourth 2 s, the fifth 4 s.
        login_attempt_record(username="alice", address="10.0.0.1")
        login_failure_record(username="ALICE ", address="10.0.0.1")

        assert login_wait(username="Alice", address="10.0.0.1") == 1
        # Another address, and another account at the same address, are not slowed down.
        login_attempt_record(username="alice", address="10.0.0.2")
        login_attempt_record(username="bob", address="10.0.0.1")

        clock.now += 1
        login_attempt_record(username="alice", address="10.0.0.1")
        login_failure_record(username="alice", address="10.0.0.1")
        assert login_wait(username="alice", address="10.0.0.1") == 2

    def test_the_wait_is_capped_and_a_success_starts_afresh(self, limits, settings, clock):
        settings.LOGIN_FREE_FAILURES = 0
        settings.LOGIN_MAX_DELAY_SECONDS = 60
        for _ in range(20):
            login_failure_record(username="alice", address="10.0.0.1")
        assert login_wait(username="alice", address="10.0.0.1") == 60

        login_success_record(username="alice", address="10.0.0.1")
        login_attempt_record(username="alice", address="10.0.0.1")

    def test_counts_the_address_whatever_the_username(self, limits):
        limits(login_address=2)
        login_attempt_record(username="alice", address="10.0.0.1")
        login_attempt_record(username="bob", address="10.0.0.1")

        with pytest.raises(RateLimited):
            login_attempt_record(username="carol", address="10.0.0.1")
        login_attempt_record(username="carol", address="10.0.0.2")


class TestPasswordResetAttemptRecord:
    def test_counts_per_address_and_per_email_in_any_case(self, limits):
        limits(password_reset_address=2, password_reset_email=2)
        password_reset_attempt_record(email="alice@example.com", address="10.0.0.1")
        password_reset_attempt_record(email="ALICE@example.com", address="10.0.0.2")

        with pytest.raises(RateLimited):
            password_reset_attempt_record(email="Alice@Example.com", address="10.0.0.3")
        password_reset_attempt_record(email="bob@example.com", address="10.0.0.1")
        with pytest.raises(RateLimited):
            password_reset_attempt_record(email="carol@example.com", address="10.0.0.1")


class TestCredentials:
    @pytest.mark.parametrize("password", [" " * 8, " " * 20, "\t\t\t\t\n\n\n\n", "a  b  c  d"])
    def test_a_password_of_spaces_is_refused(self, db, password):
        with pytest.raises(ValidationError) as refused:
            user_create(username="alice", password=password)

        assert "not spaces" in " ".join(refused.value.message_dict["password"])
        assert not User.objects.exists()

    def test_a_passphrase_with_spaces_is_fine(self, db):
        assert user_create(username="alice", password="purple monkey dishwasher 42").pk

    @pytest.mark.parametrize("username", ["\u0440\u0430lice", "p\u0430lice", "\u03b1lice"])
    def test_a_username_mixing_alphabets_is_refused(self, db, username):
        UserFactory(username="palice")
        with pytest.raises(ValidationError) as refused:
            user_create(username=username, password=STRONG)

        assert "alphabet" in refused.value.message_dict["username"][0]
        assert list(User.objects.values_list("username", flat=True)) == ["palice"]

    @pytest.mark.parametrize("username", ["J\u00fcrgen", "\u674e\u5c0f\u9f99", "\u043e\u043b\u044f_2"])
    def test_names_in_one_alphabet_are_accepted(self, db, username):
        assert user_create(username=username, password=STRONG).username == username

    def test_a_full_width_username_is_normalised(self, db):
        UserFactory(username="alice")
        with pytest.raises(ValidationError) as refused:
            user_create(username="\uff41\uff4c\uff49\uff43\uff45", password=STRONG)

        assert "taken" in refused.value.message_dict["username"][0]


class TestPasswordChange:
    def test_the_right_old_password_changes_it_and_ends_every_earlier_token(self, user):
        from tests.factories import TEST_PASSWORD

        old_token = auth_token_get_or_create(user=user)

        new_token = user_password_change(user=user, old_password=TEST_PASSWORD, new_password=STRONG, address="10.0.0.1")

        user.refresh_from_db()
        assert user.check_password(STRONG)
        assert new_token != old_token
        assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [new_token]

    def test_a_wrong_old_password_changes_nothing(self, user):
        old_token = auth_token_get_or_create(user=user)

        with pytest.raises(ValidationError) as refused:
            user_password_change(user=user, old_password="not-it", new_password=STRONG, address="10.0.0.1")

        assert "old_password" in refused.value.message_dict
        assert Token.objects.get(user=user).key == old_token
        user.refresh_from_db()
        assert not user.check_password(STRONG)


def test_signup_attempts_are_counted_per_address(limits):
    limits(signup_address=1)
    signup_attempt_record(address="10.0.0.1")

    with pytest.raises(RateLimited) as refused:
        signup_attempt_record(address="10.0.0.1")

    assert refused.value.retry_after_seconds == 3500
    signup_attempt_record(address="10.0.0.2")
