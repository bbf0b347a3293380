"""The security audit: every URL the site routes is checked automatically, so a new one cannot slip through.

(a) anonymous visitors: pages redirect to login, the API answers 401, except
    an explicit list of public URLs;
(b) outsiders: another user's object id answers 404 on every method;
(c) CSRF on every form and on session-authenticated API writes;
(d) photos: no public media URL, random stored names, private caching;
(e) password reset end to end with the console email backend.
"""

import re
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.authtoken.models import Token

from detection.models import Detection, Outcome
from detection.tasks import process_detection
from recommendations.models import Rating
from tests.detection.images import image_bytes, upload
from tests.factories import TEST_PASSWORD, DetectionFactory, RatingFactory, SongFactory, UserFactory, probabilities
from tests.hardening.conftest import resolved_routes

pytestmark = pytest.mark.django_db

# Anyone may open these (by route, as Django writes it).
PUBLIC_ROUTES = {
    "",  # the landing page for visitors
    "healthz",
    "accounts/signup/",
    "accounts/login/",
    "admin/login/",  # the admin's own log-in, throttled like the site's
    "accounts/logout/",  # POST only; logs out whoever is logged in
    "accounts/password/reset/",
    "accounts/password/reset/sent/",
    "accounts/password/reset/<uidb64>/<token>/",
    "accounts/password/reset/complete/",
    "api/auth/signup/",
    "api/auth/token/",
    "api/schema/",
    "api/docs/",
}
# Values for the route parameters when a URL is built from a pattern.
SAMPLE_ARGUMENTS = {
    "detection_id": "1",
    "rating_id": "1",
    "pk": "1",
    "uidb64": "MQ",
    "token": "set-password",
    "format": "json",
}


def site_routes() -> list[str]:
    """Every route of the site outside the admin, as Django writes it (regex routes cleaned up)."""
    cleaned = set()
    for route in resolved_routes(except_included_under="admin/"):
        cleaned.add(re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", route))
    return sorted(cleaned)


def url_of(route: str, **values: str) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1).split(":")[-1]
        return values.get(name, SAMPLE_ARGUMENTS[name])

    return "/" + re.sub(r"<([\w:]+)>", substitute, route)


def parameters_of(route: str) -> list[str]:
    return [name.split(":")[-1] for name in re.findall(r"<([\w:]+)>", route)]


def test_the_audit_sees_every_part_of_the_site():
    routes = site_routes()
    for expected in [
        "",
        "detections/<int:detection_id>/photo",
        "history/ratings/<rating_id>/delete",
        "api/detections/<int:detection_id>/outcome/",
        "api/ratings/<rating_id>/",
        "api/songs/<pk>/",
        "accounts/profile/",
        "songs/",
        "mood/",
    ]:
        assert expected in routes, routes
    assert set(PUBLIC_ROUTES) <= set(routes), set(PUBLIC_ROUTES) - set(routes)


# --- (a) Anonymous visitors ------------------------------------------------------------------------


@pytest.mark.parametrize("route", [route for route in site_routes() if route not in PUBLIC_ROUTES])
def test_anonymous_visitors_are_sent_to_login_or_refused(route):
    client = Client()
    url = url_of(route)
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(client, method)(url)
        if route.startswith("api/"):
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.json()["detail"]
        else:
            assert response.status_code in (302, 405), (method, url, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/?next="), (method, url, response["Location"])


def test_anonymous_visitors_to_the_admin_get_its_login():
    for url in ("/admin/", "/admin/catalog/song/", "/admin/catalog/song/import/", "/admin/insights/"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


def test_the_public_pages_open_for_anonymous_visitors(redis_server):
    client = Client()
    for url in ("/", "/accounts/signup/", "/accounts/login/", "/accounts/password/reset/", "/healthz", "/api/schema/"):
        assert client.get(url).status_code == 200, url


def test_a_bad_token_is_401_not_someone(user):
    for header in ("Token nope", "Token ", "Bearer x", "Token a b", "Basic Zm9vOmJhcg=="):
        response = Client(HTTP_AUTHORIZATION=header).get("/api/me/")
        assert response.status_code == 401, header


# --- (b) Outsiders ---------------------------------------------------------------------------------


@pytest.fixture
def owned(user, settings):
    """A's objects: a finished detection with its photo, an outcome, a rating."""
    detection = DetectionFactory(finished=True, user=user, shares=probabilities(happy=0.9, sad=0.1))
    outcome = Outcome.objects.create(detection=detection, mood_before=2, mood_after=4)
    rating = RatingFactory(user=user, detection=detection, score=4)
    return {"detection_id": detection, "rating_id": rating, "outcome": outcome}


# Route parameters naming an object one user owns; anything else taking an id must be listed here.
SHARED_OBJECT_PARAMETERS = {"pk"}  # the song catalog, the same for everyone
NOT_OBJECT_PARAMETERS = {"uidb64", "token"}  # the password reset link


def test_every_id_taking_route_is_classified():
    for route in site_routes():
        for name in parameters_of(route):
            assert name in {"detection_id", "rating_id"} | SHARED_OBJECT_PARAMETERS | NOT_OBJECT_PARAMETERS, route


OWNED_ROUTES = [route for route in site_routes() if set(parameters_of(route)) & {"detection_id", "rating_id"}]


@pytest.mark.parametrize("route", OWNED_ROUTES)
def test_another_user_gets_404_on_every_method(route, owned, user, other_user, settings):
    values = {name: str(owned[name].pk) for name in parameters_of(route)}
    url = url_of(route, **values)
    if route.startswith("api/"):
        outsider = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other_user).key}")
    else:
        outsider = Client()
        outsider.force_login(other_user)
    statuses = {}
    for method in ("get", "post", "put", "patch", "delete"):
        response = getattr(outsider, method)(url, {}, content_type="application/json")
        statuses[method] = response.status_code
        assert response.status_code in (404, 405), (method, url, response.status_code)
        assert b"happy" not in response.content.lower() or response.status_code == 405
    assert 404 in statuses.values(), statuses
    # And nothing of A's changed.
    detection = owned["detection_id"]
    detection.refresh_from_db()
    assert detection.corrected_emotion in (None, "") and detection.image
    assert Rating.objects.filter(pk=owned["rating_id"].pk, score=4).exists()
    assert Outcome.objects.filter(pk=owned["outcome"].pk, mood_before=2, mood_after=4).exists()
    assert [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


# The routes an owner can open with GET (the others only take writes, tested in each app's own tests).
OWNER_READABLE_ROUTES = [
    route for route in OWNED_ROUTES if not re.search(r"(correct|face|outcome)/?$|^api/ratings|ratings/", route)
]


@pytest.mark.parametrize("route", OWNER_READABLE_ROUTES)
def test_the_owner_reaches_the_same_routes(route, owned, user):
    """The other half of the outsider test: the 404 above is about the user, not a broken URL."""
    values = {name: str(owned[name].pk) for name in parameters_of(route)}
    if route.startswith("api/"):
        client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    else:
        client = Client()
        client.force_login(user)
    assert client.get(url_of(route, **values)).status_code == 200, route


def test_lists_and_exports_never_show_another_users_things(owned, other_user):
    outsider = Client()
    outsider.force_login(other_user)
    assert outsider.get("/api/detections/").json()["count"] == 0
    assert outsider.get("/api/ratings/").json()["count"] == 0
    export = outsider.get("/api/me/export/").json()
    assert export["detections"] == [] and export["ratings"] == []
    assert outsider.get("/api/me/").json()["detections"] == 0
    detection = owned["detection_id"]
    for url in ("/", "/history/"):
        page = outsider.get(url).content.decode()
        assert f"/detections/{detection.pk}/" not in page, url
    recommended = outsider.get("/api/recommendations/", {"detection": detection.pk})
    assert recommended.status_code == 404


# --- (c) CSRF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [route for route in site_routes() if not route.startswith("api/")])
def test_every_page_refuses_a_post_without_the_csrf_token(route, owned, user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    values = {name: str(owned[name].pk) for name in parameters_of(route) if name in owned}
    response = client.post(url_of(route, **values), {"emotion": "sad", "mood_before": 1, "mood_after": 1})
    assert response.status_code == 403, (route, response.status_code)
    detection = owned["detection_id"]
    assert Detection.objects.filter(pk=detection.pk, corrected_emotion__isnull=True).exists() or not (
        Detection.objects.get(pk=detection.pk).corrected_emotion
    )
    assert Rating.objects.filter(pk=owned["rating_id"].pk).exists()


def test_anonymous_forms_refuse_a_post_without_the_csrf_token(django_user_model):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/signup/", {"username": "eve", "password1": "x" * 20, "password2": "x" * 20})
    assert response.status_code == 403
    assert not django_user_model.objects.filter(username="eve").exists()
    assert client.post("/accounts/login/", {"username": "eve", "password": "x"}).status_code == 403
    assert client.post("/accounts/password/reset/", {"email": "eve@example.com"}).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/accounts/signup/",
        "/accounts/login/",
        "/accounts/profile/",
        "/accounts/delete/",
        "/accounts/password/change/",
        "/accounts/password/reset/",
        "/history/",
        "/mood/",
        "/songs/",
        "DETAIL",
        "DELETE",
    ],
)
def test_every_form_on_the_pages_carries_the_csrf_token(url, owned, user):
    client = Client()
    if url not in ("/accounts/signup/", "/accounts/login/", "/accounts/password/reset/"):
        client.force_login(user)
    detection = owned["detection_id"]
    url = {"DETAIL": f"/detections/{detection.pk}/", "DELETE": f"/detections/{detection.pk}/delete"}.get(url, url)
    page = client.get(url).content.decode()
    forms = re.findall(r"<form\b[^>]*>.*?</form>", page, re.DOTALL | re.IGNORECASE)
    posting = [form for form in forms if re.search(r'method="post"', form, re.IGNORECASE)]
    for form in posting:
        assert 'name="csrfmiddlewaretoken"' in form, form[:300]
    if url not in ("/songs/", "/mood/"):
        assert posting, f"no POST form on {url}"


def test_session_authenticated_api_writes_need_the_csrf_token(owned, user):
    song = SongFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    detection = owned["detection_id"]
    writes = [
        ("post", "/api/ratings/", {"song": song.pk, "score": 5}),
        ("patch", "/api/me/", {"strategy": "calm"}),
        ("delete", "/api/me/", {}),
        ("post", f"/api/detections/{detection.pk}/correct/", {"emotion": "sad"}),
        ("post", f"/api/detections/{detection.pk}/outcome/", {"mood_before": 1, "mood_after": 1}),
        ("delete", f"/api/detections/{detection.pk}/", {}),
        ("delete", f"/api/ratings/{owned['rating_id'].pk}/", {}),
    ]
    for method, url, body in writes:
        response = getattr(client, method)(url, body, content_type="application/json")
        assert response.status_code == 403, (method, url, response.status_code)
        assert "CSRF" in response.json()["detail"]
    with mock.patch.object(process_detection, "apply_async"):
        response = client.post("/api/detections/", {"image": upload(image_bytes())})
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.strategy != "calm" and user.is_active
    assert Detection.objects.filter(user=user).count() == 1
    assert not Rating.objects.filter(song=song).exists()
    # Reading is fine without the token, and a token client needs none.
    assert client.get("/api/me/").status_code == 200
    token_client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert (
        token_client.post("/api/ratings/", {"song": song.pk, "score": 5}, content_type="application/json").status_code
        == 201
    )


def test_cookies_are_httponly_and_samesite(user, settings):
    client = Client()
    response = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"].lower() == "lax"
    assert client.get("/accounts/login/").status_code in (200, 302)


def test_production_cookies_are_secure_with_hsts():
    """The production settings, read in a fresh interpreter (check --deploy runs in tests/emomusic_site)."""
    import json
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DJANGO_ENV="production",
        SECRET_KEY="x" * 60 + "production-test-key",
        ALLOWED_HOSTS="emomusic.example",
        DJANGO_SETTINGS_MODULE="emomusic_site.settings",
    )
    names = [
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_HSTS_SECONDS",
        "SECURE_SSL_REDIRECT",
        "ALLOWED_HOSTS",
        "X_FRAME_OPTIONS",
    ]
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    production = json.loads(result.stdout.strip().splitlines()[-1])
    assert production["DEBUG"] is False
    assert production["SESSION_COOKIE_SECURE"] and production["CSRF_COOKIE_SECURE"]
    assert production["SESSION_COOKIE_HTTPONLY"]
    assert production["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert production["SECURE_SSL_REDIRECT"]
    assert production["ALLOWED_HOSTS"] == ["emomusic.example"]
    assert production["X_FRAME_OPTIONS"] == "DENY"


# --- (d) Photos ----------------------------------------------------------------------------------------


def test_stored_photos_have_no_public_url(owned, user, settings):
    detection = owned["detection_id"]
    owner = Client()
    owner.force_login(user)
    name = detection.image.name
    for prefix in (settings.MEDIA_URL or "/media/", "/media/", "/static/", "/"):
        prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
        for client in (Client(), owner):
            assert client.get(f"{prefix}{name}").status_code in (302, 404), prefix
    assert owner.get(f"/static/../{name}").status_code == 404
    photo = owner.get(f"/detections/{detection.pk}/photo")
    assert photo.status_code == 200
    assert "private" in photo["Cache-Control"] and "no-store" in photo["Cache-Control"]
    assert photo["Content-Type"] == "image/jpeg"
    assert "x.jpg" not in photo["Content-Disposition"]


@pytest.mark.parametrize(
    "filename", ["../../evil.jpg", "..\\..\\evil.jpg", "/etc/evil.jpg", "evil.jpg\x00.png", "évil photo (1).jpg"]
)
def test_the_upload_filename_never_reaches_the_filesystem(
    filename, user, settings, tmp_path, django_capture_on_commit_callbacks
):
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    with mock.patch.object(process_detection, "apply_async"), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/detections/", {"image": upload(image_bytes(), name=filename)})
    assert response.status_code == 202, response.content
    detection = Detection.objects.get(user=user)
    media_root = Path(settings.MEDIA_ROOT).resolve()
    stored = Path(detection.image.path).resolve()
    assert stored.is_file() and media_root in stored.parents
    assert "evil" not in stored.name and "vil" not in detection.image.name
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", stored.name) or re.fullmatch(r"[\w-]{20,}\.jpg", stored.name), stored.name
    everything = [path for path in tmp_path.parent.rglob("*evil*")]
    assert everything == [], everything
    assert not Path("/etc/evil.jpg").exists()


def test_two_uploads_of_the_same_file_get_different_names(user, settings, django_capture_on_commit_callbacks):
    client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    with mock.patch.object(process_detection, "apply_async"), django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            assert client.post("/api/detections/", {"image": upload(image_bytes(), name="same.jpg")}).status_code == 202
    names = [detection.image.name for detection in Detection.objects.filter(user=user)]
    assert len(set(names)) == 2


# --- (e) Password reset -----------------------------------------------------------------------------


def test_password_reset_with_the_console_backend(settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    person = UserFactory(email="forgetful@example.com")
    client = Client()

    response = client.post("/accounts/password/reset/", {"email": "forgetful@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    printed = capsys.readouterr().out
    assert "To: forgetful@example.com" in printed
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/[^/\s]+/[^/\s]+/)", printed)
    assert link, printed

    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    set_password_url = form.redirect_chain[-1][0] if form.redirect_chain else link.group(1)
    new_password = "a brand new passphrase 2026"
    done = client.post(set_password_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302 and done["Location"] == "/accounts/password/reset/complete/"

    person.refresh_from_db()
    assert person.check_password(new_password)
    fresh = Client()
    assert fresh.post("/accounts/login/", {"username": person.username, "password": TEST_PASSWORD}).status_code == 200
    logged_in = fresh.post("/accounts/login/", {"username": person.username, "password": new_password})
    assert logged_in.status_code == 302
    assert fresh.get("/api/me/").json()["username"] == person.username
    # The link works once.
    reused = Client().get(link.group(1), follow=True)
    assert b"new_password1" not in reused.content


def test_password_reset_for_an_unknown_address_says_the_same_and_sends_nothing(settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert "nobody@example.com" not in capsys.readouterr().out


def test_a_forged_reset_link_changes_nothing(user):
    client = Client()
    response = client.get("/accounts/password/reset/MQ/forged-token/", follow=True)
    assert response.status_code == 200
    assert b"new_password1" not in response.content
    response = client.post(
        "/accounts/password/reset/MQ/set-password/",
        {"new_password1": "hijacked pass 123", "new_password2": "hijacked pass 123"},
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


# --- Odds and ends an attacker tries first --------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "https:evil.example", "javascript:alert(1)"],
)
def test_login_and_signup_never_redirect_off_the_site(target, user):
    client = Client()
    response = client.post(
        f"/accounts/login/?next={target}", {"username": user.username, "password": TEST_PASSWORD, "next": target}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/") and not response["Location"].startswith(("//", "/\\"))
    signup = Client().post(
        "/accounts/signup/",
        {
            "username": "newcomer",
            "password1": "a long passphrase 77",
            "password2": "a long passphrase 77",
            "next": target,
        },
    )
    assert signup.status_code == 302
    assert signup["Location"].startswith("/") and not signup["Location"].startswith(("//", "/\\")), signup["Location"]


def test_logout_needs_a_post(user):
    client = Client()
    client.force_login(user)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/api/me/").status_code == 200


def test_pages_send_the_protective_headers(user, owned):
    client = Client()
    client.force_login(user)
    for url in ("/", "/history/", f"/detections/{owned['detection_id'].pk}/", "/api/me/", "/accounts/login/"):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY", url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response["Referrer-Policy"] == "same-origin", url


def test_pages_with_personal_data_are_not_cached_by_shared_proxies(user, owned):
    client = Client()
    client.force_login(user)
    detection = owned["detection_id"]
    for url in (f"/detections/{detection.pk}/result", f"/detections/{detection.pk}/photo"):
        assert "private" in client.get(url)["Cache-Control"], url


def test_a_signed_in_user_who_is_not_staff_cannot_use_the_admin(user):
    client = Client()
    client.force_login(user)
    for url in ("/admin/", "/admin/catalog/song/", "/admin/catalog/song/import/", "/admin/insights/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    csv_file = ContentFile(b"name,album\nx,y\n", name="songs.csv")
    assert client.post("/admin/catalog/song/import/", {"csv_file": csv_file}).status_code == 302


def test_only_staff_change_the_catalog_through_the_api(user, staff_user):
    song = SongFactory(name="Original")
    member = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert (
        member.patch(f"/api/songs/{song.pk}/", {"name": "Hacked"}, content_type="application/json").status_code == 403
    )
    assert member.delete(f"/api/songs/{song.pk}/").status_code == 403
    assert member.post("/api/songs/", {"name": "Spam"}, content_type="application/json").status_code == 403
    song.refresh_from_db()
    assert song.name == "Original"


def test_a_deleted_account_token_and_session_stop_working(user):
    token_client = Client(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    session_client = Client()
    session_client.force_login(user)
    deleted = token_client.delete("/api/me/", {"password": TEST_PASSWORD}, content_type="application/json")
    assert deleted.status_code == 204
    assert token_client.get("/api/me/").status_code == 401
    response = session_client.get("/history/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
