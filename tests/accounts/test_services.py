import pytest
from django.core.exceptions import ValidationError
from rest_framework.authtoken.models import Token

from accounts.models import PhotoRetention, Strategy, User
from accounts.services import (
    auth_token_get_or_create,
    login_attempt_record,
    signup_attempt_record,
    user_create,
    user_delete,
    user_update_preferences,
)
from detection.models import Detection
from emomusic_site.ratelimit import RateLimited
from recommendations.models import Rating
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

        user_delete(user=user)

        assert not User.objects.filter(pk=user.pk).exists()
        assert not Detection.objects.filter(user_id=user.pk).exists()
        assert not Rating.objects.filter(user_id=user.pk).exists()
        assert not any(photo.exists() for photo in mine["photos"])
        assert Detection.objects.filter(user=other_user).count() == 2
        assert Rating.objects.filter(user=other_user).count() == 2
        assert all(photo.exists() for photo in theirs["photos"])

    def test_removes_the_api_token(self, user):
        auth_token_get_or_create(user=user)

        user_delete(user=user)

        assert not Token.objects.exists()


def test_the_token_is_created_once(user):
    first = auth_token_get_or_create(user=user)

    assert auth_token_get_or_create(user=user) == first
    assert Token.objects.get(user=user).key == first


class TestLoginAttemptRecord:
    def test_counts_the_account_in_any_case_across_addresses(self, limits):
        limits(login_account=2, login_address=100)
        login_attempt_record(username="alice", address="10.0.0.1")
        login_attempt_record(username=" ALICE ", address="10.0.0.2")

        with pytest.raises(RateLimited) as refused:
            login_attempt_record(username="Alice", address="10.0.0.3")

        assert refused.value.retry_after_seconds == 800
        login_attempt_record(username="bob", address="10.0.0.3")

    def test_counts_the_address_whatever_the_username(self, limits):
        limits(login_account=100, login_address=2)
        login_attempt_record(username="alice", address="10.0.0.1")
        login_attempt_record(username="bob", address="10.0.0.1")

        with pytest.raises(RateLimited):
            login_attempt_record(username="carol", address="10.0.0.1")
        login_attempt_record(username="carol", address="10.0.0.2")

    def test_an_attempt_refused_at_the_address_does_not_count_against_the_account(self, limits):
        limits(login_account=1, login_address=1)
        login_attempt_record(username="bob", address="10.0.0.1")
        for _ in range(3):
            with pytest.raises(RateLimited):
                login_attempt_record(username="alice", address="10.0.0.1")

        login_attempt_record(username="alice", address="10.0.0.2")


def test_signup_attempts_are_counted_per_address(limits):
    limits(signup_address=1)
    signup_attempt_record(address="10.0.0.1")

    with pytest.raises(RateLimited) as refused:
        signup_attempt_record(address="10.0.0.1")

    assert refused.value.retry_after_seconds == 3500
    signup_attempt_record(address="10.0.0.2")
