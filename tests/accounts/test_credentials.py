"""The second red-team round on credentials: limits per real client, the admin's log-in, tokens, password resets."""

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import TEST_PASSWORD, UserFactory

STRONG = "correct-horse-battery-staple-9"
PROXY = "10.0.0.2"


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


class TestBehindTheProxy:
    def test_limits_count_each_client_not_the_proxy(self, anon_client, limits, settings):
        limits(login_address=3)
        settings.TRUSTED_PROXIES = [PROXY]
        UserFactory(username="bob")
        for _ in range(4):
            anon_client.post(
                "/api/auth/token/",
                {"username": "alice", "password": "guess"},
                format="json",
                REMOTE_ADDR=PROXY,
                HTTP_X_FORWARDED_FOR="198.51.100.66",
            )

        response = anon_client.post(
            "/api/auth/token/",
            {"username": "bob", "password": TEST_PASSWORD},
            format="json",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="198.51.100.7",
        )

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user__username="bob").key}

    def test_without_trusted_proxies_a_client_cannot_dodge_the_limit_with_a_header(self, anon_client, limits):
        limits(login_address=2)
        for number in range(3):
            response = anon_client.post(
                "/api/auth/token/",
                {"username": "alice", "password": "guess"},
                format="json",
                REMOTE_ADDR="203.0.113.9",
                HTTP_X_FORWARDED_FOR=f"198.51.100.{number}",
            )

        assert response.status_code == 429


class TestAdminLogin:
    def admin_login(self, client: Client, password: str, *, address: str = "10.0.0.1"):
        return client.post(
            "/admin/login/?next=/admin/", {"username": "root", "password": password}, REMOTE_ADDR=address
        )

    def test_guessing_is_slowed_then_refused_even_with_the_right_password(self, client, limits, settings):
        settings.LOGIN_FREE_FAILURES = 3
        UserFactory(username="root", staff=True)
        for _ in range(4):
            assert self.admin_login(client, "wrong-guess").status_code == 200

        response = self.admin_login(client, TEST_PASSWORD)

        assert response.status_code == 429
        assert response["Retry-After"] == "1"
        assert "Too many attempts" in response.content.decode()
        assert SESSION_KEY not in client.session

    def test_the_address_limit_holds_for_the_admin_too(self, client, limits):
        limits(login_address=2)
        UserFactory(username="root", staff=True)
        for _ in range(2):
            self.admin_login(client, "wrong-guess")

        assert self.admin_login(client, TEST_PASSWORD).status_code == 429

    def test_below_the_limits_the_admin_logs_in(self, client, limits):
        root = UserFactory(username="root", staff=True)
        self.admin_login(client, "wrong-guess")

        response = self.admin_login(client, TEST_PASSWORD)

        assert response.status_code == 302
        assert response["Location"] == "/admin/"
        assert int(client.session[SESSION_KEY]) == root.pk

    def test_the_page_still_opens(self, client, db):
        response = client.get("/admin/login/")

        assert response.status_code == 200
        assert 'name="password"' in response.content.decode()


class TestPasswordReset:
    def test_one_address_gets_a_few_emails_then_429(self, client, limits):
        limits(password_reset_email=3, password_reset_address=100)
        UserFactory(username="victim", email="victim@example.com")
        statuses = [
            client.post(
                reverse("password_reset"), {"email": "victim@example.com"}, REMOTE_ADDR=f"10.0.0.{n}"
            ).status_code
            for n in range(6)
        ]

        assert statuses == [302, 302, 302, 429, 429, 429]
        assert len(mail.outbox) == 3

    def test_one_client_is_limited_whatever_the_addresses(self, client, limits):
        limits(password_reset_email=100, password_reset_address=2)
        for number in range(2):
            assert client.post(reverse("password_reset"), {"email": f"u{number}@example.com"}).status_code == 302

        response = client.post(reverse("password_reset"), {"email": "u9@example.com"})

        assert response.status_code == 429
        assert "Too many attempts" in response.content.decode()
        assert response["Retry-After"]


class TestTokens:
    def test_delete_revokes_the_token_used(self, user):
        key = Token.objects.create(user=user).key
        client = token_client(key)

        response = client.delete("/api/auth/token/")

        assert response.status_code == 204
        assert not Token.objects.filter(user=user).exists()
        assert client.get("/api/me/").status_code == 401

    def test_delete_without_a_token_is_401(self, anon_client):
        assert anon_client.delete("/api/auth/token/").status_code == 401

    def test_changing_the_password_returns_a_new_token_and_ends_the_old(self, user, limits):
        old = Token.objects.create(user=user).key

        response = token_client(old).post(
            "/api/auth/password/", {"old_password": TEST_PASSWORD, "new_password": STRONG}, format="json"
        )

        assert response.status_code == 200
        new = response.json()["token"]
        assert new != old
        assert token_client(old).get("/api/me/").status_code == 401
        assert token_client(new).get("/api/me/").status_code == 200
        user.refresh_from_db()
        assert user.check_password(STRONG)

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"old_password": "not-it", "new_password": STRONG}, "old_password"),
            ({"old_password": TEST_PASSWORD, "new_password": "        "}, "new_password"),
            ({"old_password": TEST_PASSWORD, "new_password": "123"}, "new_password"),
            ({"old_password": TEST_PASSWORD}, "new_password"),
        ],
    )
    def test_bad_changes_are_400_and_change_nothing(self, user, limits, body, field):
        old = Token.objects.create(user=user).key

        response = token_client(old).post("/api/auth/password/", body, format="json")

        assert response.status_code == 400
        assert response.json()[field]
        assert token_client(old).get("/api/me/").status_code == 200
        user.refresh_from_db()
        assert user.check_password(TEST_PASSWORD)

    def test_guessing_the_old_password_with_a_stolen_token_is_slowed(self, user, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        client = token_client(Token.objects.create(user=user).key)
        for _ in range(2):
            client.post("/api/auth/password/", {"old_password": "guess", "new_password": STRONG}, format="json")

        response = client.post(
            "/api/auth/password/", {"old_password": TEST_PASSWORD, "new_password": STRONG}, format="json"
        )

        assert response.status_code == 429
        user.refresh_from_db()
        assert user.check_password(TEST_PASSWORD)

    def test_anonymous_password_change_is_401(self, anon_client):
        assert anon_client.post("/api/auth/password/", {}, format="json").status_code == 401

    def test_a_password_change_on_the_site_ends_the_tokens(self, client, user):
        key = Token.objects.create(user=user).key
        client.force_login(user)

        response = client.post(
            reverse("password_change"),
            {"old_password": TEST_PASSWORD, "new_password1": STRONG, "new_password2": STRONG},
        )

        assert response.status_code == 302
        assert token_client(key).get("/api/me/").status_code == 401
        assert not Token.objects.filter(user=user).exists()

    def test_a_password_reset_ends_the_tokens(self, client, user, limits):
        user.email = "alice@example.com"
        user.save()
        key = Token.objects.create(user=user).key
        client.post(reverse("password_reset"), {"email": "alice@example.com"})
        link = re.search(r"/accounts/password/reset/\S+/\S+/", mail.outbox[0].body).group(0)
        form_url = client.get(link)["Location"]

        response = client.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})

        assert response.status_code == 302
        assert token_client(key).get("/api/me/").status_code == 401
        user.refresh_from_db()
        assert user.check_password(STRONG)


class TestWeakCredentials:
    def test_a_password_of_eight_spaces_is_refused_by_the_api(self, anon_client, db):
        response = anon_client.post("/api/auth/signup/", {"username": "alice", "password": " " * 8}, format="json")

        assert response.status_code == 400
        assert "not spaces" in " ".join(response.json()["password"])
        assert not User.objects.exists()

    def test_a_username_mixing_alphabets_is_refused_on_the_site(self, client, db):
        UserFactory(username="palice")
        data = {"username": "\u0440\u0430lice", "email": "", "password1": STRONG, "password2": STRONG}

        response = client.post(reverse("signup"), data)

        assert response.status_code == 200
        assert "alphabet" in response.content.decode()
        assert list(User.objects.values_list("username", flat=True)) == ["palice"]


@pytest.mark.parametrize("path", ["/api/me/", "/api/me/export/"])
def test_personal_data_is_never_stored_by_a_cache(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
