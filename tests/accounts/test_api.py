import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from detection.models import Detection
from recommendations.models import Rating
from tests.factories import TEST_PASSWORD, UserFactory

STRONG = "correct-horse-battery-staple-9"
ME_FIELDS = {
    "id",
    "username",
    "email",
    "strategy",
    "photo_retention",
    "share_photos_for_training",
    "detections",
    "ratings",
    "date_joined",
    "excluded_genres",
}


@pytest.fixture
def csrf_client() -> APIClient:
    """A client that, like a browser, gets CSRF checks on session requests."""
    return APIClient(enforce_csrf_checks=True)


class TestSignup:
    def test_creates_the_account_and_returns_a_working_token(self, anon_client, db):
        response = anon_client.post(
            "/api/auth/signup/", {"username": "alice", "password": STRONG, "email": "a@example.com"}, format="json"
        )

        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "username", "token"}
        user = User.objects.get(username="alice")
        assert (body["id"], body["username"], user.email) == (user.pk, "alice", "a@example.com")
        assert Token.objects.get(user=user).key == body["token"]
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
        assert client.get("/api/me/").json()["username"] == "alice"

    def test_is_not_blocked_by_csrf(self, csrf_client, db):
        response = csrf_client.post("/api/auth/signup/", {"username": "alice", "password": STRONG}, format="json")

        assert response.status_code == 201

    def test_is_not_blocked_by_csrf_even_with_a_session_cookie(self, csrf_client, user):
        csrf_client.force_login(user)

        response = csrf_client.post("/api/auth/signup/", {"username": "alice", "password": STRONG}, format="json")

        assert response.status_code == 201

    @pytest.mark.parametrize("taken", ["alice", "ALICE", "Alice"])
    def test_a_taken_username_in_any_case_is_400(self, anon_client, db, taken):
        UserFactory(username="alice")

        response = anon_client.post("/api/auth/signup/", {"username": taken, "password": STRONG}, format="json")

        assert response.status_code == 400
        assert response.json() == {"username": ["That username is taken. Please choose another one."]}
        assert User.objects.count() == 1

    @pytest.mark.parametrize("password", ["123", "password", "12345678901", "alice1234"])
    def test_a_password_the_validators_reject_is_400(self, anon_client, db, password):
        response = anon_client.post("/api/auth/signup/", {"username": "alice", "password": password}, format="json")

        assert response.status_code == 400
        assert response.json()["password"]
        assert not User.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [{}, {"username": "alice"}, {"password": STRONG}, {"username": "alice", "password": STRONG, "email": "nope"}],
    )
    def test_missing_or_malformed_fields_are_400(self, anon_client, db, body):
        response = anon_client.post("/api/auth/signup/", body, format="json")

        assert response.status_code == 400
        assert not User.objects.exists()

    def test_a_body_that_is_not_json_is_400(self, anon_client, db):
        response = anon_client.post("/api/auth/signup/", "{not json", content_type="application/json")

        assert response.status_code == 400


class TestToken:
    def test_good_credentials_give_the_users_token(self, anon_client, user):
        response = anon_client.post(
            "/api/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=user).key}

    def test_the_username_may_be_typed_in_any_case(self, anon_client, user):
        response = anon_client.post(
            "/api/auth/token/", {"username": user.username.upper(), "password": TEST_PASSWORD}, format="json"
        )

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=user).key}

    def test_the_same_token_twice(self, anon_client, user):
        credentials = {"username": user.username, "password": TEST_PASSWORD}

        first = anon_client.post("/api/auth/token/", credentials, format="json").json()["token"]
        second = anon_client.post("/api/auth/token/", credentials, format="json").json()["token"]

        assert first == second

    @pytest.mark.parametrize(
        "credentials",
        [{"password": "wrong-password-123"}, {"username": "nobody"}, {"username": "", "password": ""}],
    )
    def test_bad_credentials_are_400(self, anon_client, user, credentials):
        body = {"username": user.username, "password": TEST_PASSWORD, **credentials}

        response = anon_client.post("/api/auth/token/", body, format="json")

        assert response.status_code == 400
        assert "token" not in response.json()
        assert not Token.objects.exists()

    def test_an_inactive_user_gets_no_token(self, anon_client, user):
        user.is_active = False
        user.save()

        response = anon_client.post(
            "/api/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )

        assert response.status_code == 400

    def test_is_not_blocked_by_csrf(self, csrf_client, user):
        response = csrf_client.post(
            "/api/auth/token/", {"username": user.username, "password": TEST_PASSWORD}, format="json"
        )

        assert response.status_code == 200


class TestMe:
    def test_shows_the_account_and_its_own_counts_only(self, api_client, user, other_user, footprint):
        footprint(user)
        footprint(other_user)
        footprint(other_user)

        response = api_client.get("/api/me/")

        assert response.status_code == 200
        body = response.json()
        assert set(body) == ME_FIELDS
        assert (body["id"], body["username"], body["strategy"]) == (user.pk, user.username, "match")
        assert (body["detections"], body["ratings"]) == (2, 2)

    def test_patch_changes_the_strategy(self, api_client, user):
        response = api_client.patch("/api/me/", {"strategy": "uplift"}, format="json")

        assert response.status_code == 200
        assert response.json()["strategy"] == "uplift"
        assert set(response.json()) == ME_FIELDS
        user.refresh_from_db()
        assert user.strategy == "uplift"

    def test_patch_changes_photo_retention_and_sharing(self, api_client, user):
        response = api_client.patch(
            "/api/me/", {"photo_retention": "keep", "share_photos_for_training": True}, format="json"
        )

        assert response.status_code == 200
        assert (response.json()["photo_retention"], response.json()["share_photos_for_training"]) == ("keep", True)
        user.refresh_from_db()
        assert (user.photo_retention, user.share_photos_for_training) == ("keep", True)

    @pytest.mark.parametrize(
        "body",
        [
            {"strategy": "sad"},
            {"strategy": ""},
            {"strategy": None},
            {"photo_retention": "forever"},
            {"share_photos_for_training": "perhaps"},
        ],
    )
    def test_patch_with_a_bad_value_is_400_and_changes_nothing(self, api_client, user, body):
        response = api_client.patch("/api/me/", body, format="json")

        assert response.status_code == 400
        assert set(response.json()) == set(body)
        user.refresh_from_db()
        assert (user.strategy, user.photo_retention, user.share_photos_for_training) == ("match", "24h", False)

    def test_patch_cannot_change_other_fields(self, api_client, user):
        response = api_client.patch("/api/me/", {"username": "hijack", "is_staff": True}, format="json")

        assert response.status_code == 200
        user.refresh_from_db()
        assert user.username != "hijack"
        assert not user.is_staff

    def test_delete_removes_everything_including_photo_files(self, api_client, user, other_user, footprint):
        mine = footprint(user)
        theirs = footprint(other_user)

        response = api_client.delete("/api/me/", {"password": TEST_PASSWORD}, format="json")

        assert response.status_code == 204
        assert not User.objects.filter(pk=user.pk).exists()
        assert not Detection.objects.filter(user_id=user.pk).exists()
        assert not Rating.objects.filter(user_id=user.pk).exists()
        assert not Token.objects.filter(user_id=user.pk).exists()
        assert not any(photo.exists() for photo in mine["photos"])
        assert all(photo.exists() for photo in theirs["photos"])
        assert Detection.objects.filter(user=other_user).count() == 2
        assert api_client.get("/api/me/").status_code == 401

    def test_a_session_without_csrf_token_cannot_delete(self, csrf_client, user):
        csrf_client.force_login(user)

        response = csrf_client.delete("/api/me/")

        assert response.status_code == 403
        assert User.objects.filter(pk=user.pk).exists()

    @pytest.mark.parametrize("method", ["get", "patch", "delete"])
    def test_anonymous_gets_401(self, anon_client, user, method):
        response = getattr(anon_client, method)("/api/me/")

        assert response.status_code == 401
        assert User.objects.filter(pk=user.pk).exists()

    def test_a_bad_token_is_401(self, user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

        assert client.get("/api/me/").status_code == 401


def token_attempt(client: APIClient, username: str, password: str, *, address: str):
    return client.post(
        "/api/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


class TestTokenRateLimits:
    def test_failures_slow_that_account_at_that_address_in_any_case(self, anon_client, limits, settings):
        settings.LOGIN_FREE_FAILURES = 2
        alice = UserFactory(username="alice")
        for spelling in ["alice", "ALICE", " Alice "]:
            assert token_attempt(anon_client, spelling, "wrong-guess", address="10.0.0.1").status_code == 400

        # The right password too: the delay is there to stop guessing, and a
        # guesser would otherwise learn which of their guesses was right.
        response = token_attempt(anon_client, "alice", TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 429
        assert response.json() == {"detail": "Too many attempts. Try again in 1 seconds."}
        assert response["Retry-After"] == "1"
        assert not Token.objects.filter(user=alice).exists()
        # The owner, from their own address, is not slowed down.
        assert token_attempt(anon_client, "alice", TEST_PASSWORD, address="10.0.0.2").status_code == 200

    def test_the_wait_doubles_and_the_right_password_works_once_it_passes(self, anon_client, limits, clock, settings):
        settings.LOGIN_FREE_FAILURES = 0
        alice = UserFactory(username="alice")
        token_attempt(anon_client, "alice", "wrong-guess", address="10.0.0.1")
        clock.now += 1
        token_attempt(anon_client, "alice", "wrong-guess", address="10.0.0.1")
        refused = token_attempt(anon_client, "alice", TEST_PASSWORD, address="10.0.0.1")
        assert (refused.status_code, refused["Retry-After"]) == (429, "2")

        clock.now += 2
        response = token_attempt(anon_client, "alice", TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=alice).key}

    def test_other_accounts_are_not_affected_below_the_address_limit(self, anon_client, limits, settings):
        settings.LOGIN_FREE_FAILURES = 1
        UserFactory(username="alice")
        bob = UserFactory(username="bob")
        for _ in range(3):
            token_attempt(anon_client, "alice", "wrong-guess", address="10.0.0.1")

        response = token_attempt(anon_client, "bob", TEST_PASSWORD, address="10.0.0.1")

        assert response.status_code == 200
        assert response.json() == {"token": Token.objects.get(user=bob).key}

    def test_an_address_is_refused_past_its_limit_whatever_the_username(self, anon_client, limits):
        limits(login_address=3)
        carol = UserFactory(username="carol")
        for username in ["alice", "bob", "dave"]:
            assert token_attempt(anon_client, username, "wrong-guess", address="10.0.0.1").status_code == 400

        refused = token_attempt(anon_client, "carol", TEST_PASSWORD, address="10.0.0.1")
        elsewhere = token_attempt(anon_client, "carol", TEST_PASSWORD, address="10.0.0.2")

        assert refused.status_code == 429
        assert refused.json() == {"detail": "Too many attempts. Try again in 800 seconds."}
        assert refused["Retry-After"] == "800"
        assert elsewhere.status_code == 200
        assert Token.objects.filter(user=carol).count() == 1

    def test_malformed_requests_check_no_password_and_are_not_counted(self, anon_client, limits):
        limits(login_address=1)
        UserFactory(username="alice")
        for _ in range(3):
            response = anon_client.post("/api/auth/token/", {"username": "alice"}, format="json")
            assert response.status_code == 400

        assert token_attempt(anon_client, "alice", TEST_PASSWORD, address="127.0.0.1").status_code == 200

    def test_limits_can_be_switched_off(self, anon_client, limits, settings):
        limits(login_address=1)
        settings.LOGIN_FREE_FAILURES = 0
        settings.RATE_LIMITS_ENABLED = False
        UserFactory(username="alice")
        for _ in range(3):
            token_attempt(anon_client, "alice", "wrong-guess", address="10.0.0.1")

        assert token_attempt(anon_client, "alice", TEST_PASSWORD, address="10.0.0.1").status_code == 200


class TestSignupRateLimits:
    def test_an_address_is_refused_past_its_limit_and_nothing_is_created(self, anon_client, limits):
        limits(signup_address=2)
        ok = anon_client.post(
            "/api/auth/signup/", {"username": "alice", "password": STRONG}, format="json", REMOTE_ADDR="10.0.0.1"
        )
        weak = anon_client.post(
            "/api/auth/signup/", {"username": "bob", "password": "123"}, format="json", REMOTE_ADDR="10.0.0.1"
        )
        assert (ok.status_code, weak.status_code) == (201, 400)

        response = anon_client.post(
            "/api/auth/signup/", {"username": "carol", "password": STRONG}, format="json", REMOTE_ADDR="10.0.0.1"
        )

        assert response.status_code == 429
        assert response.json() == {"detail": "Too many attempts. Try again in 3500 seconds."}
        assert response["Retry-After"] == "3500"
        assert list(User.objects.values_list("username", flat=True)) == ["alice"]

    def test_another_address_can_still_sign_up(self, anon_client, limits):
        limits(signup_address=1)
        anon_client.post(
            "/api/auth/signup/", {"username": "alice", "password": STRONG}, format="json", REMOTE_ADDR="10.0.0.1"
        )

        response = anon_client.post(
            "/api/auth/signup/", {"username": "bob", "password": STRONG}, format="json", REMOTE_ADDR="10.0.0.2"
        )

        assert response.status_code == 201
        assert User.objects.filter(username="bob").exists()


EXPORT_SECTIONS = {"exported", "account", "detections", "corrections", "outcomes", "ratings", "excluded_genres"}


class TestExport:
    def test_returns_everything_about_the_user_as_json(self, api_client, user, history):
        rows = history(user)

        response = api_client.get("/api/me/export/")

        assert response.status_code == 200
        body = response.json()
        assert set(body) == EXPORT_SECTIONS
        assert body["account"]["id"] == user.pk
        assert body["account"]["username"] == user.username
        assert {row["id"] for row in body["detections"]} == {detection.pk for detection in rows["detections"]}
        done = next(row for row in body["detections"] if row["id"] == rows["done"].pk)
        assert done["created"] == rows["done"].created.isoformat().replace("+00:00", "Z")
        assert (done["emotion"], done["mood"], done["photo_stored"]) == ("happy", "Happy", True)
        assert sum(done["probabilities"].values()) == pytest.approx(1)
        assert "image" not in done
        assert body["corrections"] == [{"id": rows["corrected"].pk, "emotion": "sad", "corrected_emotion": "angry"}]
        assert [(row["detection"], row["mood_before"], row["mood_after"]) for row in body["outcomes"]] == [
            (rows["done"].pk, 2, 4)
        ]
        assert {row["song"]["spotify_id"] for row in body["ratings"]} == {song.spotify_id for song in rows["songs"]}
        assert Detection.objects.filter(user=user).count() == 3

    def test_another_user_sees_only_their_own(self, other_client, user, other_user, history):
        mine = history(user)
        history(other_user)

        body = other_client.get("/api/me/export/").json()

        assert body["account"]["id"] == other_user.pk
        assert {row["id"] for row in body["detections"]}.isdisjoint(detection.pk for detection in mine["detections"])
        assert {row["id"] for row in body["ratings"]}.isdisjoint(rating.pk for rating in mine["ratings"])
        assert {row["song"]["spotify_id"] for row in body["ratings"]}.isdisjoint(
            song.spotify_id for song in mine["songs"]
        )
        assert user.username not in str(body)

    def test_anonymous_gets_401(self, anon_client, user, history):
        history(user)

        response = anon_client.get("/api/me/export/")

        assert response.status_code == 401
        assert "detail" in response.json()

    def test_is_read_only(self, api_client, user, history):
        history(user)

        response = api_client.delete("/api/me/export/")

        assert response.status_code == 405
        assert Detection.objects.filter(user=user).count() == 3
