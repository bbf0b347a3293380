import json
import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from detection.models import Detection
from recommendations.models import Rating
from tests.factories import TEST_PASSWORD, DetectionFactory, UserFactory

STRONG = "correct-horse-battery-staple-9"


def signup_data(**changes) -> dict:
    return {"username": "alice", "email": "", "password1": STRONG, "password2": STRONG, **changes}


def page_of(response) -> str:
    """The text of a page that answered 200."""
    assert response.status_code == 200
    return response.content.decode()


def logged_in_user_id(client: Client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


class TestSignup:
    def test_the_page_has_the_form(self, client, db):
        response = client.get(reverse("signup"))

        page = page_of(response)
        assert 'name="username"' in page
        assert 'name="password1"' in page
        assert "csrfmiddlewaretoken" in page

    def test_creates_the_account_logs_in_and_goes_home(self, client, db):
        response = client.post(reverse("signup"), signup_data(email="alice@example.com"))

        assert response.status_code == 302
        assert response["Location"] == reverse("home")
        user = User.objects.get(username="alice")
        assert user.email == "alice@example.com"
        assert logged_in_user_id(client) == user.pk

    def test_a_safe_next_is_followed_and_an_outside_one_ignored(self, client, db):
        inside = client.post(reverse("signup") + "?next=/songs/", signup_data())
        client.logout()
        outside = client.post(reverse("signup"), signup_data(username="bob", next="https://evil.example/"))

        assert inside["Location"] == "/songs/"
        assert outside["Location"] == reverse("home")

    @pytest.mark.parametrize("taken", ["alice", "Alice"])
    def test_a_taken_username_shows_an_error(self, client, db, taken):
        UserFactory(username="alice")

        response = client.post(reverse("signup"), signup_data(username=taken))

        assert response.status_code == 200
        assert response.context["form"].errors["username"] == ["That username is taken. Please choose another one."]
        assert User.objects.count() == 1
        assert logged_in_user_id(client) is None

    def test_a_weak_password_shows_the_validators_reason(self, client, db):
        response = client.post(reverse("signup"), signup_data(password1="password", password2="password"))

        assert response.status_code == 200
        assert "This password is too common." in response.context["form"].errors["password1"]
        assert not User.objects.exists()

    def test_different_passwords_are_refused(self, client, db):
        response = client.post(reverse("signup"), signup_data(password2=STRONG + "x"))

        assert response.status_code == 200
        assert response.context["form"].errors["password2"]
        assert not User.objects.exists()

    def test_a_logged_in_user_is_sent_home(self, logged_in):
        response = logged_in.get(reverse("signup"))

        assert response.status_code == 302
        assert response["Location"] == reverse("home")


class TestLoginLogout:
    def test_login_with_good_credentials(self, client, user):
        response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})

        assert response.status_code == 302
        assert response["Location"] == reverse("home")
        assert logged_in_user_id(client) == user.pk

    def test_login_accepts_the_username_in_any_case(self, client, user):
        response = client.post(reverse("login"), {"username": user.username.upper(), "password": TEST_PASSWORD})

        assert response.status_code == 302
        assert logged_in_user_id(client) == user.pk

    def test_login_with_bad_credentials_shows_an_error(self, client, user):
        response = client.post(reverse("login"), {"username": user.username, "password": "wrong-password"})

        assert response.status_code == 200
        assert response.context["form"].errors
        assert logged_in_user_id(client) is None

    def test_the_login_page_links_to_password_reset_and_signup(self, client, db):
        page = client.get(reverse("login")).content.decode()

        assert reverse("password_reset") in page
        assert reverse("signup") in page

    def test_logout_by_get_is_not_allowed(self, logged_in, user):
        response = logged_in.get(reverse("logout"))

        assert response.status_code == 405
        assert logged_in_user_id(logged_in) == user.pk

    def test_logout_by_post(self, logged_in):
        response = logged_in.post(reverse("logout"))

        assert response.status_code == 302
        assert logged_in_user_id(logged_in) is None

    def test_logout_needs_the_csrf_token(self, user):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)

        response = client.post(reverse("logout"))

        assert response.status_code == 403
        assert logged_in_user_id(client) == user.pk


class TestProfile:
    def test_anonymous_is_sent_to_login(self, client, db):
        response = client.get(reverse("profile"))

        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={reverse('profile')}"

    def test_shows_the_current_preferences_explained(self, logged_in, user):
        user.strategy = "calm"
        user.save()

        response = logged_in.get(reverse("profile"))

        page = page_of(response)
        assert re.search(r'<input type="radio" name="strategy" value="calm"[^>]*checked', page)
        assert re.search(r'<input type="radio" name="photo_retention" value="24h"[^>]*checked', page)
        assert "deleted as soon as its emotion is read" in page
        assert 'name="share_photos_for_training"' in page
        assert reverse("account_delete") in page
        assert reverse("password_change") in page

    def test_saves_the_preferences(self, logged_in, user):
        response = logged_in.post(
            reverse("profile"), {"strategy": "uplift", "photo_retention": "delete", "share_photos_for_training": "on"}
        )

        assert response.status_code == 302
        assert response["Location"] == reverse("profile")
        user.refresh_from_db()
        assert (user.strategy, user.photo_retention, user.share_photos_for_training) == ("uplift", "delete", True)

    def test_unticking_sharing_turns_it_off(self, logged_in, user):
        user.share_photos_for_training = True
        user.save()

        logged_in.post(reverse("profile"), {"strategy": "match", "photo_retention": "24h"})

        user.refresh_from_db()
        assert user.share_photos_for_training is False

    def test_a_bad_value_shows_an_error_and_changes_nothing(self, logged_in, user):
        response = logged_in.post(reverse("profile"), {"strategy": "sad", "photo_retention": "24h"})

        assert response.status_code == 200
        assert response.context["form"].errors["strategy"]
        user.refresh_from_db()
        assert user.strategy == "match"


class TestPasswordChange:
    def test_changes_the_password_and_stays_logged_in(self, logged_in, user):
        response = logged_in.post(
            reverse("password_change"),
            {"old_password": TEST_PASSWORD, "new_password1": STRONG, "new_password2": STRONG},
        )

        assert response.status_code == 302
        assert response["Location"] == reverse("password_change_done")
        user.refresh_from_db()
        assert user.check_password(STRONG)
        assert logged_in.get(reverse("password_change_done")).status_code == 200

    def test_a_wrong_old_password_changes_nothing(self, logged_in, user):
        response = logged_in.post(
            reverse("password_change"), {"old_password": "wrong", "new_password1": STRONG, "new_password2": STRONG}
        )

        assert response.status_code == 200
        user.refresh_from_db()
        assert user.check_password(TEST_PASSWORD)

    def test_anonymous_is_sent_to_login(self, client, db):
        response = client.get(reverse("password_change"))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


class TestPasswordReset:
    def test_the_emailed_link_sets_a_new_password(self, client, user):
        response = client.post(reverse("password_reset"), {"email": user.email})

        assert response.status_code == 302
        assert response["Location"] == reverse("password_reset_done")
        assert len(mail.outbox) == 1
        assert mail.outbox[0].to == [user.email]
        assert mail.outbox[0].subject == "Reset your EmoMusic password"
        link = re.search(r"http://testserver(/accounts/password/reset/\S+/\S+/)", mail.outbox[0].body).group(1)

        form_page = client.get(link, follow=True)
        assert form_page.status_code == 200
        assert form_page.context["validlink"]
        saved = client.post(form_page.redirect_chain[-1][0], {"new_password1": STRONG, "new_password2": STRONG})

        assert saved.status_code == 302
        assert saved["Location"] == reverse("password_reset_complete")
        user.refresh_from_db()
        assert user.check_password(STRONG)

    def test_an_unknown_email_sends_nothing_but_says_the_same(self, client, db):
        response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

        assert response.status_code == 302
        assert response["Location"] == reverse("password_reset_done")
        assert mail.outbox == []

    def test_a_bad_link_says_it_no_longer_works(self, client, user):
        response = client.get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))

        assert response.status_code == 200
        assert not response.context["validlink"]
        assert "This link no longer works" in response.content.decode()

    def test_the_pages_render(self, client, db):
        for name in ("password_reset", "password_reset_done", "password_reset_complete"):
            assert client.get(reverse(name)).status_code == 200


class TestAccountDelete:
    def test_anonymous_is_sent_to_login(self, client, db):
        response = client.get(reverse("account_delete"))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_the_confirm_page_says_what_will_go(self, logged_in, user, footprint):
        footprint(user)

        response = logged_in.get(reverse("account_delete"))

        page = page_of(response)
        assert "2 detections" in page
        assert "2 song ratings" in page
        assert 'name="password"' in page
        assert User.objects.filter(pk=user.pk).exists()

    def test_a_wrong_password_deletes_nothing(self, logged_in, user, footprint):
        mine = footprint(user)

        response = logged_in.post(reverse("account_delete"), {"password": "not-my-password"})

        assert response.status_code == 200
        assert response.context["form"].errors["password"]
        assert User.objects.filter(pk=user.pk).exists()
        assert Detection.objects.filter(user=user).count() == 2
        assert all(photo.exists() for photo in mine["photos"])

    def test_the_right_password_deletes_everything_and_logs_out(self, logged_in, user, other_user, footprint):
        mine = footprint(user)
        theirs = footprint(other_user)

        response = logged_in.post(reverse("account_delete"), {"password": TEST_PASSWORD})

        assert response.status_code == 302
        assert response["Location"] == reverse("home")
        assert logged_in_user_id(logged_in) is None
        assert not User.objects.filter(pk=user.pk).exists()
        assert not Detection.objects.filter(user_id=user.pk).exists()
        assert not Rating.objects.filter(user_id=user.pk).exists()
        assert not any(photo.exists() for photo in mine["photos"])
        assert all(photo.exists() for photo in theirs["photos"])
        assert Rating.objects.filter(user=other_user).count() == 2


def login_attempt(client: Client, username: str, password: str, *, address: str):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


class TestLoginRateLimits:
    def test_while_the_delay_runs_even_the_right_password_is_refused_with_the_form(self, client, limits, settings):
        settings.LOGIN_FREE_FAILURES = 2
        alice = UserFactory(username="alice")
        for spelling in ["alice", "ALICE", "alice"]:
            assert login_attempt(client, spelling, "wrong-guess", address="10.0.0.1").status_code == 200

        response = login_attempt(client, "Alice", TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 429
        assert response["Retry-After"] == "1"
        page = response.content.decode()
        assert "Too many attempts. Try again in 1 seconds." in page
        assert 'role="alert"' in page
        assert 'name="password"' in page
        assert 'value="Alice"' in page
        # Refused before the password check, so the page says nothing about whether it was right.
        assert not response.context["form"].is_bound
        assert logged_in_user_id(client) is None
        alice.refresh_from_db()
        assert alice.last_login is None

    def test_failures_elsewhere_never_lock_the_owner_out(self, client, limits, settings):
        settings.LOGIN_FREE_FAILURES = 2
        alice = UserFactory(username="alice")
        for _ in range(10):
            login_attempt(client, "alice", "wrong-guess", address="10.0.0.66")

        response = login_attempt(Client(), "alice", TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 302
        alice.refresh_from_db()
        assert alice.last_login is not None

    def test_the_right_password_logs_in_once_the_delay_passes(self, client, limits, clock, settings):
        settings.LOGIN_FREE_FAILURES = 0
        alice = UserFactory(username="alice")
        login_attempt(client, "alice", "wrong-guess", address="10.0.0.1")
        login_attempt(client, "alice", "wrong-guess", address="10.0.0.1")  # refused: not counted
        assert login_attempt(client, "alice", TEST_PASSWORD, address="10.0.0.1").status_code == 429

        clock.now += 1
        response = login_attempt(client, "alice", TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 302
        assert logged_in_user_id(client) == alice.pk

    def test_other_accounts_log_in_below_the_address_limit(self, client, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        UserFactory(username="alice")
        bob = UserFactory(username="bob")
        for _ in range(3):
            login_attempt(client, "alice", "wrong-guess", address="10.0.0.1")

        response = login_attempt(client, "bob", TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 302
        assert logged_in_user_id(client) == bob.pk

    def test_an_address_is_refused_past_its_limit_and_others_are_not(self, client, limits):
        limits(login_address=2)
        carol = UserFactory(username="carol")
        for username in ["alice", "bob"]:
            login_attempt(client, username, "wrong-guess", address="10.0.0.1")

        refused = login_attempt(client, "carol", TEST_PASSWORD, address="10.0.0.1")
        assert refused.status_code == 429
        assert logged_in_user_id(client) is None
        elsewhere = login_attempt(client, "carol", TEST_PASSWORD, address="10.0.0.2")

        assert elsewhere.status_code == 302
        assert logged_in_user_id(client) == carol.pk

    def test_a_post_without_a_password_shows_the_form_errors_and_is_not_counted(self, client, limits, settings):
        limits(login_address=1)
        settings.LOGIN_FREE_FAILURES = 0
        alice = UserFactory(username="alice")
        for _ in range(3):
            response = client.post(reverse("login"), {"username": "alice", "password": ""})
            assert response.status_code == 200
            assert response.context["form"].errors

        assert login_attempt(client, "alice", TEST_PASSWORD, address="127.0.0.1").status_code == 302
        assert logged_in_user_id(client) == alice.pk


class TestSignupRateLimits:
    def test_an_address_is_refused_past_its_limit_and_nothing_is_created(self, client, limits):
        limits(signup_address=1)
        client.post(reverse("signup"), signup_data(password2="a-typo"), REMOTE_ADDR="10.0.0.1")

        response = client.post(reverse("signup"), signup_data(), REMOTE_ADDR="10.0.0.1")

        assert response.status_code == 429
        assert response["Retry-After"] == "3500"
        assert "Too many attempts. Try again in 3500 seconds." in response.content.decode()
        assert 'name="password1"' in response.content.decode()
        assert not User.objects.exists()
        assert logged_in_user_id(client) is None

    def test_another_address_can_still_sign_up(self, client, limits):
        limits(signup_address=1)
        client.post(reverse("signup"), signup_data(password2="a-typo"), REMOTE_ADDR="10.0.0.1")

        response = client.post(reverse("signup"), signup_data(), REMOTE_ADDR="10.0.0.2")

        assert response.status_code == 302
        assert User.objects.filter(username="alice").exists()


class TestExportDownload:
    def test_the_profile_page_offers_the_download(self, logged_in):
        page = logged_in.get(reverse("profile")).content.decode()

        assert f'href="{reverse("profile_export")}"' in page
        assert "Download my data" in page

    def test_downloads_the_same_document_as_the_api_as_a_file(self, logged_in, user, history):
        rows = history(user)
        user.username = "alice"
        user.save()

        response = logged_in.get(reverse("profile_export"))

        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Content-Disposition"] == 'attachment; filename="emomusic-data-alice.json"'
        assert "no-store" in response["Cache-Control"]
        document = json.loads(response.content)
        from_the_api = logged_in.get("/api/me/export/").json()
        assert {key: value for key, value in document.items() if key != "exported"} == {
            key: value for key, value in from_the_api.items() if key != "exported"
        }
        assert {row["id"] for row in document["detections"]} == {detection.pk for detection in rows["detections"]}

    def test_holds_nothing_of_another_user(self, logged_in, user, other_user, history):
        theirs = history(other_user)

        document = json.loads(logged_in.get(reverse("profile_export")).content)

        assert document["account"]["id"] == user.pk
        assert document["detections"] == document["ratings"] == document["outcomes"] == []
        assert theirs["songs"][0].spotify_id not in json.dumps(document)

    def test_anonymous_is_sent_to_login(self, client, db):
        response = client.get(reverse("profile_export"))

        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_only_get(self, logged_in):
        assert logged_in.post(reverse("profile_export")).status_code == 405


class TestRetentionConfirmation:
    """Switching to a retention that deletes kept photos says how many, and asks first."""

    def kept_photos(self, user, count: int) -> list[Detection]:
        return [DetectionFactory(finished=True, user=user) for _ in range(count)]

    def test_deleting_kept_photos_asks_first_and_says_how_many(self, logged_in, user):
        user.photo_retention = "keep"
        user.save()
        self.kept_photos(user, 3)

        response = logged_in.post(reverse("profile"), {"strategy": "uplift", "photo_retention": "delete"})

        page = page_of(response)
        assert "Delete 3 photos and save" in page
        assert 'name="confirm" value="delete-photos"' in page
        assert '<input type="hidden" name="strategy" value="uplift">' in page
        user.refresh_from_db()
        assert (user.photo_retention, user.strategy) == ("keep", "match")

    def test_the_second_yes_saves(self, logged_in, user):
        user.photo_retention = "keep"
        user.save()
        self.kept_photos(user, 2)

        response = logged_in.post(
            reverse("profile"), {"strategy": "match", "photo_retention": "delete", "confirm": "delete-photos"}
        )

        assert response.status_code == 302 and response["Location"] == reverse("profile")
        user.refresh_from_db()
        assert user.photo_retention == "delete"

    def test_no_photo_to_delete_saves_at_once(self, logged_in, user):
        user.photo_retention = "24h"
        user.save()
        self.kept_photos(user, 1)  # uploaded now: "24h" keeps it, and "keep" deletes nothing

        response = logged_in.post(reverse("profile"), {"strategy": "match", "photo_retention": "keep"})

        assert response.status_code == 302
        user.refresh_from_db()
        assert user.photo_retention == "keep"


class TestPasswordRules:
    def test_sign_up_states_each_password_rule_once(self, client, db):
        page = client.get(reverse("signup")).content.decode()

        assert "at least 8 characters that are not spaces" in page
        assert "must contain at least 8 characters.</li>" not in page
        assert "be entirely numeric" in page

    def test_the_password_change_form_states_them_once_too(self, logged_in):
        page = logged_in.get(reverse("password_change")).content.decode()

        assert "at least 8 characters that are not spaces" in page
        assert "must contain at least 8 characters.</li>" not in page
