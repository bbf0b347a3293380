"""Password guessing: every place that checks a password shares one growing delay, whatever the spelling or address.

The checks are the site's and the admin's log-in, POST /api/auth/token/, and the three that need the password of
a signed-in user: changing it (site and API) and deleting the account (site and API).
"""

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from accounts.selectors import username_as_stored
from detection.models import Detection
from emomusic_site.ratelimit import client_address
from tests.factories import TEST_PASSWORD, UserFactory

STRONG = "correct-horse-battery-staple-9"
# "alice" in full-width letters (U+FF41 ...): NFKC, which Django's forms apply, makes it "alice".
FULL_WIDTH_ALICE = "\uff41\uff4c\uff49\uff43\uff45"
NETWORK = "2001:db8:7:1"


def token_attempt(username: str, password: str, *, address: str):
    return APIClient().post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


def login_attempt(username: str, password: str, *, address: str):
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)
    return response, client


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def guess_twice_through_the_api(user: User) -> None:
    api = token_client(user)
    for _ in range(2):
        api.post("/api/auth/password/", {"old_password": "guess", "new_password": STRONG}, format="json")


def assert_refused_with_the_form(response, field: str) -> None:
    """A page refused for too many attempts: 429 with Retry-After, the message, and the form to try again."""
    assert response.status_code == 429
    assert response["Retry-After"] == "1"
    page = response.content.decode()
    assert "Too many attempts. Try again in 1 seconds." in page
    assert f'name="{field}"' in page


class TestFullWidthNames:
    @pytest.mark.parametrize(("guessed_as", "tried_as"), [("alice", FULL_WIDTH_ALICE), (FULL_WIDTH_ALICE, "alice")])
    def test_the_site_log_in_counts_both_spellings_as_one_account(self, limits, settings, guessed_as, tried_as):
        settings.LOGIN_FREE_FAILURES = 2
        alice = UserFactory(username="alice")
        for _ in range(3):
            assert login_attempt(guessed_as, "wrong-guess", address="10.0.0.1")[0].status_code == 200

        response, client = login_attempt(tried_as, TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 429
        assert response["Retry-After"] == "1"
        assert SESSION_KEY not in client.session
        alice.refresh_from_db()
        assert alice.last_login is None

    @pytest.mark.parametrize(("guessed_as", "tried_as"), [("alice", FULL_WIDTH_ALICE), (FULL_WIDTH_ALICE, "alice")])
    def test_the_token_endpoint_counts_both_spellings_as_one_account(self, limits, settings, guessed_as, tried_as):
        settings.LOGIN_FREE_FAILURES = 2
        alice = UserFactory(username="alice")
        for _ in range(3):
            assert token_attempt(guessed_as, "wrong-guess", address="10.0.0.1").status_code == 400

        response = token_attempt(tried_as, TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 429
        assert response.json() == {"detail": "Too many attempts. Try again in 1 seconds."}
        assert not Token.objects.filter(user=alice).exists()

    def test_the_full_width_name_logs_in_through_the_api_as_on_the_site(self, limits):
        alice = UserFactory(username="alice")

        response = token_attempt(FULL_WIDTH_ALICE, TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=alice).key}

    def test_the_admin_log_in_counts_both_spellings_as_one_account(self, limits, settings):
        settings.LOGIN_FREE_FAILURES = 2
        UserFactory(username="alice", staff=True)
        client = Client()
        for _ in range(3):
            client.post("/admin/login/?next=/admin/", {"username": "alice", "password": "wrong-guess"})

        response = client.post("/admin/login/?next=/admin/", {"username": FULL_WIDTH_ALICE, "password": TEST_PASSWORD})

        assert response.status_code == 429
        assert SESSION_KEY not in client.session


class TestIpv6Networks:
    def test_an_ipv6_client_is_its_64_network(self, rf, settings):
        settings.TRUSTED_PROXIES = []

        assert client_address(rf.get("/", REMOTE_ADDR=f"{NETWORK}::1")) == f"{NETWORK}::/64"
        assert client_address(rf.get("/", REMOTE_ADDR=f"{NETWORK}:ffff:1:2:3")) == f"{NETWORK}::/64"
        assert client_address(rf.get("/", REMOTE_ADDR="::ffff:198.51.100.7")) == "198.51.100.7"
        assert client_address(rf.get("/", REMOTE_ADDR="198.51.100.7")) == "198.51.100.7"

    def test_behind_a_trusted_proxy_the_forwarded_ipv6_client_is_its_64_network(self, rf, settings):
        settings.TRUSTED_PROXIES = ["127.0.0.1"]

        request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{NETWORK}::abcd")

        assert client_address(request) == f"{NETWORK}::/64"

    def test_forty_guesses_from_forty_addresses_of_one_64_are_slowed(self, limits):
        UserFactory(username="alice")

        statuses = [token_attempt("alice", "wrong-guess", address=f"{NETWORK}::{n:x}").status_code for n in range(40)]

        # LOGIN_FREE_FAILURES (5) and a sixth that starts the wait; every later one is refused unchecked.
        assert statuses == [400] * 6 + [429] * 34
        assert token_attempt("alice", TEST_PASSWORD, address=f"{NETWORK}::ffff").status_code == 429
        # Another network is another client.
        assert token_attempt("alice", TEST_PASSWORD, address="2001:db8:8:1::1").status_code == 200

    def test_the_address_limit_counts_the_whole_64(self, limits):
        limits(login_address=3)
        for number in range(3):
            token_attempt(f"someone{number}", "wrong-guess", address=f"{NETWORK}::{number + 1}")

        assert token_attempt("someone9", "wrong-guess", address=f"{NETWORK}::99").status_code == 429


class TestAccountCeiling:
    """Failures from every address together slow the account down, with a cap, except where its owner logs in."""

    def guess_from_many_networks(self, count: int) -> list[int]:
        return [token_attempt("alice", "wrong-guess", address=f"198.51.100.{n}").status_code for n in range(count)]

    def test_guesses_spread_over_addresses_are_slowed_then_refused(self, limits, settings):
        settings.LOGIN_ACCOUNT_FREE_FAILURES = 3
        alice = UserFactory(username="alice")

        statuses = self.guess_from_many_networks(40)

        assert statuses == [400] * 4 + [429] * 36
        refused = token_attempt("alice", TEST_PASSWORD, address="203.0.113.50")
        assert refused.status_code == 429
        assert refused["Retry-After"] == "1"
        assert not Token.objects.filter(user=alice).exists()

    def test_the_wait_grows_and_is_capped_so_the_owner_always_gets_in(self, limits, settings, clock):
        settings.LOGIN_ACCOUNT_FREE_FAILURES = 0
        settings.LOGIN_MAX_DELAY_SECONDS = 60
        alice = UserFactory(username="alice")
        waits = []
        for number in range(12):
            response = token_attempt("alice", "wrong-guess", address=f"198.51.100.{number}")
            assert response.status_code == 400  # each guess waited for its turn
            refused = token_attempt("alice", TEST_PASSWORD, address="203.0.113.50")
            assert refused.status_code == 429
            waits.append(int(refused["Retry-After"]))
            clock.now += waits[-1]

        assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]
        response = token_attempt("alice", TEST_PASSWORD, address="203.0.113.50")
        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=alice).key}

    def test_the_owner_is_not_slowed_where_they_logged_in_before(self, limits, settings):
        settings.LOGIN_ACCOUNT_FREE_FAILURES = 3
        alice = UserFactory(username="alice")
        response, _ = login_attempt("alice", TEST_PASSWORD, address="203.0.113.50")
        assert response.status_code == 302

        self.guess_from_many_networks(10)

        response, client = login_attempt("alice", TEST_PASSWORD, address="203.0.113.50")
        assert response.status_code == 302
        assert int(client.session[SESSION_KEY]) == alice.pk
        # Anywhere else the account still waits.
        assert token_attempt("alice", TEST_PASSWORD, address="203.0.113.51").status_code == 429


class TestSitePasswordChange:
    def change(self, client: Client, old_password: str):
        return client.post(
            reverse("password_change"),
            {"old_password": old_password, "new_password1": STRONG, "new_password2": STRONG},
        )

    def test_wrong_old_passwords_are_slowed_then_refused_with_the_form(self, user, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        client = signed_in(user)
        for _ in range(2):
            assert self.change(client, "wrong-guess").status_code == 200

        response = self.change(client, TEST_PASSWORD)

        assert_refused_with_the_form(response, "old_password")
        user.refresh_from_db()
        assert user.check_password(TEST_PASSWORD)

    def test_forty_wrong_passwords_meet_the_default_limit(self, user, limits):
        client = signed_in(user)

        statuses = [self.change(client, f"wrong-{number}").status_code for number in range(40)]

        assert statuses == [200] * 6 + [429] * 34

    def test_shares_the_apis_counter(self, user, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        guess_twice_through_the_api(user)

        assert self.change(signed_in(user), TEST_PASSWORD).status_code == 429

    def test_the_right_password_still_changes_it(self, user, limits):
        client = signed_in(user)
        self.change(client, "wrong-guess")

        response = self.change(client, TEST_PASSWORD)

        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password(STRONG)


class TestSiteAccountDelete:
    def delete(self, client: Client, password: str):
        return client.post(reverse("account_delete"), {"password": password})

    def test_wrong_passwords_are_slowed_then_refused_with_the_form(self, user, limits, settings, footprint):
        settings.LOGIN_FREE_FAILURES = 1
        footprint(user)
        client = signed_in(user)
        for _ in range(2):
            response = self.delete(client, "wrong-guess")
            assert response.status_code == 200
            assert response.context["form"].errors["password"]

        response = self.delete(client, TEST_PASSWORD)

        assert_refused_with_the_form(response, "password")
        assert User.objects.filter(pk=user.pk).exists()
        assert Detection.objects.filter(user=user).count() == 2

    def test_forty_wrong_passwords_meet_the_default_limit(self, user, limits):
        client = signed_in(user)

        statuses = [self.delete(client, f"wrong-{number}").status_code for number in range(40)]

        assert statuses == [200] * 6 + [429] * 34
        assert User.objects.filter(pk=user.pk).exists()

    def test_shares_the_apis_counter(self, user, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        guess_twice_through_the_api(user)

        assert self.delete(signed_in(user), TEST_PASSWORD).status_code == 429
        assert User.objects.filter(pk=user.pk).exists()


class TestApiAccountDelete:
    def delete(self, client: APIClient, body: dict | None):
        return client.delete("/api/me/", body, format="json")

    @pytest.mark.parametrize("body", [None, {}, {"password": ""}, {"password": "not-my-password"}])
    def test_a_missing_or_wrong_password_is_400_and_deletes_nothing(self, user, limits, footprint, body):
        mine = footprint(user)
        client = token_client(user)

        response = self.delete(client, body)

        assert response.status_code == 400
        assert list(response.json()) == ["password"]
        assert User.objects.filter(pk=user.pk).exists()
        assert Detection.objects.filter(user=user).count() == 2
        assert all(photo.exists() for photo in mine["photos"])
        assert client.get("/api/me/").status_code == 200

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [("[]", "application/json"), ('{"password": ', "application/json"), ('{"password": 7}', "application/json")],
    )
    def test_a_malformed_body_is_400_and_deletes_nothing(self, user, limits, body, content_type):
        client = token_client(user)

        response = client.generic("DELETE", "/api/me/", body, content_type=content_type)

        assert response.status_code == 400
        assert User.objects.filter(pk=user.pk).exists()

    def test_the_right_password_deletes_the_account(self, user, limits, footprint):
        mine = footprint(user)
        client = token_client(user)

        response = self.delete(client, {"password": TEST_PASSWORD})

        assert response.status_code == 204
        assert not User.objects.filter(pk=user.pk).exists()
        assert not any(photo.exists() for photo in mine["photos"])
        assert client.get("/api/me/").status_code == 401

    def test_wrong_passwords_are_slowed_then_refused(self, user, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        client = token_client(user)
        for _ in range(2):
            assert self.delete(client, {"password": "wrong-guess"}).status_code == 400

        response = self.delete(client, {"password": TEST_PASSWORD})

        assert response.status_code == 429
        assert response.json() == {"detail": "Too many attempts. Try again in 1 seconds."}
        assert response["Retry-After"] == "1"
        assert User.objects.filter(pk=user.pk).exists()

    def test_shares_the_counter_of_the_other_password_checks(self, user, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        for _ in range(2):
            self.delete(token_client(user), {"password": "wrong-guess"})

        password_change = token_client(user).post(
            "/api/auth/password/", {"old_password": TEST_PASSWORD, "new_password": STRONG}, format="json"
        )

        assert password_change.status_code == 429
        assert self.delete(token_client(user), {"password": TEST_PASSWORD}).status_code == 429
        assert token_attempt(user.username, TEST_PASSWORD, address="127.0.0.1").status_code == 429
        user.refresh_from_db()
        assert user.check_password(TEST_PASSWORD)


def test_a_name_with_a_nul_is_counted_without_a_query_postgresql_would_refuse(limits, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert username_as_stored(username="ali\x00ce") == "ali\x00ce"
    response, _ = login_attempt("ali\x00ce", "wrong-guess", address="10.0.0.1")
    assert response.status_code == 200
